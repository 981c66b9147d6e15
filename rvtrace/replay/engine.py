"""Engine: the trace's machine, re-executed to any instruction count, with checkpoints.

The machine is rebuilt from the trace header (configuration, embedded kernel
and disk) with a ReplayScheduler over the recorded decisions, and carries the
recorder's observers writing into a CheckingSink (check.py): re-execution is
compared with the trace as it goes.

Checkpoints are taken at every multiple of `every` instructions the first
time execution passes there, so [0, frontier) has been executed once and any
target is at most `every` instructions from a checkpoint. `goto(icount)`
restores the nearest checkpoint at or before the target (or keeps going from
where the machine is, when that is nearer) and runs forward exactly
(`Machine.run(max_insns=...)`).

Searches (`search_forward`, `search_backward`) run the machine with extra
watched pcs or a store hook and note the icounts where a condition held; a
search that stops in the middle of a turn leaves the machine "dirty" (a turn
cut without the machine knowing), so the next goto restores a checkpoint.
"""

from __future__ import annotations

import bisect

from rvtrace.errors import UserError
from rvtrace.kernel.image import KernelImage
from rvtrace.machine.scheduler import ReplayMismatch
from rvtrace.record.session import decisions_of, rebuild
from rvtrace.replay.check import CheckingSink
from rvtrace.replay.errors import Divergence, EndOfTrace
from rvtrace.replay.snapshot import MachineSnapshots

# Instructions between checkpoints: the emulator re-executes ~0.3-0.5 M
# instructions a second with the recorder's checks on, so a target is at
# most ~0.3 s of re-execution away.
DEFAULT_EVERY = 100_000


class _Found(Exception):
    """Raised from a hook to stop a forward search at the first hit."""

    def __init__(self, icount: int):
        self.icount = icount


