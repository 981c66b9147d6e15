"""DebugSession: one replay being debugged -- position, breakpoints, and running commands.

The session is what every command function receives. It holds
- the replay engine (rvtrace.replay), which owns the trace, the event cursor
  and the re-executed machine;
- the position: the current event number and instruction count (after
  `stepi` the icount lies between events; `event_number` is then the last
  event at or before it);
- the breakpoint table, the facts gathered from the events (process names,
  console text), the printer, and the kernel/user symbol lookups.

`run_line(text)` runs one command line and reports a UserError as one
message, so a bad command never ends the session; `failed` remembers that one
did (batch mode's exit code).
"""

from __future__ import annotations

from rvtrace.debugger import commands, vocabulary  # noqa: F401  (vocabulary: registers the commands)
from rvtrace.debugger.addresses import TRAMPOLINE
from rvtrace.debugger.breakpoints import Breakpoint, BreakpointTable
from rvtrace.debugger.commands import QuitRequested
from rvtrace.debugger.eventtext import condition_fields, event_fragments, pid_style, process_label
from rvtrace.debugger.facts import TraceFacts
from rvtrace.debugger.printer import Printer
from rvtrace.errors import UserError
from rvtrace.replay import EventStop, PcStop, StopSet, WatchStop
from rvtrace.trace.events import Event, Kind

__all__ = ["DebugSession", "QuitRequested", "TRAMPOLINE"]


