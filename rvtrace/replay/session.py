"""ReplaySession: the public face of replay -- a position in a recorded run, moved and looked at.

    s = ReplaySession("traces/forkexec.mp")
    ev = s.next_event(EventFilter(kinds={Kind.EXEC}))   # event moves: the index only, instant
    s.goto_icount(123456); s.stepi(); s.reverse_stepi(3) # instruction moves: re-execution
    s.registers(), s.read_virtual(addr, 16), s.processes(), s.where(), s.backtrace()

The position is (icount, event, hart): `icount` the instructions retired so
far (all harts), `event` the number of the event the cursor stands on
(-1 before the first), `hart` the hart instruction moves and register
views apply to (the event's hart after an event move). After an instruction
move the cursor stands on the last event at or before the new icount.

Machine state is only computed when asked (`machine`, `registers`, memory):
event moves cost no emulation. Every move either succeeds or raises a
UserError subclass (EndOfTrace, ReplayError, Divergence) and leaves the
position unchanged -- the debugger prints the message and goes on.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from rvtrace.errors import UserError
from rvtrace.kernel.image import KernelImage
from rvtrace.record.kernelcache import kernel_image
from rvtrace.record.session import EVENTS_SINCE_REVISION, RECORDER_REVISION
from rvtrace.replay.cursor import EventCursor
from rvtrace.replay.engine import DEFAULT_EVERY, Engine
from rvtrace.replay.errors import EndOfTrace, Interrupted, ReplayError
from rvtrace.replay.inspect import MachineViews
from rvtrace.replay.lines import LineMover
from rvtrace.replay.programs import UserPrograms
from rvtrace.replay import probes
from rvtrace.replay.probes import StopProbe
from rvtrace.replay.stops import PcStop, Stop, StopSet, WatchStop
from rvtrace.trace.events import Event
from rvtrace.trace.reader import TraceReader

BACKGROUND_CHUNKS = 32         # longer traces learn their chunks' kinds on a thread at open


@dataclass(frozen=True)
class Position:
    icount: int
    event: int          # -1: before the first event
    hart: int


@dataclass(frozen=True)
class WatchHit:
    icount: int
    address: int
    old: bytes
    new: bytes


class ReplaySession(MachineViews):
    def __init__(self, trace_path, *, checkpoint_every: int = DEFAULT_EVERY, check: bool = True,
                 learn_kinds: bool = False):
        self.path = str(trace_path)
        self.trace = TraceReader(trace_path)
        self.header = self.trace.header
        self.cursor = EventCursor(self.trace)
        kernel = self.header.kernel_elf()
        self.image: KernelImage | None = None
        if kernel is not None:
            try:
                self.image = kernel_image(kernel)      # symbols and struct layouts cached by content
            except UserError:
                self.image = None              # unreadable ELF: replay works, without symbols
        self._every, self._check = checkpoint_every, check
        self.notice = None                     # something the user should know about this trace
        revision = self.header.metadata.get("recorder_revision")
        if check and not (isinstance(revision, int) and EVENTS_SINCE_REVISION <= revision <= RECORDER_REVISION):
            self._check = False
            which = f"revision {revision}" if revision is not None else "an early one"
            self.notice = (f"this trace was written by another recorder ({which}; this rvtrace "
                           f"writes revision {RECORDER_REVISION}): re-execution is not checked "
                           "against its events; record it again to have it checked")
        self._engine: Engine | None = None     # built on the first instruction-level request
        self._icount = 0
        self._hart_id = 0
        self.progress = None                   # progress(done, total) during long moves
        self.programs = UserPrograms(self)
        if learn_kinds and len(self.trace.chunks) > BACKGROUND_CHUNKS:
            # Filtered moves over a long trace are instant once each chunk's kinds are known;
            # the thread competes for the GIL for ~1 s per million events (interactive use).
            self.cursor.learn_kinds_in_background()

    # --- the trace --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.trace)

    @property
    def position(self) -> Position:
        return Position(self.icount, self.cursor.number, self.hart)

    @property
    def icount(self) -> int:
        """Instructions retired (all harts) at the position."""
        return self._icount

    @property
    def hart(self) -> int:
        """The hart instruction moves and register views apply to."""
        return self._hart_id

    @property
    def event_number(self) -> int:
        """The event the position stands on, or the last one before it (-1: before the first)."""
        return self.cursor.number

    @property
    def at_event(self) -> bool:
        """True when the position is exactly an event's moment (not between events)."""
        ev = self.cursor.event
        return ev is not None and ev.icount == self._icount

    def select_hart(self, hart: int) -> None:
        """Look at (and move by instructions on) `hart`; time does not move."""
        harts = int(self.header.config.get("harts", 1) or 1)
        if not 0 <= hart < harts:
            raise ReplayError(f"there is no hart {hart}: this machine has harts 0 to {harts - 1}")
        self._hart_id = hart

    @property
    def event(self) -> Event | None:
        """The event the cursor stands on (None before the first)."""
        return self.cursor.event

    @property
    def end_icount(self) -> int:
        return self.engine.end if self._engine else (
            self.trace.event(len(self.trace) - 1).icount if len(self.trace) else 0)

    def close(self) -> None:
        """Close the trace and let go of the machine and its checkpoints (hundreds of MiB)."""
        self.trace.close()
        self._engine = None

    def __enter__(self) -> "ReplaySession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- event moves (no emulation) ------------------------------------------------------

    def _land(self, ev: Event) -> Event:
        self._icount, self._hart_id = ev.icount, ev.hart
        return ev

    def next_event(self, match=None) -> Event:
        """Move to the next event (matching `match`: a callable over Events, ideally an EventFilter)."""
        return self._land(self.cursor.next(match))

    def prev_event(self, match=None) -> Event:
        return self._land(self.cursor.prev(match))

    def first_event(self) -> Event:
        return self._land(self.cursor.first())

    def last_event(self) -> Event:
        return self._land(self.cursor.last())

    def goto_event(self, number: int) -> Event:
        return self._land(self.cursor.goto(number))

    def find_next(self, match, start: int | None = None) -> Event | None:
        """Look without moving: the first matching event after the cursor (or from `start`)."""
        return self.cursor.find_next(self.cursor.number + 1 if start is None else start, match)

    def find_prev(self, match, start: int | None = None) -> Event | None:
        return self.cursor.find_prev(self.cursor.number - 1 if start is None else start, match)

    def events(self, start: int = 0, stop: int | None = None):
        return self.trace.events(start, stop)

    # --- instruction moves (re-execution) ---------------------------------------------------

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = Engine(self.trace, self.image, self._every, self._check)
            self._engine.progress = self._progress
        return self._engine

    def take_warning(self) -> str | None:
        """Something re-execution found wrong in the trace since last asked (said once), or None."""
        e = self._engine
        if e is None or e.seeds.warning is None or e.seeds.warned:
            return None
        e.seeds.warned = True
        return e.seeds.warning

    def _progress(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    @property
    def machine(self):
        """The machine at the current position (re-executed on demand). Look, do not touch."""
        return self.engine.goto(self.icount)

    def state_at(self, icount: int):
        """The machine after exactly `icount` instructions (the position does not move)."""
        if not 0 <= icount <= self.end_icount:
            raise EndOfTrace(f"icount {icount} is outside this recording (0 to {self.end_icount})")
        return self.engine.goto(icount)

    def _moved_to(self, icount: int, hart: int | None = None, event: int | None = None) -> Position:
        self._icount = icount
        if hart is not None:
            self._hart_id = hart
        self.cursor.number = self.cursor.at_icount(icount) if event is None else event
        return self.position

    # --- searching for stops (breakpoints, catchpoints, watchpoints) -------------------------

    def search(self, stops: StopSet, forward: bool = True) -> Stop | None:
        """Move to the nearest stop of `stops` after (before) the position; None: there is
        none that way, and the position is unchanged.

        Event stops come from the index (no emulation); pc and watch stops from
        re-execution, only up to the nearest event stop. A stop exactly at the
        position is where we are, not the next one. Ctrl-C raises Interrupted
        after moving to where the search got (no stop between there and here)."""
        found = None
        if stops.events:
            match = stops.event_match()
            if forward:
                found = self.cursor.find_next(self.cursor.number + 1, match)
            else:
                start = self.cursor.number - 1 if self.at_event else self.cursor.number
                found = self.cursor.find_prev(start, match)
        if stops.pcs or stops.watches:
            probe = StopProbe(self.engine, stops.pcs, stops.watches)
            e = self.engine
            try:
                if forward:
                    limit = found.icount - 1 if found is not None else None
                    hit = e.search_forward(self.icount, probe, limit)
                else:
                    floor = found.icount if found is not None else -1
                    hit = e.search_backward(self.icount, probe, floor)
            except Interrupted as stopped:
                self._moved_to(stopped.icount)
                raise Interrupted(stopped.icount, f"Interrupted at icount {stopped.icount}: no stop "
                                  f"between there and where the search began") from None
            if hit is not None:
                key, hart, old, new = probe.hits[hit]
                e.goto(hit)
                self._moved_to(hit, hart)
                watch = next((w for w in stops.watches if w.key is key), None)
                if watch is not None:
                    new = self.read_physical(watch.paddr, watch.size)
                return Stop(hit, self.hart, key, None, old, new)
        if found is None:
            return None
        self._land(self.cursor.goto(found.number))
        return Stop(found.icount, found.hart, stops.event_key(found), found)

    def goto_icount(self, icount: int) -> Position:
        """`goto @N`: the machine after exactly N instructions (Ctrl-C: where it got to)."""
        try:
            self.state_at(icount)
        except Interrupted as stopped:
            self._moved_to(stopped.icount)
            raise Interrupted(stopped.icount, f"Interrupted at icount {stopped.icount}") from None
        return self._moved_to(icount)

    def stepi(self, n: int = 1) -> Position:
        """n instructions of the current hart forwards (other harts run as recorded meanwhile)."""
        e = self.engine
        e.goto(self.icount)
        if self.icount >= e.end:
            raise EndOfTrace(f"already at the end of the recording (icount {e.end}); nothing after it")
        target = e.hart_instructions_forward(self.hart, self.icount, n)
        e.goto(target)
        return self._moved_to(target)

    def reverse_stepi(self, n: int = 1) -> Position:
        """n instructions of the current hart backwards."""
        if self.icount <= 0:
            raise EndOfTrace("already at the start of the recording (icount 0); nothing before it")
        target = self.engine.hart_instructions_back(self.hart, self.icount, n)
        self.engine.goto(target)
        return self._moved_to(target)

    def nexti(self) -> Position:
        """Step over calls (and ecalls): same hart, until the pc after this instruction at this depth."""
        m = self.machine
        hart = m.harts[self.hart]
        pc, sp, priv = hart.pc, hart.x[2], hart.priv
        size, is_call = probes.call_at(self._fetch(hart, pc))
        if not is_call:
            return self.stepi()
        probe = probes.AtPc(self.hart, {pc + size}, priv, lambda h: h.x[2] >= sp)
        return self._search(probe, forward=True, what="the instruction after the call")

    def finish(self) -> Position:
        """Run until the current function returns (same hart, a shallower stack)."""
        m = self.machine
        hart = m.harts[self.hart]
        sp, priv = hart.x[2], hart.priv
        # The return address is in ra (at entry, or in a leaf) or saved at fp-8 (after the
        # prologue). ra pointing into this same function is a call's return point, not ours.
        targets = set()
        here = self.where(hart.pc, self.hart).function
        if here is None or self.where(hart.x[1], self.hart).function != here:
            targets.add(hart.x[1])
        saved = self._read_as(hart, hart.x[8] - 8, 8)
        if saved is not None:
            targets.add(struct.unpack("<Q", saved)[0])
        probe = probes.AtPc(self.hart, targets, priv, lambda h: h.x[2] >= sp)
        return self._search(probe, forward=True, what="the return of the current function")

    def reverse_nexti(self) -> Position:
        """Back one instruction of this hart, stepping back over a call that just returned."""
        m = self.machine
        hart = m.harts[self.hart]
        pc, sp, priv = hart.pc, hart.x[2], hart.priv
        calls = []                               # a call or ecall just before pc, of the right size
        for size in (4, 2):
            got_size, is_call = probes.call_at(self._fetch(hart, pc - size))
            if is_call and got_size == size:
                calls.append(pc - size)
        before = self.icount
        prev = self.engine.hart_instructions_back(self.hart, before, 1)
        prev_m = self.engine.goto(prev)
        ph = prev_m.harts[self.hart]
        came_back = ph.pc != pc - 4 and ph.pc != pc - 2 or ph.priv != priv
        if calls and came_back:
            probe = probes.AtPc(self.hart, set(calls), priv, lambda h: h.x[2] == sp)
            hit = self.engine.search_backward(before, probe)
            if hit is not None:
                self.engine.goto(hit)
                return self._moved_to(hit)
        self.engine.goto(prev)
        return self._moved_to(prev)

    def reverse_finish(self) -> Position:
        """Back to where the current function was called (the call instruction in the caller)."""
        m = self.machine
        hart = m.harts[self.hart]
        sp, priv = hart.x[2], hart.priv
        entry = self._function_entry(hart.pc)
        if entry is None:
            raise ReplayError(f"reverse-finish: no symbol covers pc {hart.pc:#x}")
        if entry == hart.pc:                     # at the entry: the call is one instruction back
            return self.reverse_stepi()
        probe = probes.AtPc(self.hart, {entry}, priv, lambda h: h.x[2] >= sp)
        hit = self.engine.search_backward(self.icount, probe)
        if hit is None:
            raise EndOfTrace("reverse-finish: this call started before the recording")
        self.engine.goto(hit)
        self._moved_to(hit)
        return self.reverse_stepi()

    # --- source lines (gdb's step, next, until; reverse-step, reverse-next) -------------------

    def step(self) -> Position:
        """On to the next source line of this hart, entering calls that have line information."""
        return self._line_move(lambda: LineMover(self, over_calls=False).step())

    def next(self) -> Position:
        """On to the next source line of this hart, stepping over calls."""
        return self._line_move(lambda: LineMover(self, over_calls=True).step())

    def until(self) -> Position:
        """`next`, without going back into a loop: on to a later line (or out of the function)."""
        return self._line_move(lambda: LineMover(self, over_calls=True).until())

    def reverse_step(self) -> Position:
        """Back to the beginning of the previous source line this hart ran (into calls)."""
        return self._line_move(lambda: LineMover(self, over_calls=False).reverse_step())

    def reverse_next(self) -> Position:
        """Back to the beginning of the previous source line of this function (over calls)."""
        return self._line_move(lambda: LineMover(self, over_calls=True).reverse_step())

    def _line_move(self, move) -> Position:
        if self.image is None:
            raise ReplayError("no symbols in this trace: use stepi / nexti")
        try:
            move()
        except Interrupted:
            raise Interrupted(self.icount, f"Interrupted at icount {self.icount}") from None
        return self.position

    def run_to(self, pcs, *, reverse: bool = False, hart: int | None = None,
               priv: int | None = None) -> Position:
        """`break FUNC` / `break *ADDR` then continue: the next (previous) moment a hart (any, or
        `hart`) is about to execute one of `pcs` (virtual; `priv` 0/1/3 narrows to user/kernel/M).
        The position's hart becomes the one that got there."""
        def cond(ctx):
            return (hart is None or ctx.hart == hart) and (priv is None or ctx.priv == priv)
        stop = self.search(StopSet(pcs=[PcStop("pc", frozenset(pcs), cond)]), forward=not reverse)
        if stop is None:
            where = "before" if reverse else "after"
            raise EndOfTrace(f"no hart reaches {', '.join(f'{p:#x}' for p in pcs)} {where} this point")
        return self.position

    def watch(self, address: int, size: int = 8, *, reverse: bool = False, physical: bool = False,
              read: bool = False) -> WatchHit:
        """The next (or, reverse, the previous) change of the `size` bytes at `address`
        (`read`: the next/previous load from them -- rwatch).

        The address is virtual in the current process's address space unless
        `physical`. Stops just after the writing (reading) instruction retired;
        for a read, `old` is b"" and `new` the bytes there.
        """
        m = self.machine
        paddr = address if physical else self._translate(m.harts[self.hart], address)
        if paddr is None:
            raise ReplayError(f"watch: address {address:#x} is not mapped in the current address space")
        if not m.bus.ram_base <= paddr < m.bus.ram_base + m.bus.ram_size:
            raise ReplayError(f"watch: physical address {paddr:#x} is not RAM")
        stop = self.search(StopSet(watches=[WatchStop("watch", paddr, size, read)]), forward=not reverse)
        if stop is None:
            verb = "are not read" if read else "do not change"
            raise EndOfTrace(f"{'rwatch' if read else 'watch'}: {size} bytes at {address:#x} {verb} "
                             f"{'before' if reverse else 'after'} this point")
        return WatchHit(stop.icount, address, stop.old or b"", stop.new)

    def _search(self, probe, forward: bool, what: str) -> Position:
        e = self.engine
        try:
            hit = e.search_forward(self.icount, probe) if forward else e.search_backward(self.icount, probe)
        except Interrupted as stopped:
            self._moved_to(stopped.icount)
            raise Interrupted(stopped.icount, f"Interrupted at icount {stopped.icount}") from None
        if hit is None:
            raise EndOfTrace(f"the recording ends before {what}")
        e.goto(hit)
        return self._moved_to(hit)
