"""Sv39 address translation, the per-hart TLBs, and the slow path of memory access.

Translated code reads and writes RAM itself when the page is in the TLB (a
dict from virtual page number to `delta`, with RAM index = delta + virtual
address). Everything else comes here: TLB misses, page-crossing accesses,
MMIO, stores to pages holding translated code, LR/SC and AMOs.

A TLB "context" belongs to one address space and privilege view -- (satp,
fetch privilege, data privilege after MPRV, SUM, MXR) -- so taking a trap,
returning from one or switching page tables selects other dictionaries
instead of flushing them.

The TLBs are kept coherent with memory: every page a walk read a PTE from is
a "page-table page" (CodeCache.pt_pages, shared by the harts); stores to it
take the slow path, which flushes every hart's TLBs. So a cached translation
is never stale, and sfence.vma has nothing to do -- a TLB that never holds
stale entries is one the specification allows.
"""

from __future__ import annotations

import struct
import sys

from rvtrace.cpu.arch import (CAUSE_FETCH_ACCESS, CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_ACCESS,
                              CAUSE_LOAD_PAGE_FAULT, CAUSE_MISALIGNED_FETCH, CAUSE_MISALIGNED_LOAD,
                              CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS, CAUSE_STORE_PAGE_FAULT,
                              MS_MPP, MS_MPP_SHIFT, MS_MPRV, MS_MXR, MS_SUM, PPN_MASK, PTE_A, PTE_D,
                              PTE_G, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, SATP_MODE_SHIFT)  # noqa: F401
from rvtrace.cpu.signals import BusError, MmioExit, Trap

FETCH, LOAD, STORE = 0, 1, 2
# Causes by access kind (FETCH, LOAD, STORE)
PAGE_FAULT = (CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT)
ACCESS_FAULT = (CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS)
MISALIGNED = (CAUSE_MISALIGNED_FETCH, CAUSE_MISALIGNED_LOAD, CAUSE_MISALIGNED_STORE)
MAX_CONTEXTS = 64
_Q = struct.Struct("<Q")


class _Words:
    """RAM as little-endian words of `size` bytes where a native view cannot serve
    (a big-endian host, a RAM size not a multiple of the word)."""

    def __init__(self, ram, size: int):
        self.ram, self.size = ram, size

    def __getitem__(self, i: int) -> int:
        n = self.size
        return int.from_bytes(self.ram[n * i:n * i + n], "little")

    def __setitem__(self, i: int, value: int) -> None:
        n = self.size
        self.ram[n * i:n * i + n] = value.to_bytes(n, "little")


def ram_words(ram, size: int):
    """RAM indexed by aligned word of `size` (4 or 8) bytes, for translated code's
    aligned loads and stores: a memoryview of it where that is little-endian."""
    if sys.byteorder == "little" and len(ram) % size == 0:
        try:
            view = memoryview(ram).cast("B").cast({4: "I", 8: "Q"}[size])
            if view.itemsize == size:
                return view
        except (TypeError, ValueError):
            pass
    return _Words(ram, size)


class Context:
    """Caches valid for one privilege view of one address space."""
    __slots__ = ("r", "w", "x", "blocks", "singles", "q", "l")

    def __init__(self, ram):
        self.r, self.w, self.x = {}, {}, {}
        self.blocks, self.singles = {}, {}
        # RAM by doubleword and by word, for translated code's aligned accesses
        self.q, self.l = ram_words(ram, 8), ram_words(ram, 4)

    def clear(self):
        for d in (self.r, self.w, self.x, self.blocks, self.singles):
            d.clear()


