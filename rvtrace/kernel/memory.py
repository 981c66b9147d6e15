"""Reading guest memory the way the kernel sees it: Sv39 translation in software.

Introspection gets a physical reader `read(paddr, size) -> bytes` from whoever
holds the machine. xv6-style kernels map RAM one-to-one, so globals such as
`cpus` and `proc` read directly; kernel stacks, however, live at high virtual
addresses, so a backtrace needs `virtual_reader(read, satp)`. The Sv39 walk
itself is rvtrace.cpu.arch's (`sv39_leaf`, `sv39_translate`, re-exported here);
`fault_resolution` lets the recorder say how a page fault was resolved.
"""

from __future__ import annotations

from rvtrace.cpu.arch import (PAGE_SIZE as PAGE, PTE_V, PTE_W, ReadFn, sv39_leaf,  # noqa: F401
                              sv39_translate)


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
