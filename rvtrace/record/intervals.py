"""The recorder's interval log: per stretch of `EVERY` instructions, what ran and what was touched.

The run is cut into pieces at every multiple of EVERY (running in pieces is
invisible to the guest: Machine.run), and at each cut the cpu's activity log
(CodeCache.activity) is kept and started afresh with empty TLBs, so that each
interval's log is complete. Stored in the trace's index (trace/intervals.py).
"""

from __future__ import annotations

from rvtrace.cpu.codecache import CODE_LINE, Activity
from rvtrace.trace.intervals import encode

EVERY = 200_000                # instructions per interval (~0.1 s of emulation)


class IntervalLog:
    def __init__(self, machine, every: int = EVERY):
        self.m, self.every = machine, every
        self.items: list[tuple] = []
        self.snapshots = None          # a SnapshotLayer (snapshots.py), told at every cut
        self._start()

    def _start(self) -> None:
        for hart in self.m.harts:
            hart.flush_tlb()
        self.m.cache.activity = Activity()

    def run(self, max_insns: int | None):
        """Machine.run(max_insns), cut at the interval boundaries."""
        m = self.m
        stop_at = None if max_insns is None else m.icount + max_insns
        while True:
            nxt = (m.icount // self.every + 1) * self.every
            target = nxt if stop_at is None else min(nxt, stop_at)
            result = m.run(target - m.icount)
            if result.reason != "max-insns" or m.icount == stop_at:
                return result
            if m.icount == nxt:
                act = m.cache.activity
                self.items.append((act.ran, act.read, act.written))
                self._start()
                if self.snapshots is not None:
                    self.snapshots.interval_done(act.written)

    def section(self) -> bytes:
        """Every interval, the last one up to where the run ended."""
        act = self.m.cache.activity
        self.m.cache.activity = None
        items = self.items + ([(act.ran, act.read, act.written)] if act is not None else [])
        return encode(self.every, CODE_LINE, items)
