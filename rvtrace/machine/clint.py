"""CLINT (core-local interruptor) at 0x2000000, laid out as on QEMU's virt board.

    0x0000 + 4*hart   msip      bit 0 raises the hart's machine software interrupt
    0x4000 + 8*hart   mtimecmp  the hart's MTIP is (mtime >= mtimecmp)
    0xbff8            mtime     the machine's virtual time (see Machine.mtime)

mtime moves continuously with retired instructions, so MTIP is a level the
machine recomputes at quantum boundaries (`update_timers`); quanta are capped
at the next mtimecmp so the interrupt lands at an exact instruction count.
"""

from __future__ import annotations

BASE = 0x0200_0000
SIZE = 0x10000
MSIP_BASE = 0x0000
MTIMECMP_BASE = 0x4000
MTIME = 0xBFF8

MIP_MSIP = 1 << 3
MIP_MTIP = 1 << 7
NEVER = (1 << 64) - 1


def _merge(old: int, offset_in_reg: int, size: int, value: int) -> int:
    """Replace `size` bytes at byte `offset_in_reg` of a 64-bit register."""
    shift = 8 * offset_in_reg
    mask = ((1 << (8 * size)) - 1) << shift
    return (old & ~mask) | ((value << shift) & mask)


class Clint:
    STATE = ("msip", "mtimecmp", "_mtip")      # for rvtrace.machine.state

    def __init__(self, harts, time_fn, set_time_fn, bus):
        self.harts = harts
        self.time_fn = time_fn
        self.set_time_fn = set_time_fn
        self.bus = bus
        self.msip = [0] * len(harts)
        self.mtimecmp = [0] * len(harts)       # QEMU 7.2 resets it to 0 (MTIP is pending at once)
        self._mtip = [False] * len(harts)      # the level last driven, to skip no-op updates
        self.update_timers(0)

    def read(self, off: int, size: int) -> int:
        n = len(self.harts)
        if off < MSIP_BASE + 4 * n:
            return self.msip[off // 4] if off % 4 == 0 else 0
        if MTIMECMP_BASE <= off < MTIMECMP_BASE + 8 * n:
            rel = off - MTIMECMP_BASE
            return self.mtimecmp[rel // 8] >> (8 * (rel % 8))
        if MTIME <= off < MTIME + 8:
            return self.time_fn() >> (8 * (off - MTIME))
        return 0

    def write(self, off: int, size: int, value: int) -> None:
        n = len(self.harts)
        if off < MSIP_BASE + 4 * n:
            if off % 4 == 0:
                h = off // 4
                self.msip[h] = value & 1
                self.harts[h].set_pending(MIP_MSIP, bool(value & 1))
        elif MTIMECMP_BASE <= off < MTIMECMP_BASE + 8 * n:
            rel = off - MTIMECMP_BASE
            h = rel // 8
            self.mtimecmp[h] = _merge(self.mtimecmp[h], rel % 8, size, value)
            self._update_one(h, self.time_fn())
            self.bus.request_stop()            # a new deadline: re-plan the quantum
        elif MTIME <= off < MTIME + 8:
            self.set_time_fn(_merge(self.time_fn(), off - MTIME, size, value))
            self.bus.request_stop()

    # --- called by the machine ---------------------------------------------------

    def _update_one(self, h: int, now: int) -> None:
        level = now >= self.mtimecmp[h]
        if level != self._mtip[h]:
            self._mtip[h] = level
            self.harts[h].set_pending(MIP_MTIP, level)

    def update_timers(self, now: int) -> None:
        for h in range(len(self.harts)):
            self._update_one(h, now)

    def next_deadline(self, now: int):
        """The earliest mtimecmp still in the future, or None."""
        future = [c for c in self.mtimecmp if now < c < NEVER]
        return min(future) if future else None
