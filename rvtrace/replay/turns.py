"""Which hart ran when: the turn log of the replay's machine, and per-hart instruction counting.

On several harts, "the previous instruction of hart 1" is found in the log of
turns (`Machine.on_turn`: which hart retired which instructions from which
icount). The log is only complete where the machine ran whole stretches
(`ran`): a replay that starts from the recording's snapshots has gaps, so
every question first runs whatever part of the window it reads has not run
yet (`_log_turns`). `TurnLog` is mixed into Engine (engine.py), whose
`goto`/`_advance` it uses.
"""

from __future__ import annotations

import bisect

from rvtrace.replay.errors import EndOfTrace, Interrupted


class TurnLog:
    """Needs from the engine: `turns`, `ran`, `_turn_starts`, `every`, `end`, `m`, `goto`,
    `_advance`, `_run`, `dirty`."""

    def _on_turn(self, hart_id: int, start: int, retired: int) -> None:
        if self.turns.get(start, (hart_id, 0))[1] < retired:
            self.turns[start] = (hart_id, retired)
            self._turn_starts = None

    def _covered(self, lo: int, hi: int) -> None:
        """[lo, hi) ran whole: its turns are in the log. Kept as merged stretches."""
        if hi <= lo:
            return
        ran = self.ran
        i = bisect.bisect_left(ran, [lo, lo])
        if i and ran[i - 1][1] >= lo:
            i -= 1
        j = i
        while j < len(ran) and ran[j][0] <= hi:
            lo, hi = min(lo, ran[j][0]), max(hi, ran[j][1])
            j += 1
        ran[i:j] = [[lo, hi]]

    def _gap(self, lo: int, hi: int) -> tuple[int, int] | None:
        """The first part of [lo, hi) whose turns are not logged, or None."""
        for a, b in self.ran:
            if b <= lo:
                continue
            if a > lo:
                return lo, min(a, hi)
            lo = b
            if lo >= hi:
                return None
        return (lo, hi) if lo < hi else None

    def _log_turns(self, lo: int, hi: int) -> None:
        """Run whatever of [lo, hi) has not run whole yet, so the turn log covers it."""
        while (gap := self._gap(lo, min(hi, self.end))) is not None:
            self.goto(gap[0])
            self._advance_or_interrupt(gap[1])
            if self._gap(*gap) == gap:          # the machine stopped (powered off): nothing more to log
                return

    def _advance_or_interrupt(self, target: int) -> None:
        try:
            self._advance(target)
        except KeyboardInterrupt:
            self.dirty = True
            raise Interrupted(min(self.m.icount, target)) from None

    # --- which hart ran when -----------------------------------------------------------------

    def _starts(self) -> list[int]:
        if self._turn_starts is None:
            self._turn_starts = sorted(self.turns)
        return self._turn_starts

    def hart_at(self, icount: int) -> int | None:
        """The hart that retired the instruction ending at `icount` (None: unknown yet)."""
        if len(self.m.harts) == 1:
            return 0
        starts = self._starts()
        i = bisect.bisect_left(starts, icount) - 1
        if i >= 0:
            s = starts[i]
            h, cnt = self.turns[s]
            if s < icount <= s + cnt:
                return h
        return None

    def hart_instructions_back(self, hart: int, before: int, n: int) -> int:
        """The icount just before the n-th most recent instruction `hart` retired before `before`."""
        if len(self.m.harts) == 1:
            if before - n < 0:
                raise EndOfTrace(f"hart {hart} retired only {before} instructions before this point")
            return before - n
        need, hi = n, before
        while hi > 0:
            lo = max(0, hi - self.every)
            for s, e in reversed(self._turns_of(hart, lo, hi)):
                if e - s >= need:
                    return e - need
                need -= e - s
            hi = lo
        raise EndOfTrace(f"hart {hart} retired fewer than {n} instructions before icount {before}")

    def hart_instructions_forward(self, hart: int, after: int, n: int) -> int:
        """The icount just after the n-th instruction `hart` retires after icount `after`.

        Runs ahead (at most a checkpoint interval at a time) so the turn log
        covers the answer; a hart asleep in wfi is found out without stepping
        the machine one instruction at a time."""
        if len(self.m.harts) == 1:
            if after + n > self.end:
                raise EndOfTrace(f"the recording ends at icount {self.end}, {self.end - after} "
                                 f"instruction(s) from here")
            return after + n
        need, lo = n, after
        while lo < self.end:
            hi = min(self.end, lo + self.every)
            for s, e in self._turns_of(hart, lo, hi):
                if e - s >= need:
                    return s + need
                need -= e - s
            lo = hi
        raise EndOfTrace(f"the recording ends at icount {self.end} before hart {hart} "
                         f"retires {n} more instruction(s)")

    def _turns_of(self, hart: int, lo: int, hi: int) -> list[tuple[int, int]]:
        """The stretches (s, e) of [lo, hi) in which `hart` retired instructions s+1..e, in order
        (running what has not run whole yet, so the turn log covers it)."""
        self._log_turns(lo, hi)
        starts = self._starts()
        out, covered = [], lo
        for s in starts[max(bisect.bisect_right(starts, lo) - 1, 0):]:
            if s >= hi:
                break
            h, cnt = self.turns[s]
            a, b = max(s, covered), min(s + cnt, hi)
            if b > a and h == hart:
                out.append((a, b))
            covered = max(covered, s + cnt)
        return out

    def hart_states(self, hart: int, start: int, stop: int) -> list[tuple]:
        """(icount, pc, priv, satp, sp) of `hart` at `start` and after each instruction it retires
        up to `stop`: the positions where it is about to execute `pc` (one instruction at a time,
        so keep the stretch short)."""
        m = self.goto(start)
        h = m.harts[hart]
        out = [(m.icount, h.pc, h.priv, h.satp, h.x[2])]
        seen = h.instret
        try:
            while m.icount < stop and m.bus.power_off is None:
                self._run(1)
                if h.instret != seen:
                    seen = h.instret
                    out.append((m.icount, h.pc, h.priv, h.satp, h.x[2]))
        except KeyboardInterrupt:
            self.dirty = True
            raise Interrupted(out[-1][0]) from None
        return out
