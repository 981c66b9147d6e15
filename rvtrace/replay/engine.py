"""Engine: the trace's machine, re-executed to any instruction count, with checkpoints.

The machine is rebuilt from the trace header (configuration, embedded kernel
and disk) with a ReplayScheduler over the recorded decisions, and carries the
recorder's observers writing into a CheckingSink (check.py): re-execution is
compared with the trace as it goes.

Checkpoints are taken at every multiple of `every` instructions the first
time execution passes there. The recording's snapshots (seeds.py) stand in
for the ones not taken yet: `goto(icount)` restores the nearest checkpoint
or snapshot at or before the target (or keeps going from where the machine
is, when that is nearer) and runs forward exactly (`Machine.run(max_insns=...)`),
so a fresh replay re-executes at most the recorder's snapshot spacing. What
ran whole is kept in `ran` (the turn log, turns.py, is complete there).

Each interval between two checkpoints is summarised the first time it runs
whole (`Activity`: the virtual pages code ran from, the physical pages loaded
from and stored into). Searches (`search_forward`, `search_backward`) run the
machine with the cpu's hooks (watched pcs, watched data pages) and skip every
summarised interval in which what they wait for cannot happen: a `break panic`
over a recording where panic's page never ran re-executes nothing twice. A
search that stops in the middle of a turn leaves the machine "dirty" (a turn
cut without the machine knowing), so the next goto restores a checkpoint.

Long runs call `progress(done, total)` at each interval (the debugger shows a
line after a second); Ctrl-C inside a run becomes `Interrupted` with the
icount where the move may stop (everything before it was searched).
"""

from __future__ import annotations

import bisect

from rvtrace.cpu.codecache import CODE_LINE, Activity

from rvtrace.errors import UserError
from rvtrace.kernel.image import KernelImage
from rvtrace.machine.scheduler import ReplayMismatch
from rvtrace.record.session import decisions_of, rebuild
from rvtrace.replay.check import CheckingSink
from rvtrace.replay.errors import Divergence, Interrupted
from rvtrace.replay.seeds import Seeds
from rvtrace.replay.snapshot import MachineSnapshots
from rvtrace.replay.turns import TurnLog

# Instructions between checkpoints: the emulator re-executes ~0.3-0.5 M
# instructions a second with the recorder's checks on, so a target is at
# most ~0.3 s of re-execution away.
DEFAULT_EVERY = 100_000


class _Found(Exception):
    """Raised from a hook to stop a forward search at the first hit."""

    def __init__(self, icount: int):
        self.icount = icount