class Engine:
    def __init__(self, reader, image: KernelImage | None, every: int = DEFAULT_EVERY, check: bool = True):
        header = reader.header
        if header.kernel_zlib is None:
            raise UserError(f"{reader.path}: the trace does not embed its kernel, so it cannot be replayed")
        self.reader = reader
        self.every = every
        self.end = self._end_icount(reader)
        self.poweroff_ending = reader.ending is not None and reader.ending[0] == "poweroff"
        self.sink = CheckingSink(reader) if check else _NullSink()
        # Built exactly as the recorder builds its machine (rvtrace.record.session.rebuild), so the
        # events re-execution emits are comparable with the recorded ones.
        self.m, self.recorder = m, rec = rebuild(header, decisions_of(reader), self.sink)
        self.scheduler = m.scheduler
        view = rec.kernel.view if rec.kernel is not None else None
        self.image, self.view = image, view
        self.finished = False                  # the recorder's finish() ran (machine powered off)
        self.dirty = False                     # the machine is mid-search: restore before using it
        self.turns: dict[int, tuple[int, int]] = {}   # turn start icount -> (hart, retired)
        self._turn_starts: list[int] | None = None
        self._hooks()
        objects = [m, m.bus, *m.harts, m.clint, m.plic, m.uart, m.testdev, *m.disks, self.scheduler,
                   rec, rec.out, rec.console]
        if rec.spaces is not None:
            objects.append(rec.spaces)
        shared = [self.sink, self.scheduler.decisions, image, view, rec.kernel, m.config,
                  rec.kernel.image if rec.kernel is not None else None]
        self.snaps = MachineSnapshots(m, objects, [s for s in shared if s is not None])
        self.checkpoints = [self._take()]
        self.frontier = 0

    @staticmethod
    def _end_icount(reader) -> int:
        if len(reader) == 0:
            return 0
        return reader.event(len(reader) - 1).icount

    # --- wiring -------------------------------------------------------------------------

    def _hooks(self) -> None:
        """Log every turn (which hart retired which instructions) and route watched pcs."""
        m = self.m
        self.rec_pcs = frozenset(m.harts[0].watch_pcs)
        self.search_pcs: frozenset = frozenset()
        self.search_fn = None
        rec_watch = m.harts[0].on_watch
        self._rec_watch = rec_watch
        for hart in m.harts:
            hart.run = self._logged(hart, hart.run)
            hart.on_watch = self._on_watch

    def _logged(self, hart, run):
        turns, m, h = self.turns, self.m, hart.hartid

        def logged_run(budget):
            start = m.icount
            n = run(budget)
            if n and turns.get(start, (h, 0))[1] < n:
                turns[start] = (h, n)
                self._turn_starts = None
            return n
        return logged_run

    def _on_watch(self, hart, pc) -> None:
        if pc in self.rec_pcs and self._rec_watch is not None:
            self._rec_watch(hart, pc)
        if pc in self.search_pcs and self.search_fn is not None:
            self.search_fn(hart, pc)

    def _set_search_pcs(self, pcs) -> None:
        self.search_pcs = frozenset(pcs)
        for hart in self.m.harts:
            hart.watch_pcs = self.rec_pcs | self.search_pcs

    # --- checkpoints ----------------------------------------------------------------------

    def _take(self):
        return self.snaps.take({"released": self.sink.n, "finished": self.finished})

    def _restore(self, snap) -> None:
        self.snaps.restore(snap)
        self.sink.n = snap.extra["released"]
        self.finished = snap.extra["finished"]
        self.dirty = False

    def checkpoint_before(self, icount: int):
        i = min(icount // self.every, len(self.checkpoints) - 1)
        return self.checkpoints[i]

    # --- moving ---------------------------------------------------------------------------

    @property
    def icount(self) -> int:
        return self.m.icount

    def goto(self, target: int):
        """Bring the machine to exactly `target` instructions (clamped to the recording's end)."""
        target = max(0, min(target, self.end))
        m = self.m
        snap = self.checkpoint_before(target)
        if self.dirty or m.icount > target or m.icount < snap.icount:
            self._restore(snap)
        self._advance(target)
        return m

    def _advance(self, target: int) -> None:
        """Run forward to `target`, taking the checkpoints not taken yet on the way."""
        m, every = self.m, self.every
        while m.icount < target and m.bus.power_off is None:
            nxt = (m.icount // every + 1) * every
            stop = min(target, nxt)
            result = self._run(stop - m.icount)
            self.frontier = max(self.frontier, m.icount)
            if result.reason != "max-insns":
                self._powered_off(result)
                break
            if m.icount == nxt and nxt // every == len(self.checkpoints):
                self.checkpoints.append(self._take())
        if m.icount < target and m.bus.power_off is None:
            raise Divergence(f"replay diverged: the machine stopped at icount {m.icount}, "
                             f"before {target}", None, None, m.icount)

    def _run(self, n: int):
        """Machine.run, with whatever stops it early (a divergence, a search hit, Ctrl-C) leaving
        the engine dirty: the machine is then in the middle of a turn it does not know was cut."""
        try:
            return self.m.run(max_insns=n)
        except ReplayMismatch as exc:
            self.dirty = True
            raise Divergence(f"replay diverged at icount {self.recorder.now()}: {exc}",
                             None, None, self.recorder.now()) from None
        except (Divergence, _Found):
            self.dirty = True
            raise
        except UserError as exc:          # e.g. "guest is idle forever": not what was recorded
            self.dirty = True
            raise Divergence(f"replay diverged at icount {self.recorder.now()}: {exc}",
                             None, None, self.recorder.now()) from None
        except BaseException:
            self.dirty = True
            raise

    def _powered_off(self, result) -> None:
        if not self.finished:
            self.finished = True
            self.recorder.finish(result)    # releases the poweroff event (checked too)
        if self.poweroff_ending and self.m.icount != self.end:
            raise Divergence(f"replay diverged: the machine powered off at icount {self.m.icount}, "
                             f"the recording at {self.end}", None, None, self.m.icount)

    # --- which hart ran when -----------------------------------------------------------------

    def hart_instructions_back(self, hart: int, before: int, n: int) -> int:
        """The icount just before the n-th most recent instruction `hart` retired before `before`."""
        if len(self.m.harts) == 1:
            if before - n < 0:
                raise EndOfTrace(f"hart {hart} retired only {before} instructions before this point")
            return before - n
        if self.frontier < before:
            self.goto(before)
        if self._turn_starts is None:
            self._turn_starts = sorted(self.turns)
        starts = self._turn_starts
        i = bisect.bisect_left(starts, before) - 1
        upto = before
        need = n
        while i >= 0:
            s = starts[i]
            h, cnt = self.turns[s]
            end = min(s + cnt, upto)
            if end > s and h == hart:
                if end - s >= need:
                    return end - need
                need -= end - s
            upto = min(upto, s)
            i -= 1
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
        need, covered = n, after
        while True:
            horizon = min(self.end, max(self.frontier, covered + self.every))
            if self.frontier < horizon:
                self.goto(horizon)
            if self._turn_starts is None:
                self._turn_starts = sorted(self.turns)
            starts = self._turn_starts
            for s in starts[max(bisect.bisect_right(starts, covered) - 1, 0):]:
                h, cnt = self.turns[s]
                lo, hi = max(s, covered), s + cnt
                if hi <= lo:
                    continue
                if h == hart:
                    if hi - lo >= need:
                        return lo + need
                    need -= hi - lo
                covered = hi
            if self.frontier >= self.end:
                raise EndOfTrace(f"the recording ends at icount {self.end} before hart {hart} "
                                 f"retires {n} more instruction(s)")
            covered = max(covered, self.frontier)

    # --- searches --------------------------------------------------------------------------

    def search_forward(self, start: int, probe) -> int | None:
        """The first icount > start that `probe` reports while the machine runs on; None if none.

        A probe has `pcs` and `pages` (what to watch), `begin()` (a stretch of
        execution starts), `on_pc(hart, pc, report)` (before an instruction at
        one of `pcs`), `on_store(ppage, report)` (before a store into one of the
        physical `pages`) and `end(report)` (the stretch ended); it calls
        `report(icount)` for each hit.
        """
        self.goto(start)

        def report(g=None):
            g = self.now() if g is None else g
            if g > start:
                raise _Found(g)
        try:
            with _Hooks(self, probe, report):
                probe.begin()
                self._advance(self.end)
                probe.end(report)
        except _Found as hit:
            self.dirty = True
            return hit.icount
        return None

    def search_backward(self, before: int, probe) -> int | None:
        """The last icount < before that `probe` reports (a hit exactly at `before` -- e.g. a write
        by the instruction just before the position -- is where we are, not a previous one)."""
        hits: list[int] = []

        def report(g=None):
            g = self.now() if g is None else g
            if g < before:
                hits.append(g)
        j = min(max(before - 1, 0) // self.every, len(self.checkpoints) - 1)
        while j >= 0:
            snap = self.checkpoints[j]
            self._restore(snap)
            hits.clear()
            stop_at = min(before, snap.icount + self.every)
            with _Hooks(self, probe, report):
                probe.begin()
                try:
                    self._advance(stop_at)
                finally:
                    self.dirty = True
                probe.end(report)
            if hits:
                return max(hits)
            j -= 1
        return None

    def now(self) -> int:
        return self.recorder.now()


class _Hooks:
    """Install a probe's hooks for the length of a `with` block."""

    def __init__(self, engine: Engine, probe, report):
        self.e, self.probe, self.report = engine, probe, report
        self.pcs = frozenset(getattr(probe, "pcs", ()) or ())
        self.pages = frozenset(getattr(probe, "pages", ()) or ())

    def __enter__(self):
        e, probe, report = self.e, self.probe, self.report
        if self.pcs:
            e.search_fn = lambda hart, pc: probe.on_pc(hart, pc, report)
            e._set_search_pcs(self.pcs)
        if self.pages:
            cache = e.m.cache
            pages = self.pages
            is_watched, written = type(cache).is_watched_page, type(cache).written
            cache.is_watched_page = lambda p: p in pages or is_watched(cache, p)

            def hooked_written(p):
                if p in pages:
                    probe.on_store(p, report)
                if is_watched(cache, p):
                    written(cache, p)
            cache.written = hooked_written
            for hart in e.m.harts:                  # stores there must take the slow path now
                hart.flush_tlb()
        if getattr(probe, "on_load", None) is not None:
            for hart in e.m.harts:
                hart.load = self._load_hook(hart, probe, report)
                hart.flush_tlb()                    # loads must miss the TLB to be seen
        return self

    @staticmethod
    def _load_hook(hart, probe, report):
        """Wrap the cpu's slow-path load: loads from the probe's pages are seen, and their
        TLB entries dropped again so the next load there is slow too."""
        load, pages = type(hart).load, probe.pages

        def hooked_load(va, size, signed, idx):
            value = load(hart, va, size, signed, idx)
            pa = hart.debug_translate(va)
            if pa is not None and pa >> 12 in pages:
                hart._ctx.r.pop(va >> 12, None)
                probe.on_load(pa, size, report)
            return value
        return hooked_load

    def __exit__(self, *exc):
        e = self.e
        if self.pcs:
            e.search_fn = None
            e._set_search_pcs(())
        if self.pages:
            cache = e.m.cache
            vars(cache).pop("is_watched_page", None)
            vars(cache).pop("written", None)
            for hart in e.m.harts:
                hart.flush_tlb()
        if getattr(self.probe, "on_load", None) is not None:
            for hart in e.m.harts:
                vars(hart).pop("load", None)
                hart.flush_tlb()
        return False


class _NullSink:
    n = 0
    checked = 0

    def event(self, *ev) -> None:
        self.n += 1