class DebugSession:
    def __init__(self, engine, printer: Printer | None = None):
        self.engine = engine                   # a rvtrace.replay.ReplaySession: owns the position
        self.trace = engine.trace
        self.cursor = engine.cursor
        self.printer = printer or Printer()
        self.breakpoints = BreakpointTable()
        self.facts = TraceFacts(self.trace)
        self.failed = False
        self._machine = None
        self._kernel = None
        self.last_x_format = None              # `x` remembers its format and where it ended
        self.last_x_end = None
        self.last_list = None                  # (icount, file, last line shown) for `list` again
        self.values_printed = 0                # print's $N, as in gdb
        self.progress = None                   # a ProgressLine while commands run (on a terminal)

    def show_progress(self, progress) -> None:
        """Let long moves say how far they got (`progress(done, total)`, begin(), end())."""
        self.progress = progress
        self.engine.progress = progress
        self.printer.before_output = progress.clear

    def close(self) -> None:
        self.facts.close()
        self.engine.close()

    # --- running commands ------------------------------------------------------------------

    def run_line(self, line: str) -> bool:
        """Run one command line; False (and a printed message) when it failed."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if self.progress is not None:
            self.progress.begin()
        try:
            cmd, arg = commands.resolve(line)
            cmd.func(self, arg)
            return True
        except QuitRequested:
            raise
        except UserError as exc:
            self.failed = True
            self.printer.error(str(exc))
            return False
        except KeyboardInterrupt:
            # Outside a move (moves stop where they got to themselves): nothing has changed.
            self.failed = True
            self.printer.error("interrupted; the position is unchanged")
            return False
        except Exception as exc:      # a bug: say so in one line, keep the session alive
            self.failed = True
            self.printer.error(f"internal error in rvtrace ({type(exc).__name__}: {exc}); "
                               "the session goes on -- please report this")
            return False
        finally:
            if self.progress is not None:
                self.progress.end()
            warning = self.engine.take_warning()
            if warning:                # e.g. a damaged snapshot in the trace: said once
                self.printer.error(f"warning: {warning}")

    # --- the position ----------------------------------------------------------------------

    @property
    def event_number(self) -> int:
        """The event the position stands on, or the last one before it (-1: before the first)."""
        return self.engine.event_number

    @property
    def icount(self) -> int:
        return self.engine.icount

    @property
    def hart(self) -> int:
        """The hart instruction moves and register views apply to."""
        return self.engine.hart

    @property
    def event(self) -> Event | None:
        return self.engine.event

    def current_event_or_error(self) -> Event:
        ev = self.event
        if ev is None:
            raise UserError("not at an event yet (before the first one): try `step-event` or `start`")
        return ev

    @property
    def at_event(self) -> bool:
        """True when the position is exactly an event's moment (not between events after stepi)."""
        return self.engine.at_event

    def set_event(self, number: int) -> Event:
        return self.engine.goto_event(number)

    @property
    def machine(self):
        """The MachineView: registers, memory, processes at the current position."""
        if self._machine is None:
            from rvtrace.debugger.machine import MachineView
            self._machine = MachineView(self)
        return self._machine

    def next_x_address(self) -> str:
        if self.last_x_end is None:
            raise UserError("x/FMT ADDR: which address? e.g. x/8gx $sp")
        return str(self.last_x_end)

    # --- events ------------------------------------------------------------------------------

    def name_at(self, pid: int, number: int) -> str | None:
        """For display: None while a background scan has not reached `number` yet."""
        return self.facts.name_at(pid, number) if pid else None

    def fields_of(self, ev: Event) -> dict:
        name = self.facts.name_at(ev.pid, ev.number, wait=True) if ev.pid else None
        enter = self.matching_syscall_half(ev) if ev.kind == Kind.SYSCALL_EXIT else None
        return condition_fields(ev, name, enter, self.calls)

    @property
    def calls(self):
        """The recorded kernel's system calls: names from the trace (kernel.syscalls.table_of)."""
        from rvtrace.kernel.syscalls import table_of
        return table_of(self.trace.header)

    def show_event(self, ev: Event, marker: bool = False, prefix: str = "") -> None:
        frags = event_fragments(ev, self.name_at(ev.pid, ev.number), self.symbolize, self.trace.header)
        lead = "=> " if marker else "   "
        self.printer.line([("class:current" if marker else "", lead + prefix)] + frags)

    def iter_matching(self, match):
        """Every event of the trace that `match` accepts, in order (kind pre-filter when it has one)."""
        n = -1
        while True:
            ev = self.cursor.find_next(n + 1, match)
            if ev is None:
                return
            yield ev
            n = ev.number

    def matching_syscall_half(self, ev: Event) -> Event | None:
        """For a syscall enter its exit (and the reverse), on the same hart and process."""
        if ev.kind not in (Kind.SYSCALL_ENTER, Kind.SYSCALL_EXIT):
            return None
        want = Kind.SYSCALL_EXIT if ev.kind == Kind.SYSCALL_ENTER else Kind.SYSCALL_ENTER

        def other(e):
            return e.pid == ev.pid and e.fields.get("num") == ev.fields.get("num")
        other.kinds = frozenset({want})
        if want == Kind.SYSCALL_EXIT:
            return self.cursor.find_next(ev.number + 1, other)
        return self.cursor.find_prev(ev.number - 1, other)

    def current_syscall(self) -> str | None:
        """The system call the current event's process is inside, if any (for the toolbar)."""
        ev = self.event
        if ev is None or not ev.pid:
            return None
        if ev.kind == Kind.SYSCALL_ENTER:
            return self._syscall_name(ev, self.calls)
        pid = ev.pid

        def mine(e):
            return e.pid == pid
        mine.kinds = frozenset({Kind.SYSCALL_ENTER, Kind.SYSCALL_EXIT})
        prev = self.cursor.find_prev(ev.number - 1 if ev.kind == Kind.SYSCALL_EXIT else ev.number, mine)
        if prev is not None and prev.kind == Kind.SYSCALL_ENTER:
            return self._syscall_name(prev, self.calls)
        return None

    @staticmethod
    def _syscall_name(ev: Event, calls) -> str:
        num = ev.fields.get("num")
        return calls.name(num) if isinstance(num, int) else "?"

    # --- breakpoints ---------------------------------------------------------------------------

    def add_breakpoint(self, bp: Breakpoint) -> Breakpoint:
        self.resolve_output_breakpoint(bp)
        return self.breakpoints.add(bp)

    def add_watchpoint(self, arg: str, access: str) -> Breakpoint:
        """`watch ADDR [LEN]`: watch the physical bytes ADDR maps to now (virtual: this process's)."""
        from rvtrace.debugger.addresses import watch_target
        from rvtrace.debugger.breakpoints import Watch
        words = arg.split()
        if not words:
            raise UserError(f"{'rwatch' if access == 'read' else 'watch'} ADDR [LEN]: which address?")
        length = 8
        if len(words) > 1:
            try:
                length = int(words[-1], 0)
                words = words[:-1]
            except ValueError:
                length = 8
        if not 1 <= length <= 4096:
            raise UserError(f"watch length {length} out of range 1..4096")
        addr, size = watch_target(self, " ".join(words))
        if size is not None and len(arg.split()) == len(words):
            length = min(size, 4096)                  # `watch status`: the variable's own bytes
        paddr, pid = self.machine.physical_of(addr)
        w = Watch(paddr, length, access, True, pid)
        what = " ".join(words) + (f" ({length} bytes)" if length != 8 else "")
        bp = self.breakpoints.add(Breakpoint(what, kinds=frozenset(), watch=w))
        kind = "Hardware watchpoint" if access == "write" else "Hardware read watchpoint"
        where = "" if addr.physical else f" (physical {paddr:#x})"
        self.printer.line(f"{kind} {bp.number}: {what}{where}")
        return bp

    def resolve_output_breakpoint(self, bp: Breakpoint) -> None:
        if bp.output_text is not None:
            bp.events = frozenset(self.facts.output_hits(bp.output_text))

    def stop_set(self) -> StopSet:
        """The enabled breakpoints, catchpoints and watchpoints, as the replay's searches take them."""
        table = self.breakpoints
        stops = StopSet()
        for bp in table.event_breakpoints():
            stops.events.append(EventStop(bp, self._event_matcher(bp), bp.kinds))
        for bp in table.pc_breakpoints():
            stops.pcs.append(PcStop(bp, frozenset(bp.pcs), self._pc_condition(bp)))
        for bp in table.watchpoints():
            w = bp.watch
            stops.watches.append(WatchStop(bp, w.addr, w.length, w.access == "read"))
        return stops

    def _event_matcher(self, bp: Breakpoint):
        def match(ev):
            return self.breakpoints.matches(bp, ev, self.fields_of)
        return match

    def _pc_condition(self, bp: Breakpoint):
        """The test a pc stop makes at the very instruction: the breakpoint's address space (kernel
        or user code at the same virtual address), its program, then its condition."""
        if bp.condition is None and bp.space is None and bp.program is None:
            return None
        cursor, facts = self.cursor, self.facts

        def fields(ctx) -> dict:
            pid = ctx.pid
            name = facts.name_at(pid, cursor.at_icount(ctx.icount), wait=True) if pid else ""
            return {"pid": pid or 0, "name": name or "", "hart": ctx.hart, "pc": ctx.pc,
                    "icount": ctx.icount, "priv": ctx.priv, "_hart": ctx._hart}   # _hart: C conditions

        def condition(ctx) -> bool:
            if bp.space is not None and (ctx.priv == 0) != (bp.space == "user"):
                return False
            known = None
            if bp.program is not None:
                known = fields(ctx)
                if known["name"] != bp.program:
                    return False
            return bp.condition is None or bool(bp.condition(known or fields(ctx)))
        return condition

    def event_filter(self):
        """A filter for the cursor: events that hit an enabled event breakpoint."""
        table = self.breakpoints

        def hit(ev):
            return table.hit_by(ev, self.fields_of) is not None
        hit.kinds = table.watched_kinds()
        return hit

    # --- the describing of the position ------------------------------------------------------------

    def position_fragments(self) -> list[tuple[str, str]]:
        """`event 212 of 427  icount 324778  hart 0  pid 2 echo  in exec` (the toolbar)."""
        n = len(self.trace)
        ev = self.event
        frags = [("", f" event {self.event_number} of {n}" if ev else f" before event 0 of {n}"),
                 ("", f" | icount {self.icount}")]
        if ev is not None:
            if not self.at_event:
                frags.append(("", " (between events)"))
            frags.append(("", f" | hart {ev.hart} | "))
            name = self.name_at(ev.pid, ev.number)
            frags.append((pid_style(ev.pid), process_label(ev.pid, name)))
            call = self.current_syscall()
            if call:
                frags.append(("", f" | in {call}()"))
        return frags

    def report_position(self, bp: Breakpoint | None = None, why: str | None = None) -> None:
        """What gdb prints when it stops: which breakpoint, then the event line."""
        if bp is not None:
            kind = "Temporary breakpoint" if bp.temporary else (
                "Breakpoint" if bp.is_pc else "Watchpoint" if bp.is_watch else "Catchpoint")
            self.printer.line([("class:stop", f"{kind} {bp.number} ({bp.what})")])
        if why:
            self.printer.line([("class:stop", why)])
        ev = self.event
        if ev is None:
            self.printer.line(f"At the start of the run, icount {self.icount}, before event 0.")
        elif self.at_event:
            self.show_event(ev, marker=True)
        else:
            self.show_instruction_position()
        from rvtrace.debugger.cmd_data import show_displays
        show_displays(self)                   # `display EXPR`s, after every stop as in gdb

    # --- symbols and addresses --------------------------------------------------------------------

    @property
    def kernel(self):
        """The KernelImage of the recorded kernel (None when the trace has none)."""
        if self._kernel is None:
            self._kernel = self.engine.image or False
        return self._kernel or None

    def symbolize(self, pc: int) -> str | None:
        k = self.kernel
        if k is not None and TRAMPOLINE <= pc < TRAMPOLINE + 4096 and k.address_of("trampoline"):
            pc = pc - TRAMPOLINE + k.address_of("trampoline")     # xv6 maps its trampoline page high
        f = k.function_at(pc) if k else None
        return (f"{f[0]}+{f[1]:#x}" if f[1] else f[0]) if f else None

    def resolve_symbol(self, name: str) -> int | None:
        """A name's address in the current address space (scope.py: the current program first in
        user mode; `kernel:NAME`, `PROGRAM:NAME` say which)."""
        from rvtrace.debugger.scope import Scope
        sym = Scope(self).lookup(name)
        return sym.address if sym else None

    def describe_address(self, addr: int) -> str:
        name = self.symbolize(addr)
        if name is None and addr < TRAMPOLINE:
            try:
                name = self.machine.user_symbolize(addr)
            except UserError:        # no machine state: kernel names only
                name = None
        return f"{addr:#x} <{name}>" if name else f"{addr:#x}"

    # --- the machine --------------------------------------------------------------------------------

    def show_instruction_position(self) -> None:
        from rvtrace.debugger.cmd_code import show_current_instruction
        show_current_instruction(self)
