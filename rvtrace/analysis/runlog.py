"""One recorded run as the analyses see it: its events, and facts derived from them alone.

diff, explain, timeline and the exports work at the event level: what the
recorder wrote (system calls, switches with their reasons and backtraces,
console bytes with their writer, scheduler decisions), never re-executed
machine state. `RunLog(path)` reads a trace once and answers:

  names            pid -> the name it had at a given event (exec renames, fork inherits)
  console          every console byte with the event and pid that produced it
  actions          what processes did -- system calls, faults, lifecycle, console bytes --
                   each labelled (pid, k) = the k-th action of that pid
  runs             per hart, the stretches during which one pid ran (from switch events)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rvtrace.kernel.syscalls import SyscallTable, syscall_name, table_of
from rvtrace.trace.events import DECISIONS, Event, Kind, code_of
from rvtrace.trace.reader import TraceReader
from rvtrace.trace.text import call_text, describe_safely, exec_succeeded, returned_text, returned_value

HART_RUN = code_of(DECISIONS, "hart-run")

# What a process does, as opposed to what the machine or the scheduler does to it.
ACTION_KINDS = frozenset({Kind.SYSCALL_ENTER, Kind.SYSCALL_EXIT, Kind.PAGE_FAULT, Kind.FORK, Kind.EXEC,
                          Kind.EXIT, Kind.REAPED, Kind.CONSOLE_OUT})


@dataclass(frozen=True)
class ConsoleByte:
    index: int          # offset in the whole console output
    byte: int
    event: int          # the console-out event that carried it
    icount: int
    hart: int
    pid: int


@dataclass(frozen=True)
class Stretch:
    """Hart `hart` ran process `pid` (0: its scheduler, idle) from `start` to `end` (icounts)."""
    hart: int
    pid: int
    start: int
    end: int
    first_event: int
    last_event: int


class RunLog:
    def __init__(self, path):
        self.path = Path(path)
        with TraceReader(self.path) as t:
            self.header = t.header
            self.events: list[Event] = list(t)
            self.ending = t.ending
        self.harts = int(self.header.config.get("harts", 1) or 1)
        self._names: dict[int, list[tuple[int, str]]] = {}
        self.parents: dict[int, int] = {}
        self.console: list[ConsoleByte] = []
        self._scan()

    # --- one pass ------------------------------------------------------------------

    def _scan(self) -> None:
        for ev in self.events:
            k = ev.kind
            if k == Kind.FORK:
                child = ev.fields["child"]
                self.parents[child] = ev.pid
                self._rename(child, ev.number, self.name_at(ev.pid, ev.number))
            elif k == Kind.EXEC:
                path = ev.fields["path"] or ""
                self._rename(ev.pid, ev.number, path.rsplit("/", 1)[-1] or path)
            elif k == Kind.CONSOLE_OUT:
                for b in bytes(ev.fields["data"] or b""):
                    self.console.append(ConsoleByte(len(self.console), b, ev.number, ev.icount,
                                                    ev.hart, ev.pid))

    def _rename(self, pid: int, number: int, name: str | None) -> None:
        if name:
            self._names.setdefault(pid, []).append((number, name))

    def name_at(self, pid: int, number: int | None = None) -> str | None:
        """The name of `pid` at event `number` (its last name when None)."""
        history = self._names.get(pid)
        if not history:
            return "init" if pid == 1 else None
        name = history[0][1]
        for n, nm in history:
            if number is not None and n > number:
                break
            name = nm
        return name

    def who(self, pid: int, number: int | None = None) -> str:
        if not pid:
            return "the scheduler (idle)"
        name = self.name_at(pid, number)
        return f"pid {pid} ({name})" if name else f"pid {pid}"

    @property
    def pids(self) -> list[int]:
        return sorted({ev.pid for ev in self.events if ev.pid} | set(self.parents))

    @property
    def output(self) -> bytes:
        return bytes(c.byte for c in self.console)

    # --- what processes did ------------------------------------------------------------

    def actions(self) -> list[tuple[tuple[int, int], Event]]:
        """[((pid, k), event)]: every process action in global order, k counting per pid."""
        counts: dict[int, int] = {}
        out = []
        for ev in self.events:
            if ev.kind in ACTION_KINDS and ev.pid:
                k = counts.get(ev.pid, 0)
                counts[ev.pid] = k + 1
                out.append(((ev.pid, k), ev))
        return out

    # --- who ran where ------------------------------------------------------------------

    def stretches(self) -> list[Stretch]:
        """Per hart, which pid ran from when to when; the switch events mark the edges."""
        end_icount = self.events[-1].icount if self.events else 0
        current: dict[int, list] = {}       # hart -> [pid, start, first event, last event]
        out: list[Stretch] = []
        for ev in self.events:
            h = ev.hart
            if h is None or not 0 <= h < self.harts:
                continue
            cur = current.get(h)
            if ev.kind == Kind.SWITCH:
                if cur is not None:
                    out.append(Stretch(h, cur[0], cur[1], ev.icount, cur[2], ev.number))
                current[h] = [ev.fields["to_pid"] or 0, ev.icount, ev.number, ev.number]
            elif cur is None:
                current[h] = [ev.pid or 0, ev.icount, ev.number, ev.number]
            else:
                cur[3] = ev.number
        for h, cur in current.items():
            out.append(Stretch(h, cur[0], cur[1], end_icount, cur[2], cur[3]))
        return sorted((s for s in out if s.end > s.start or s.pid), key=lambda s: (s.hart, s.start))

    @property
    def stretch_list(self) -> list[Stretch]:
        """stretches(), computed once."""
        if not hasattr(self, "_stretches"):
            self._stretches = self.stretches()
        return self._stretches

    def hart_instructions(self, start: int, end: int) -> dict[int, int] | None:
        """hart -> instructions it retired between icounts `start` and `end`, from the scheduler's
        hart-run decisions (icount grows only with the running hart, so a turn lasts until the next
        decision); None when the run has no such decisions (one unperturbed hart)."""
        runs = [e for e in self.events if e.kind == Kind.SCHEDULE and e.fields["decision"] == HART_RUN]
        if not runs:
            return None
        out: dict[int, int] = {}
        for this, nxt in zip(runs, runs[1:] + [None]):
            stop = nxt.icount if nxt is not None else self.events[-1].icount
            a, b = max(this.icount, start), min(stop, end)
            if b > a:
                out[this.hart] = out.get(this.hart, 0) + b - a
        return out

    # --- words ----------------------------------------------------------------------------

    def line(self, ev: Event) -> str:
        """`#N @ICOUNT hH [pid P name] what`, as the debugger prints an event."""
        who = f"pid {ev.pid} {self.name_at(ev.pid, ev.number) or '?'}" if ev.pid else "-"
        return f"#{ev.number} @{ev.icount:,} h{ev.hart} [{who}] {self.what(ev)}"

    @property
    def calls(self) -> SyscallTable:
        """The recorded kernel's system calls (names carried by the trace)."""
        return table_of(self.header)

    def what(self, ev: Event) -> str:
        calls = self.calls
        if ev.kind == Kind.SYSCALL_ENTER:
            return call_text(ev, calls)
        if ev.kind == Kind.SYSCALL_EXIT:
            name = syscall_name(ev.fields["num"], calls)
            if exec_succeeded(ev):                   # nothing returned: the old image is gone
                return f"<... {name} resumed>{returned_text(ev, calls=calls)}"
            return f"<... {name} returned> = {returned_value(ev, calls)}"
        return describe_safely(ev)