class Mmu:
    """Mixed into Hart: translation and the slow memory path."""

    # --- contexts ---------------------------------------------------------------

    def _select_context(self) -> None:
        ms = self.mstatus
        dpriv = (ms & MS_MPP) >> MS_MPP_SHIFT if (self.priv == 3 and ms & MS_MPRV) else self.priv
        satp = self.satp if (self.priv < 3 or dpriv < 3) and self.satp >> SATP_MODE_SHIFT else 0
        key = (satp, self.priv, dpriv, ms & MS_SUM, ms & MS_MXR)
        ctx = self._contexts.get(key)
        if ctx is None:
            if len(self._contexts) >= MAX_CONTEXTS:
                self._contexts.clear()           # many address spaces came and went
                self._w_owners.clear()
            ctx = self._contexts[key] = Context(self.ram)
        self._ctx = ctx
        self._dpriv = dpriv

    def flush_tlb(self) -> None:
        for ctx in self._contexts.values():
            ctx.clear()
        self._w_owners.clear()

    def _note_pt_page(self, ppage: int) -> None:
        cache = self.code_cache
        if ppage not in cache.pt_pages:
            cache.pt_pages.add(ppage)
            for h in cache.harts:                # stores there must now take the slow path
                h._drop_write_entries(ppage)

    def _drop_write_entries(self, ppage: int) -> None:
        """Physical page `ppage` is now watched (code or page table): stores to it
        must take the slow path, so no write-TLB entry may lead there."""
        for w, vpage in self._w_owners.pop(ppage, ()):
            w.pop(vpage, None)

    def _fill_write(self, va: int, pa: int) -> None:
        delta = self._ram_delta(va, pa)
        if self.code_cache.activity is not None:
            self.code_cache.activity.written.add(pa >> 12)
        w = self._ctx.w
        w[va >> 12] = delta
        self._w_owners.setdefault(pa >> 12, []).append((w, va >> 12))

    def _drop_blocks(self) -> None:
        for ctx in self._contexts.values():
            ctx.blocks.clear()
            ctx.singles.clear()

    # --- translation --------------------------------------------------------------

    def translate(self, va: int, access: int, update: bool = True) -> int:
        """Virtual to physical for `access` by the current privilege; raises Trap."""
        priv = self.priv if access == FETCH else self._dpriv
        if priv == 3 or self.satp >> SATP_MODE_SHIFT == 0:
            return va
        top = va >> 38
        if top != 0 and top != (1 << 26) - 1:
            raise Trap(PAGE_FAULT[access], va)
        table = (self.satp & PPN_MASK) << 12
        pt_pages = self.code_cache.pt_pages
        for level in (2, 1, 0):
            if table >> 12 not in pt_pages:
                self._note_pt_page(table >> 12)
            pte_addr = table + ((va >> (12 + 9 * level)) & 511) * 8
            off = pte_addr - self.ram_base
            if not 0 <= off <= self.ram_size - 8:
                raise Trap(ACCESS_FAULT[access], va)
            pte = _Q.unpack_from(self.ram, off)[0]
            if not pte & PTE_V or (pte & (PTE_R | PTE_W)) == PTE_W:
                raise Trap(PAGE_FAULT[access], va)
            if pte & (PTE_R | PTE_X):
                return self._leaf(va, access, priv, pte, level, off, update)
            if pte & (PTE_A | PTE_D | PTE_U) or pte >> 54:
                raise Trap(PAGE_FAULT[access], va)     # reserved bits in a non-leaf PTE
            table = ((pte >> 10) & PPN_MASK) << 12
        raise Trap(PAGE_FAULT[access], va)

    def _leaf(self, va, access, priv, pte, level, off, update) -> int:
        if pte >> 54:                                   # N, PBMT and reserved bits: not supported
            raise Trap(PAGE_FAULT[access], va)
        if access == FETCH:
            ok = pte & PTE_X
        elif access == LOAD:
            ok = pte & PTE_R or (self.mstatus & MS_MXR and pte & PTE_X)
        else:
            ok = pte & PTE_W
        if not ok:
            raise Trap(PAGE_FAULT[access], va)
        if pte & PTE_U:
            if priv == 1 and (access == FETCH or not self.mstatus & MS_SUM):
                raise Trap(PAGE_FAULT[access], va)
        elif priv == 0:
            raise Trap(PAGE_FAULT[access], va)
        ppn = (pte >> 10) & PPN_MASK
        low = (1 << (9 * level)) - 1                    # ppn bits a superpage takes from va
        if ppn & low:
            raise Trap(PAGE_FAULT[access], va)          # misaligned superpage
        want = PTE_A | (PTE_D if access == STORE else 0)
        if update and pte & want != want:               # Svadu: hardware sets A and D
            _Q.pack_into(self.ram, off, pte | want)
            if self.code_cache.activity is not None:
                self.code_cache.activity.written.add((off + self.ram_base) >> 12)
        return ((ppn | ((va >> 12) & low)) << 12) | (va & 0xFFF)

    def debug_translate(self, va: int, access: int = LOAD) -> int | None:
        """For the debugger: the physical address, or None; no side effects."""
        try:
            return self.translate(va, access, update=False)
        except Trap:
            return None

    def _ram_delta(self, va: int, pa: int) -> int | None:
        """TLB value for va's page if pa's page lies in RAM, else None."""
        off = pa - self.ram_base
        if 0 <= off < self.ram_size:
            return off - va
        return None

    def bare_fill(self, vpage: int, store: bool) -> int | None:
        """The TLB entry (delta) the slow path would make for an access to vpage, made
        now -- only where making it has no other effect: no paging (so no A/D bits),
        RAM, and a page nobody watches. None otherwise. (Loop acceleration, accel.py.)"""
        if not (self._dpriv == 3 or self.satp >> 60 == 0):
            return None
        delta = self._ram_delta(vpage << 12, vpage << 12)
        cache = self.code_cache
        if delta is None or (cache.is_watched_page(vpage) if store else vpage in cache.data_watch):
            return None
        if not store and "load" in vars(self):
            return None                     # the slow path is wrapped (a replay probe): leave it be
        if store:
            self._fill_write(vpage << 12, vpage << 12)
        else:
            if cache.activity is not None:
                cache.activity.read.add(vpage)
            self._ctx.r[vpage] = delta
        return delta

    # --- instruction fetch (block building) ----------------------------------------

    def fetch_address(self, va: int) -> int:
        """RAM index of the instruction bytes at va; raises Trap (page or access fault)."""
        page = va >> 12
        delta = self._ctx.x.get(page)
        if delta is None:
            pa = self.translate(va, FETCH)
            delta = self._ram_delta(va, pa)
            if delta is None:
                raise Trap(ACCESS_FAULT[FETCH], va)
            self._ctx.x[page] = delta
        return delta + va

    # --- slow path loads and stores --------------------------------------------------

    def load(self, va: int, size: int, signed: bool, idx: int) -> int:
        self._idx = idx
        if (va & 0xFFF) + size > 0x1000:
            value = self._load_crossing(va, size)
        else:
            pa = self.translate(va, LOAD)
            delta = self._ram_delta(va, pa)
            if delta is not None:
                i = delta + va
                value = int.from_bytes(self.ram[i:i + size], "little")
                if self.code_cache.activity is not None:
                    self.code_cache.activity.read.add(pa >> 12)
                if pa >> 12 in self.code_cache.data_watch:
                    self._watched_load(pa, size)     # no TLB entry: every load there is seen
                else:
                    self._ctx.r[va >> 12] = delta
            else:
                value = self._mmio_read(pa, size, va)
        if signed and value >> (8 * size - 1):
            value |= ((1 << 64) - 1) ^ ((1 << 8 * size) - 1)
        return value

    def _load_crossing(self, va: int, size: int) -> int:
        split = 0x1000 - (va & 0xFFF)
        second = (va + split) & ((1 << 64) - 1)
        pa1 = self.translate(va, LOAD)
        pa2 = self.translate(second, LOAD)
        lo = self._phys_read(pa1, split, va)
        hi = self._phys_read(pa2, size - split, second)
        return lo | (hi << (8 * split))

    def _phys_read(self, pa: int, size: int, va: int) -> int:
        off = pa - self.ram_base
        if 0 <= off and off + size <= self.ram_size:
            value = int.from_bytes(self.ram[off:off + size], "little")
            if self.code_cache.activity is not None:
                self.code_cache.activity.read.add(pa >> 12)
            if pa >> 12 in self.code_cache.data_watch:
                self._watched_load(pa, size)
            return value
        return self._mmio_read(pa, size, va)

    def _watched_load(self, pa: int, size: int) -> None:
        """A load from a page the replay watches (CodeCache.set_data_watch) happened."""
        on_load = self.code_cache.on_load
        if on_load is not None:
            on_load(self, pa, size)

    def _mmio_read(self, pa: int, size: int, va: int) -> int:
        try:
            value = self.bus.read(pa, size)
        except BusError:
            raise Trap(ACCESS_FAULT[LOAD], va) from None
        if self.bus.stop_requested:
            self._exit = True          # translated code leaves the block after this load
        return value

    def store(self, va: int, size: int, value: int, idx: int) -> None:
        self._idx = idx
        value &= (1 << 8 * size) - 1
        if (va & 0xFFF) + size > 0x1000:
            split = 0x1000 - (va & 0xFFF)
            second = (va + split) & ((1 << 64) - 1)
            pa1 = self.translate(va, STORE)
            pa2 = self.translate(second, STORE)
            mmio = self._phys_write(pa1, split, value & ((1 << 8 * split) - 1), va)
            mmio |= self._phys_write(pa2, size - split, value >> (8 * split), second)
        else:
            pa = self.translate(va, STORE)
            mmio = self._phys_write(pa, size, value, va)
            if not mmio and not self.code_cache.is_watched_page(pa >> 12):
                self._fill_write(va, pa)
        if mmio:
            raise MmioExit()

    def _phys_write(self, pa: int, size: int, value: int, va: int) -> bool:
        """Write to RAM or a device; True if it was a device."""
        off = pa - self.ram_base
        if 0 <= off and off + size <= self.ram_size:
            cache = self.code_cache
            if cache.activity is not None:
                cache.activity.written.update((pa >> 12, (pa + size - 1) >> 12))
            for page in {pa >> 12, (pa + size - 1) >> 12}:
                if cache.is_watched_page(page):
                    cache.written(page)
            self.ram[off:off + size] = value.to_bytes(size, "little")
            return False
        try:
            self.bus.write(pa, size, value)
        except BusError:
            raise Trap(ACCESS_FAULT[STORE], va) from None
        return True

    # --- atomics -------------------------------------------------------------------

    def lr(self, va: int, size: int, idx: int) -> int:
        self._idx = idx
        if va & (size - 1):
            raise Trap(MISALIGNED[LOAD], va)
        value = self.load(va, size, size == 4, idx)
        self.reservation = va
        return value

    def sc(self, va: int, value: int, size: int, idx: int) -> int:
        self._idx = idx
        if va & (size - 1):
            raise Trap(MISALIGNED[STORE], va)
        held = self.reservation == va
        self.reservation = None
        if not held:
            return 1
        self._atomic_write(va, size, value)
        return 0

    def amo(self, va: int, src: int, size: int, op, idx: int) -> int:
        self._idx = idx
        if va & (size - 1):
            raise Trap(MISALIGNED[STORE], va)
        mask = (1 << 8 * size) - 1
        delta = self._ctx.w.get(va >> 12)
        if delta is not None:                       # RAM, writable, not watched: the common case
            i = delta + va
            old = int.from_bytes(self.ram[i:i + size], "little")
            new = op(old, src & mask, size) & mask
            self.ram[i:i + size] = new.to_bytes(size, "little")
        else:
            pa = self.translate(va, STORE)
            old = self._phys_read(pa, size, va)
            new = op(old, src & mask, size) & mask
            if not self._phys_write(pa, size, new, va) and not self.code_cache.is_watched_page(pa >> 12):
                self._fill_write(va, pa)            # (an AMO on a device needs no early exit)
        if size == 4 and old >> 31:
            old |= 0xFFFFFFFF00000000
        return old

    def _atomic_write(self, va: int, size: int, value: int) -> None:
        value &= (1 << 8 * size) - 1
        delta = self._ctx.w.get(va >> 12)
        if delta is not None:
            i = delta + va
            self.ram[i:i + size] = value.to_bytes(size, "little")
            return
        pa = self.translate(va, STORE)
        self._phys_write(pa, size, value, va)

    def clear_reservation(self) -> None:
        self.reservation = None