class Engine(TurnLog):
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
        self.fence: Divergence | None = None   # the earliest divergence: no state past it
        self.turns: dict[int, tuple[int, int]] = {}   # turn start icount -> (hart, retired)
        self._turn_starts: list[int] | None = None
        self.summaries: dict[int, Activity] = {}      # interval k -> what ran in [k*every, (k+1)*every)
        self.recorded = self._recorded_intervals(reader)   # the recorder's, coarser, or None
        self.progress = None                   # progress(done, total) during long runs
        self._hooks()
        objects = [m, m.bus, *m.harts, m.clint, m.plic, m.uart, m.testdev, *m.disks, self.scheduler,
                   rec, rec.out, rec.console]
        if rec.spaces is not None:
            objects.append(rec.spaces)
        shared = [self.sink, self.scheduler.decisions, image, view, rec.kernel, m.config,
                  rec.kernel.image if rec.kernel is not None else None]
        self.snaps = MachineSnapshots(m, objects, [s for s in shared if s is not None])
        self.seeds = Seeds(reader, m, rec, self.end)   # the recording's snapshots, restored on demand
        self.checkpoints: dict[int, object] = {}       # icount -> checkpoint (with gaps: see _covered)
        self._marks: list[int] = []                    # their icounts, sorted
        self._ref_at: int | None = None                # icount where RAM last equalled the latest take
        self.ran: list[list[int]] = []                 # [lo, hi) stretches run whole: turns logged there
        self._add(self._take())
        self._summarise_from(0)

    @staticmethod
    def _recorded_intervals(reader):
        """The trace's intervals section; a malformed one is done without (searches run)."""
        try:
            return reader.intervals()
        except UserError:
            return None

    @staticmethod
    def _end_icount(reader) -> int:
        if len(reader) == 0:
            return 0
        return reader.event(len(reader) - 1).icount

    # --- wiring (the cpu's and machine's hooks, nothing patched) ----------------------------

    def _diverged(self, exc: Divergence) -> Divergence:
        """Remember the earliest divergence: re-execution cannot be trusted past it, so no
        machine state after that icount is ever shown as fact (events still come from the trace)."""
        if exc.icount is not None and (self.fence is None or exc.icount < self.fence.icount):
            self.fence = exc
        return exc

    def _check_fence(self, target: int) -> None:
        fence = self.fence
        if fence is not None and target > fence.icount:
            raise Divergence(f"no machine state past icount {fence.icount}: re-execution diverged "
                             f"from the recording there ({fence}); the events after it still come "
                             f"from the trace", fence.recorded, fence.replayed, fence.icount)

    def _hooks(self) -> None:
        """Log every turn (which hart retired which instructions) and route watched pcs."""
        m = self.m
        self.rec_pcs = frozenset(m.harts[0].watch_pcs)
        self.search_pcs: frozenset = frozenset()
        self.search_fn = None
        self._rec_watch = m.harts[0].on_watch
        for hart in m.harts:
            hart.on_watch = self._on_watch
        m.on_turn = self._on_turn

    def _on_watch(self, hart, pc) -> None:
        if pc in self.rec_pcs and self._rec_watch is not None:
            self._rec_watch(hart, pc)
        if pc in self.search_pcs and self.search_fn is not None:
            self.search_fn(hart, pc)

    def _set_search_pcs(self, pcs) -> None:
        self.search_pcs = frozenset(pcs)
        for hart in self.m.harts:
            hart.watch_pcs = self.rec_pcs | self.search_pcs

    # --- interval summaries ---------------------------------------------------------------

    def _summarise_from(self, icount: int) -> None:
        """Start noting what runs, if `icount` begins an interval not summarised yet."""
        cache = self.m.cache
        k, rest = divmod(icount, self.every)
        if rest or k in self.summaries:
            cache.activity = None
            return
        for hart in self.m.harts:            # empty TLBs and block tables: every page gets noted
            hart.flush_tlb()
        cache.activity = Activity()
        self._summary_k = k

    def _interval_done(self) -> None:
        """The machine just reached an interval boundary by running: keep the summary."""
        cache = self.m.cache
        if cache.activity is not None and not self.dirty:
            self.summaries[self._summary_k] = cache.activity
        self._summarise_from(self.m.icount)

    def quiet(self, k: int, probe) -> bool:
        """Nothing `probe` waits for can happen in interval k: by what re-execution noted when it
        ran it whole, or else what the recorder noted (the trace's intervals section)."""
        s = self.summaries.get(k)
        if s is not None:
            return not _touches(s, probe, CODE_LINE)
        if self.recorded is None:
            return False
        cover = self.recorded.covering(k * self.every, min((k + 1) * self.every, self.end))
        return cover is not None and not any(_touches(i, probe, self.recorded.code_line) for i in cover)

    def can_skip(self, k: int, probe) -> bool:
        """Interval k is quiet for `probe` and a checkpoint at its end lets a search jump it."""
        return (k + 1) * self.every in self.checkpoints and self.quiet(k, probe)

    def next_loud(self, k: int, last: int, probe) -> int | None:
        """The first interval from k to `last` that is not quiet for `probe` (None: all are)."""
        return next((j for j in range(k, last + 1) if not self.quiet(j, probe)), None)

    # --- checkpoints ----------------------------------------------------------------------

    def _take(self):
        # A checkpoint after a whole interval run from the latest one: its activity log says
        # which pages can differ (comparing all of RAM is a quarter of re-execution's time).
        act = self.m.cache.activity
        written = None
        if act is not None and self._ref_at is not None and self._summary_k * self.every == self._ref_at:
            written = act.written
        snap = self.snaps.take({"released": self.sink.n, "finished": self.finished}, written)
        self._ref_at = snap.icount
        return snap

    def _add(self, snap) -> None:
        if snap.icount not in self.checkpoints:
            bisect.insort(self._marks, snap.icount)
        self.checkpoints[snap.icount] = snap

    def _restore(self, snap) -> None:
        self.snaps.restore(snap)
        self._ref_at = snap.icount if snap.number == self.snaps.count - 1 else None
        self.sink.n = snap.extra["released"]
        self.finished = snap.extra["finished"]
        self.dirty = False
        self._summarise_from(snap.icount)

    def _latest_checkpoint(self, icount: int):
        return self.checkpoints[self._marks[max(bisect.bisect_right(self._marks, icount) - 1, 0)]]

    def checkpoint_before(self, icount: int):
        """The latest state at or before `icount`: a checkpoint, or the recording's snapshot
        (restored into a checkpoint now) when that is later."""
        while True:
            snap = self._latest_checkpoint(icount)
            i = self.seeds.latest(icount)
            if i is None or self.seeds.icounts[i] <= snap.icount:
                return snap
            seeded = self._seed(i)
            if seeded is not None:
                return seeded

    def _seed(self, i: int):
        """Restore the recording's snapshot i and keep it as a checkpoint (None: it is unusable)."""
        self.m.cache.activity = None
        got = self.seeds.restore(i, self._restore)
        if got is None:
            self._restore(self.checkpoints[0])      # whatever it half-wrote is undone
            return None
        self.snaps.after_ram_change()
        self.sink.n, self.finished, self.dirty = got[1], False, False
        self._ref_at = None
        snap = self._take()
        self._add(snap)
        self.seeds.loaded[i] = snap
        self._summarise_from(snap.icount)
        return snap

    def latest_state(self, icount: int) -> int:
        """The icount of the latest state a jump can restore at or before `icount` (0: boot)."""
        i = self.seeds.latest(icount)
        c = self._latest_checkpoint(icount).icount
        return max(c, self.seeds.icounts[i]) if i is not None else c

    def _jump(self, icount: int) -> None:
        """Restore the state at exactly `icount` (latest_state gave it)."""
        snap = self.checkpoint_before(icount)       # earlier, if a snapshot turned out unusable
        if self.dirty or self.m.icount != snap.icount:
            self._restore(snap)

    # --- moving ---------------------------------------------------------------------------

    @property
    def icount(self) -> int:
        return self.m.icount

    def goto(self, target: int):
        """Bring the machine to exactly `target` instructions (clamped to the recording's end).
        Ctrl-C raises Interrupted (where it got to) and leaves the machine to be restored."""
        target = max(0, min(target, self.end))
        m = self.m
        snap = self.checkpoint_before(target)
        if self.dirty or m.icount > target or m.icount < snap.icount:
            self._restore(snap)
        try:
            self._advance(target)
        except KeyboardInterrupt:
            self.dirty = True
            raise Interrupted(min(m.icount, target)) from None
        return m

    def _advance(self, target: int) -> None:
        """Run forward to `target`, taking the checkpoints not taken yet on the way."""
        self._check_fence(target)
        m, every = self.m, self.every
        total = target - m.icount
        origin = m.icount
        while m.icount < target and m.bus.power_off is None:
            nxt = (m.icount // every + 1) * every
            stop = min(target, nxt)
            begun = m.icount
            result = self._run(stop - m.icount)
            self._covered(begun, m.icount)
            if result.reason != "max-insns":
                self._powered_off(result)
                break
            if m.icount == nxt:
                if nxt not in self.checkpoints:
                    self._add(self._take())
                self._interval_done()
                if self.progress is not None:
                    self.progress(m.icount - origin, total)
        if m.icount < target and m.bus.power_off is None:
            raise self._diverged(Divergence(f"replay diverged: the machine stopped at icount {m.icount}, "
                                            f"before {target}", None, None, m.icount))

    def _checkpoint_at(self, icount: int):
        """A checkpoint at exactly `icount` (run there from the latest state before it if need be)."""
        if icount not in self.checkpoints:
            self.goto(icount)                       # lays the checkpoints it passes
            if icount not in self.checkpoints and self.m.icount == icount and not self.dirty:
                self._add(self._take())
        return self.checkpoints.get(icount) or self._latest_checkpoint(icount)

    def _run(self, n: int):
        """Machine.run, with whatever stops it early (a divergence, a search hit, Ctrl-C) leaving
        the engine dirty: the machine is then in the middle of a turn it does not know was cut."""
        try:
            return self.m.run(max_insns=n)
        except ReplayMismatch as exc:
            self.dirty = True
            raise self._diverged(Divergence(f"replay diverged at icount {self.recorder.now()}: {exc}",
                                            None, None, self.recorder.now())) from None
        except Divergence as exc:
            self.dirty = True
            raise self._diverged(exc)
        except _Found:
            self.dirty = True
            raise
        except UserError as exc:          # e.g. "guest is idle forever": not what was recorded
            self.dirty = True
            raise self._diverged(Divergence(f"replay diverged at icount {self.recorder.now()}: {exc}",
                                            None, None, self.recorder.now())) from None
        except BaseException:
            self.dirty = True
            raise

    def _powered_off(self, result) -> None:
        if not self.finished:
            self.finished = True
            self.recorder.finish(result)    # releases the poweroff event (checked too)
        if self.poweroff_ending and self.m.icount != self.end:
            raise self._diverged(Divergence(f"replay diverged: the machine powered off at icount "
                                            f"{self.m.icount}, the recording at {self.end}", None, None,
                                            self.m.icount))

    # --- searches --------------------------------------------------------------------------

    def search_forward(self, start: int, probe, limit: int | None = None) -> int | None:
        """The first icount in (start, limit] that `probe` reports while the machine runs on;
        None if none (limit: the end of the recording by default).

        A probe has `pcs` and `pages` (what to watch), `code_pages` (the virtual
        pages of its pcs, for skipping), `begin()` (a stretch of execution
        starts), `on_pc(hart, pc, report)` (before an instruction at one of
        `pcs`), `on_store(ppage, report)` (before a store into one of the physical
        `pages`), optionally `on_load(hart, paddr, size, report)`, and
        `end(report)` (the stretch ended); it calls `report(icount)` for each hit,
        never later than a hit with a smaller icount.
        Ctrl-C raises Interrupted(icount reached): nothing before it was found.
        """
        limit = self.end if limit is None else min(limit, self.end)
        if start >= limit:
            return None
        m, every = self.m, self.every
        last = (limit - 1) // every
        loud = self.next_loud(start // every, last, probe)
        if loud is None:
            return None                               # nothing it waits for runs before the limit
        # Nothing can happen before interval `loud`: start from the latest state before it
        # (a checkpoint or the recording's snapshot) when that is past `start`.
        if self.latest_state(loud * every) > start:
            self._jump(self.latest_state(loud * every))
        else:
            self.goto(start)

        def report(g=None):
            g = self.now() if g is None else g
            if start < g <= limit:
                raise _Found(g)
        try:
            with _Hooks(self, probe, report):
                probe.begin()
                loud = self.next_loud(m.icount // every, last, probe)
                while m.icount < limit and m.bus.power_off is None and loud is not None:
                    k = m.icount // every
                    nxt = (k + 1) * every
                    if loud < k:
                        loud = self.next_loud(k, last, probe)
                        continue
                    if loud > k and self.latest_state(loud * every) > m.icount:
                        probe.end(report)             # nothing can happen until interval `loud`
                        self._jump(self.latest_state(loud * every))
                        probe.begin()
                    elif self.can_skip(k, probe):
                        probe.end(report)
                        self._jump(nxt)
                        probe.begin()
                    else:
                        self._advance(min(limit, nxt))
                    if self.progress is not None:
                        self.progress(m.icount - start, limit - start)
                probe.end(report)
        except _Found as hit:
            self.dirty = True
            return hit.icount
        except KeyboardInterrupt:
            self.dirty = True
            reached = max(start, min(self.m.icount, limit))
            raise Interrupted(reached) from None
        return None

    def search_backward(self, before: int, probe, floor: int = 0) -> int | None:
        """The last icount in (floor, before) that `probe` reports (a hit exactly at `before` --
        e.g. a write by the instruction just before the position -- is where we are, not a
        previous one). Ctrl-C raises Interrupted(icount searched back to)."""
        hits: list[int] = []

        def report(g=None):
            g = self.now() if g is None else g
            if floor < g < before:
                hits.append(g)
        every = self.every
        j = max(before - 1, 0) // every
        searched = before
        try:
            while j >= 0 and (j + 1) * every > floor:
                if not self.quiet(j, probe):
                    snap = self._checkpoint_at(j * every)
                    self._restore(snap)
                    hits.clear()
                    stop_at = min(before, snap.icount + every)
                    with _Hooks(self, probe, report):
                        probe.begin()
                        self._advance(stop_at)
                        probe.end(report)
                    if hits:
                        self.dirty = True
                        return max(hits)
                searched = min(searched, j * every)
                if self.progress is not None:
                    self.progress(before - searched, before - floor)
                j -= 1
        except (KeyboardInterrupt, Interrupted):
            self.dirty = True
            raise Interrupted(max(searched, floor)) from None
        self.dirty = True
        return None

    def now(self) -> int:
        return self.recorder.now()


def _touches(summary, probe, code_line: int) -> bool:
    """Could `probe` see anything in the interval `summary` describes?"""
    code = {pc >> code_line for pc in getattr(probe, "pcs", ()) or ()}
    if not summary.ran.isdisjoint(code):
        return True
    pages = getattr(probe, "pages", ()) or ()
    if pages and not summary.written.isdisjoint(pages):
        return True
    return bool(pages) and getattr(probe, "on_load", None) is not None and \
        not summary.read.isdisjoint(pages)


class _Hooks:
    """Install a probe's hooks (the cpu's watched pcs and data pages) for a `with` block."""

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
            on_load = getattr(probe, "on_load", None)
            e.m.cache.set_data_watch(
                self.pages, on_store=lambda ppage: probe.on_store(ppage, report),
                on_load=(lambda hart, pa, size: on_load(hart, pa, size, report)) if on_load else None)
        return self

    def __exit__(self, *exc):
        e = self.e
        if self.pcs:
            e.search_fn = None
            e._set_search_pcs(())
        if self.pages:
            e.m.cache.set_data_watch(frozenset())
        return False


class _NullSink:
    n = 0
    checked = 0

    def event(self, *ev) -> None:
        self.n += 1
