"""`timeline`: one lane per hart -- which process ran when -- with marks for what happened.

    icount 380,000 .. 480,000, 1,000 instructions a column
    h0 |2222222233333333333222222222222222222222222222...|
       |  s s  f  s  s       ssssssss ssss sss   i  i  |
    h1 |................1111111........................|

A lane's column shows the process that ran longest in that column's stretch
of instructions (`.` the hart's scheduler or idle loop); the mark row under
it shows the most telling event in the column: `F` page fault, `X`
fork/exec/exit, `w` a console write, `s` another system call, `d` disk, `i`
an interrupt. The stretches come from the recorded switch events
(runlog.RunLog.stretches); the same model feeds the Perfetto and SVG exports.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass

from rvtrace.analysis.runlog import RunLog, Stretch
from rvtrace.errors import UserError
from rvtrace.trace.events import Event, Kind

PID_CHARS = "123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
MARK_ORDER = "FXwsdi"          # which mark wins a column, first first
WRITE = 16


def mark_of(ev: Event) -> str | None:
    k = ev.kind
    if k == Kind.PAGE_FAULT:
        return "F"
    if k in (Kind.FORK, Kind.EXEC, Kind.EXIT):
        return "X"
    if k == Kind.SYSCALL_ENTER:
        return "w" if ev.fields["num"] == WRITE else "s"
    if k in (Kind.DISK_REQUEST, Kind.DISK_COMPLETE):
        return "d"
    if k == Kind.INTERRUPT:
        return "i"
    return None


def pid_char(pid: int) -> str:
    if not pid:
        return "."
    return PID_CHARS[(pid - 1) % len(PID_CHARS)]


@dataclass
class Window:
    start: int
    end: int

    @property
    def span(self) -> int:
        return max(self.end - self.start, 1)


def window_of(log: RunLog, start: int | None, end: int | None) -> Window:
    last = log.events[-1].icount if log.events else 0
    a = 0 if start is None else start
    b = last if end is None else end
    if b <= a:
        raise UserError(f"the timeline needs FROM < TO (instruction counts; the run ends at @{last:,})")
    return Window(a, b)


def lanes(log: RunLog, win: Window, width: int) -> dict[int, tuple[str, str]]:
    """hart -> (lane text, mark text), each `width` columns."""
    per_col = win.span / width
    out = {}
    by_hart: dict[int, list[Stretch]] = {h: [] for h in range(log.harts)}
    for s in log.stretches():
        by_hart.setdefault(s.hart, []).append(s)
    for h, stretches in sorted(by_hart.items()):
        time_of = [dict() for _ in range(width)]       # column -> pid -> instructions
        for s in stretches:
            a, b = max(s.start, win.start), min(s.end, win.end)
            if b <= a:
                continue
            c0, c1 = int((a - win.start) / per_col), min(int((b - 1 - win.start) / per_col), width - 1)
            for c in range(c0, c1 + 1):
                lo = max(a, win.start + c * per_col)
                hi = min(b, win.start + (c + 1) * per_col)
                time_of[c][s.pid] = time_of[c].get(s.pid, 0) + max(hi - lo, 0)
        lane = "".join(pid_char(max(t, key=t.get)) if t else " " for t in time_of)
        marks = [" "] * width
        for ev in log.events:
            if ev.hart != h or not win.start <= ev.icount <= win.end:
                continue
            m = mark_of(ev)
            if m is None:
                continue
            c = min(int((ev.icount - win.start) / per_col), width - 1)
            if marks[c] == " " or MARK_ORDER.index(m) < MARK_ORDER.index(marks[c]):
                marks[c] = m
        out[h] = (lane, "".join(marks))
    return out


def render(log: RunLog, start: int | None = None, end: int | None = None, width: int | None = None) -> str:
    if width is None:
        width = shutil.get_terminal_size((100, 24)).columns
    win = window_of(log, start, end)
    cols = max(width - 6, 10)
    rows = [f"icount {win.start:,} .. {win.end:,}, {win.span / cols:,.0f} instructions a column"]
    for h, (lane, marks) in lanes(log, win, cols).items():
        rows.append(f"h{h:<2} |{lane}|")
        rows.append(f"    |{marks}|")
    pids = sorted({s.pid for s in log.stretches() if s.pid and s.end > win.start and s.start < win.end})
    names = ", ".join(f"{pid_char(p)} = {log.who(p)}" for p in pids)
    rows.append(f"lanes: {names}{', ' if names else ''}. = scheduler/idle")
    rows.append("marks: F page fault, X fork/exec/exit, w write, s other system call, d disk, i interrupt")
    return "\n".join(rows)


def timeline_command(path, start=None, end=None, width=None, stream=None) -> int:
    stream = stream or sys.stdout
    stream.write(render(RunLog(path), start, end, width) + "\n")
    return 0
