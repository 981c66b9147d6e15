"""`rvtrace dump`: a trace as strace-like text (or JSON lines), one event a line.

    1234567 h0 [pid 3 forkexec] fork() = 4
    1240000 h0 [pid 4 forkexec] exec("echo", ["echo","THIS","IS","ECHO"]) ...
    1251000 h0 [pid 3 forkexec] page-fault store va=0x3fd0 pc=0x1c -> cow-copy
    1260000 h0 [pid 4 echo] switch 4 -> 3 (sleep: disk read <- exec)

A syscall's enter and exit become one line when nothing else happened on
that hart in between; otherwise the enter line ends in `...` and the exit
reads `<... write resumed> = 1`, as strace does. Lines stay in event order.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from typing import TextIO

from rvtrace.errors import UserError
from rvtrace.kernel.syscalls import table_of
from rvtrace.trace.events import FAMILIES, KIND_BY_NAME, KINDS, Event, Kind
from rvtrace.trace.reader import TraceReader
from rvtrace.trace.text import EXEC_ARGC_REVISION, call_text, describe_safely, returned_text, syscall_name_safe

# Events a system call causes on its own hart (write's console bytes, fork's
# lifecycle event, a fault in copyin, ...): they are printed after the call's
# line and do not split its enter and exit. Anything else on that hart does.
INSIDE_A_CALL = frozenset({Kind.CONSOLE_OUT, Kind.CONSOLE_IN, Kind.FORK, Kind.EXEC, Kind.EXIT, Kind.REAPED,
                           Kind.DISK_REQUEST, Kind.DISK_COMPLETE, Kind.PAGE_FAULT, Kind.COW, Kind.INTERRUPT,
                           Kind.SCHEDULE, Kind.POWEROFF})

# Bound on lines held back while a syscall waits for its exit.
MAX_HELD_LINES = 10000


def parse_kinds(spec: str | None) -> set[int] | None:
    """`syscall,pagefault,exec` -> the set of kind codes; None means every kind."""
    if not spec:
        return None
    chosen: set[int] = set()
    for word in (w.strip() for w in spec.split(",")):
        if not word:
            continue
        matches = {k for k, info in KINDS.items()
                   if word in (info.family, info.name, info.name.replace("-", ""))}
        if not matches:
            names = sorted(set(FAMILIES) | set(KIND_BY_NAME))
            raise UserError(f"unknown event kind {word!r}: use one of {', '.join(names)}")
        chosen |= matches
    return chosen


class KernelSymbols:
    """Names for kernel pcs from the kernel ELF embedded in the trace, loaded on first use."""

    def __init__(self, header):
        self.header = header
        self.image = None
        self.tried = False

    def __call__(self, pc: int) -> str | None:
        if not self.tried:
            self.tried = True
            try:
                from rvtrace.kernel.image import KernelImage   # pyelftools: only when a pc is named
                elf = self.header.kernel_elf()
                self.image = KernelImage(elf) if elf else None
            except UserError:
                self.image = None           # a trace without a usable kernel prints plain pcs
        f = self.image.function_at(pc) if self.image else None
        return f"{f[0]}+{f[1]:#x}" if f else None


class ProcessNames:
    """Process names as the events reveal them: exec names, fork inherits."""

    def __init__(self):
        self.names: dict[int, str] = {}

    def observe(self, ev: Event) -> None:
        if ev.kind == Kind.FORK and ev.pid in self.names and isinstance(ev.fields["child"], int):
            self.names[ev.fields["child"]] = self.names[ev.pid]
        elif ev.kind == Kind.EXEC and isinstance(ev.fields["path"], str):
            self.names[ev.pid] = ev.fields["path"].rsplit("/", 1)[-1]

    def prefix(self, ev: Event) -> str:
        if not ev.pid:
            return f"{ev.icount} h{ev.hart} [-]"
        name = self.names.get(ev.pid)
        return f"{ev.icount} h{ev.hart} [pid {ev.pid}{' ' + name if name else ''}]"


class _Held:
    """A syscall-enter line waiting to learn whether its exit follows directly."""

    def __init__(self, prefix: str, ev: Event, exec_argc: bool = True, calls=None):
        self.prefix, self.ev, self.text, self.exec_argc, self.calls = prefix, ev, None, exec_argc, calls

    def finish(self, exit_ev: Event | None) -> None:
        call = call_text(self.ev, self.calls)
        if exit_ev is None:
            self.text = f"{self.prefix} {call} ..."
        else:
            self.text = f"{self.prefix} {call}{returned_text(exit_ev, self.exec_argc, self.calls)}"


class TextDump:
    """Turns events into lines, merging adjacent syscall enter/exit pairs per hart."""

    def __init__(self, out: TextIO, symbolize=None):
        self.out = out
        self.symbolize = symbolize
        self.names = ProcessNames()
        self.queue: deque = deque()          # str or _Held, in event order
        self.held: dict[int, _Held] = {}     # hart -> its unfinished syscall
        self.exec_argc = True                # a successful exec's `ret` is argc (recorder revision >= 3)
        self.calls = None                    # the trace's syscall table (None: the built-in one)

    def add(self, ev: Event, shown: bool) -> None:
        prefix = self.names.prefix(ev)
        self.names.observe(ev)
        if not shown:
            return
        held = self.held.get(ev.hart)
        if held is not None and not (ev.kind in INSIDE_A_CALL and ev.pid == held.ev.pid):
            del self.held[ev.hart]
            if ev.kind == Kind.SYSCALL_EXIT and ev.fields["num"] == held.ev.fields["num"] and ev.pid == held.ev.pid:
                held.finish(ev)
                self._drain()
                return
            held.finish(None)
        if ev.kind == Kind.SYSCALL_ENTER:
            h = _Held(prefix, ev, self.exec_argc, self.calls)
            self.held[ev.hart] = h
            self.queue.append(h)
        elif ev.kind == Kind.SYSCALL_EXIT:
            self.queue.append(f"{prefix} <... {syscall_name_safe(ev.fields['num'], self.calls)} resumed>"
                              f"{returned_text(ev, self.exec_argc, self.calls)}")
        else:
            self.queue.append(f"{prefix} {describe_safely(ev, self.symbolize)}")
        if len(self.queue) > MAX_HELD_LINES:
            self._release_oldest()
        self._drain()

    def finish(self) -> None:
        for h in self.held.values():
            h.finish(None)
        self.held.clear()
        self._drain()

    def _release_oldest(self) -> None:
        for hart, h in list(self.held.items()):
            if h is self.queue[0]:
                h.finish(None)
                del self.held[hart]

    def _drain(self) -> None:
        q = self.queue
        while q:
            head = q[0]
            if isinstance(head, _Held):
                if head.text is None:
                    return
                head = head.text
            self.out.write(head + "\n")
            q.popleft()


def _jsonable(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def event_json(ev: Event, names: ProcessNames, calls=None) -> str:
    d = ev.to_dict()
    if ev.pid in names.names:
        d["process"] = names.names[ev.pid]
    if ev.kind in (Kind.SYSCALL_ENTER, Kind.SYSCALL_EXIT):
        d["name"] = syscall_name_safe(ev.fields["num"], calls)
    return json.dumps(_jsonable(d))


def dump_header(path, out: TextIO | None = None) -> int:
    """`rvtrace dump --header`: how the trace was recorded (rvtrace/trace/settings.py)."""
    from rvtrace.trace.settings import settings_text
    with TraceReader(path) as trace:
        (out or sys.stdout).write(settings_text(trace.header, len(trace.snapshots)) + "\n")
    return 0


def dump(path, out: TextIO | None = None, *, pid: int | None = None, kinds: str | None = None,
         as_json: bool = False, err: TextIO | None = None) -> int:
    """Write the trace at `path` to `out` (stdout); return the exit code (warnings go to `err`)."""
    out, err = out or sys.stdout, err or sys.stderr
    wanted = parse_kinds(kinds)
    with TraceReader(path) as trace:
        text = None if as_json else TextDump(out, KernelSymbols(trace.header))
        if text is not None:
            revision = trace.header.metadata.get("recorder_revision")
            text.exec_argc = not (isinstance(revision, int) and revision < EXEC_ARGC_REVISION)
            text.calls = table_of(trace.header)
        names = text.names if text else ProcessNames()
        try:
            for ev in trace:
                shown = ((wanted is None or ev.kind in wanted)
                         and (pid is None or ev.pid == pid
                              or ev.kind == Kind.SWITCH and pid in (ev.fields["from_pid"], ev.fields["to_pid"])))
                if text:
                    text.add(ev, shown)
                else:
                    if shown:
                        out.write(event_json(ev, names, table_of(trace.header)) + "\n")
                    names.observe(ev)
        finally:            # a damaged chunk ends the loop: still print what came before it
            if text:
                text.finish()
        if trace.problem:
            err.write(f"rvtrace: warning: {trace.problem}\n")
        # A damaged trace's text is incomplete in a way a script must hear about; a killed
        # recording's prefix is all there is, and printing it is a success.
        return 1 if trace.damaged else 0
