"""The system bus: RAM plus the MMIO devices, found by address range.

Harts touch `bus.ram` directly for ordinary loads and stores (the fast path of
docs/architecture.md); everything else comes through `read`/`write`, which
find the device owning the address. Devices signal the machine through two
flags: `stop_requested` (a hart returns from `run()` right after the access)
and `power_off` (why it stopped: the test finisher was written).
"""

from __future__ import annotations

import mmap
from bisect import bisect_right

from rvtrace.machine.config import RAM_BASE

try:                                   # the hart catches this exact class
    from rvtrace.cpu import BusError
except ImportError:                    # pragma: no cover - cpu not written yet
    class BusError(Exception):
        """Nothing is mapped at this physical address."""


class Bus:
    def __init__(self, ram_size: int, ram_base: int = RAM_BASE):
        # Anonymous memory: zero pages cost nothing until touched (a bytearray of
        # 128 MiB is zeroed up front, about 0.1 s of every run). It indexes,
        # slices and packs like a bytearray, but never changes size.
        self.ram = mmap.mmap(-1, ram_size)
        self.ram_base = ram_base
        self.ram_size = ram_size
        self.ram_end = ram_base + ram_size
        self.stop_requested = False
        self.power_off = None          # set by the test device: ("poweroff"|"reset", exit code)
        self.code_cache = None         # the harts' shared CodeCache, told about DMA writes
        self.on_mmio = None            # observer(hart, paddr, size, value, is_write)
        self.current_hart = None       # the hart running now (for on_mmio)
        self._bases: list[int] = []    # sorted region starts, for bisect
        self._regions: list[tuple[int, int, object]] = []

    # --- wiring ---------------------------------------------------------------

    def map(self, base: int, size: int, device) -> None:
        """Attach `device` (with read(offset, size) / write(offset, size, value))."""
        for b, end, _ in self._regions:
            if base < end and b < base + size:
                raise ValueError(f"MMIO region {base:#x} overlaps {b:#x}")
        self._regions.append((base, base + size, device))
        self._regions.sort(key=lambda r: r[0])
        self._bases = [r[0] for r in self._regions]

    def request_stop(self) -> None:
        """End the running hart's quantum after the current access (no power-off)."""
        self.stop_requested = True

    # --- accesses from harts ----------------------------------------------------

    def _find(self, paddr: int, size: int):
        i = bisect_right(self._bases, paddr) - 1
        if i >= 0:
            base, end, dev = self._regions[i]
            if paddr + size <= end:
                return dev, paddr - base
        raise BusError(f"nothing mapped at {paddr:#x}")

    def read(self, paddr: int, size: int) -> int:
        if self.ram_base <= paddr and paddr + size <= self.ram_end:
            off = paddr - self.ram_base
            return int.from_bytes(self.ram[off:off + size], "little")
        dev, off = self._find(paddr, size)
        value = dev.read(off, size) & ((1 << (8 * size)) - 1)
        if self.on_mmio is not None:
            self.on_mmio(self.current_hart, paddr, size, value, False)
        return value

    def write(self, paddr: int, size: int, value: int) -> None:
        value &= (1 << (8 * size)) - 1
        if self.ram_base <= paddr and paddr + size <= self.ram_end:
            self.dma_write(paddr, value.to_bytes(size, "little"))
            return
        dev, off = self._find(paddr, size)
        if self.on_mmio is not None:
            self.on_mmio(self.current_hart, paddr, size, value, True)
        dev.write(off, size, value)

    # --- accesses from devices ---------------------------------------------------

    def in_ram(self, paddr: int, length: int) -> bool:
        return self.ram_base <= paddr and paddr + length <= self.ram_end

    def dma_read(self, paddr: int, length: int) -> bytes:
        if not self.in_ram(paddr, length):
            raise BusError(f"DMA read outside RAM at {paddr:#x}")
        off = paddr - self.ram_base
        return bytes(self.ram[off:off + length])

    def dma_write(self, paddr: int, data: bytes) -> None:
        """Write RAM behind the harts' back and drop translated code there."""
        if not self.in_ram(paddr, len(data)):
            raise BusError(f"DMA write outside RAM at {paddr:#x}")
        off = paddr - self.ram_base
        if self.code_cache is not None:         # before the write: watchers see the old bytes
            self.code_cache.invalidate(paddr, len(data))
        self.ram[off:off + len(data)] = data
