"""Reading guest memory the way the kernel sees it: Sv39 translation in software.

Introspection gets a physical reader `read(paddr, size) -> bytes` from whoever
holds the machine. xv6-style kernels map RAM one-to-one, so globals such as
`cpus` and `proc` read directly; kernel stacks, however, live at high virtual
addresses, so a backtrace needs `virtual_reader(read, satp)`. `sv39_leaf` and
`fault_resolution` let the recorder say how a page fault was resolved.
"""

from __future__ import annotations

from typing import Callable

ReadFn = Callable[[int, int], bytes]

PAGE = 4096
SATP_MODE_SV39 = 8
PTE_V, PTE_R, PTE_W, PTE_X = 1, 2, 4, 8


def sv39_leaf(read: ReadFn, satp: int, va: int) -> tuple[int, int] | None:
    """(leaf PTE, its level) mapping `va` under an Sv39 `satp`, or None if unmapped.

    The recorder compares a page's PTE before and after a page fault to tell
    how the kernel resolved it (a new frame: COW copy; W set on the same
    frame: COW reuse; valid where it was not: lazy allocation).
    """
    if satp >> 60 != SATP_MODE_SV39 or va >> 38 not in (0, (1 << 26) - 1):   # bits 63..39 copy bit 38
        return None
    table = (satp & ((1 << 44) - 1)) * PAGE
    for level in (2, 1, 0):
        index = (va >> (12 + 9 * level)) & 0x1FF
        raw = read(table + index * 8, 8)
        if raw is None or len(raw) != 8:
            return None
        pte = int.from_bytes(raw, "little")
        if not pte & PTE_V:
            return None
        if pte & (PTE_R | PTE_X):                   # a leaf, possibly a mega/giga page
            return pte, level
        table = ((pte >> 10) & ((1 << 44) - 1)) * PAGE
    return None


def sv39_translate(read: ReadFn, satp: int, va: int) -> int | None:
    """The physical address of `va` under page table `satp`, or None if unmapped.

    With satp's mode Bare (0) addresses are physical. Permissions are not
    checked: this is the debugger looking, not the program accessing.
    """
    if satp >> 60 == 0:
        return va
    leaf = sv39_leaf(read, satp, va)
    if leaf is None:
        return None
    pte, level = leaf
    offset_bits = 12 + 9 * level
    ppn = (pte >> 10) & ((1 << 44) - 1)
    return ((ppn << 12) & ~((1 << offset_bits) - 1)) | (va & ((1 << offset_bits) - 1))


def virtual_reader(read: ReadFn, satp: int) -> ReadFn:
    """A reader of virtual addresses under `satp` (None where a page is unmapped)."""
    def read_virtual(va: int, size: int) -> bytes | None:
        out = bytearray()
        while size > 0:
            pa = sv39_translate(read, satp, va)
            if pa is None:
                return None
            n = min(size, PAGE - va % PAGE)
            data = read(pa, n)
            if data is None or len(data) != n:
                return None
            out += data
            va, size = va + n, size - n
        return bytes(out)
    return read_virtual


def fault_resolution(before: int | None, after: int | None, killed: bool = False) -> str:
    """How the kernel resolved a page fault, from the leaf PTE of the faulting page
    before the fault and when the process next returns to user mode.

    Names match the trace's RESOLUTIONS: a new frame is a COW copy, write
    permission on the same frame a COW reuse (last reference), a mapping
    where there was none a lazy allocation.
    """
    if killed:
        return "killed"
    if after is None or not after & PTE_V:
        return "unknown"
    if before is None or not before & PTE_V:
        return "lazy-alloc"
    if after >> 10 != before >> 10:
        return "cow-copy"
    if after & PTE_W and not before & PTE_W:
        return "cow-reuse"
    return "unknown"
