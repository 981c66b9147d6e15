"""`rvtrace diff A.mp B.mp`: where two runs of one program part ways, and what followed.

Alignment is per process: the k-th action of pid P (a system call entered
or returned, a fault, fork/exec/exit, a console write; runlog.ACTION_KINDS)
in one run is the k-th action of pid P in the other. Walking both runs'
global orders of these labels side by side, the first position where they
name different labels is where the runs part: up to there every process
had done the same things in the same order.

What led there is read from each run's own events between the last common
action and its first different one: which hart switched to which process
(and why the previous one left it), or which hart the scheduler gave a
turn. That is what the recording shows; it names the scheduler decisions
and timings involved, not a counterfactual proof that one of them alone
caused the split.

Exit status as diff(1): 0 identical, 1 different, 2 trouble (a UserError).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

from rvtrace.analysis.runlog import RunLog
from rvtrace.trace.events import DECISIONS, SWITCH_REASONS, Event, Kind, name_of
from rvtrace.trace.text import summarize_sleep

TIMER = 5              # scause of a supervisor timer interrupt
CONTEXT = 3            # actions shown on each side of the divergence


@dataclass
class Side:
    """One run's view of the divergence."""
    log: RunLog
    label: tuple[int, int] | None = None     # (pid, k) of its first different action
    event: Event | None = None
    common: Event | None = None              # its last action before the divergence
    lead: list[str] = field(default_factory=list)      # what led there, in words
    decision: str = ""                        # the decision or timing named as the turning point


@dataclass
class DiffResult:
    identical: bool
    same_order: bool = True
    index: int | None = None                  # position in the action order where they part
    a: Side | None = None
    b: Side | None = None
    summary: str = ""
    output_a: bytes = b""
    output_b: bytes = b""
    first_output_difference: int | None = None
    processes: dict = field(default_factory=dict)     # pid -> first difference in its own actions
    timing: str = ""


def same_action(x: Event, y: Event) -> bool:
    """The same thing done: kind and payload, not when or on which hart."""
    return x.kind == y.kind and x.pid == y.pid and x.fields == y.fields


def diff_runs(a: RunLog, b: RunLog) -> DiffResult:
    raw_a = [(e.kind, e.icount, e.hart, e.pid, e.fields) for e in a.events]
    raw_b = [(e.kind, e.icount, e.hart, e.pid, e.fields) for e in b.events]
    if raw_a == raw_b:
        return DiffResult(identical=True, output_a=a.output, output_b=b.output)
    acts_a, acts_b = a.actions(), b.actions()
    r = DiffResult(identical=False, output_a=a.output, output_b=b.output)
    r.first_output_difference = _first_difference(r.output_a, r.output_b)
    r.processes = _process_differences(a, b, acts_a, acts_b)
    i = 0
    while i < len(acts_a) and i < len(acts_b) and acts_a[i][0] == acts_b[i][0]:
        i += 1
    if i == len(acts_a) == len(acts_b):
        r.timing = _timing_difference(a, b)
        return r
    r.same_order = False
    r.index = i
    r.a, r.b = Side(a), Side(b)
    for side, acts in ((r.a, acts_a), (r.b, acts_b)):
        if i < len(acts):
            side.label, side.event = acts[i]
        side.common = acts[i - 1][1] if i > 0 else None
        _explain_side(side)
    r.summary = _summary(r)
    return r


def _first_difference(x: bytes, y: bytes) -> int | None:
    for i, (p, q) in enumerate(zip(x, y)):
        if p != q:
            return i
    return None if len(x) == len(y) else min(len(x), len(y))


def _process_differences(a: RunLog, b: RunLog, acts_a, acts_b) -> dict:
    """pid -> words on the first action in which its own sequence differs (same order aside)."""
    per_a, per_b = _per_pid(acts_a), _per_pid(acts_b)
    out = {}
    for pid in sorted(set(per_a) | set(per_b)):
        xs, ys = per_a.get(pid, []), per_b.get(pid, [])
        for k, (x, y) in enumerate(zip(xs, ys)):
            if not same_action(x, y):
                out[pid] = {"action": k, "a": a.line(x), "b": b.line(y)}
                break
        else:
            if len(xs) != len(ys):
                longer, log, which = (xs, a, "a") if len(xs) > len(ys) else (ys, b, "b")
                extra = longer[min(len(xs), len(ys))]
                out[pid] = {"action": min(len(xs), len(ys)), which: log.line(extra),
                            "a" if which == "b" else "b": "(nothing more)"}
    return out


def _per_pid(acts) -> dict[int, list[Event]]:
    out: dict[int, list[Event]] = {}
    for (pid, _), ev in acts:
        out.setdefault(pid, []).append(ev)
    return out


def _timing_difference(a: RunLog, b: RunLog) -> str:
    for x, y in zip(a.events, b.events):
        if (x.kind, x.icount, x.hart, x.pid, x.fields) != (y.kind, y.icount, y.hart, y.pid, y.fields):
            return (f"every process did the same things in the same order; the runs first differ in "
                    f"timing at event #{x.number}: A {a.line(x)} / B {b.line(y)}")
    return "every process did the same things in the same order; one run has more events at its end"


# --- what led each side to its first different action ---------------------------------------

def _explain_side(side: Side) -> None:
    log, ev = side.log, side.event
    if ev is None:
        side.decision = "run {run} ended (no more actions)"
        return
    start = side.common.number if side.common is not None else -1
    window = log.events[start + 1:ev.number + 1]
    pid, hart = ev.pid, ev.hart
    switch = _last(window, lambda e: e.kind == Kind.SWITCH and e.hart == hart and e.fields["to_pid"] == pid)
    shares = _hart_shares(log, start, ev)
    moved = switch is not None and switch.fields["from_pid"] != pid
    if shares:
        side.decision = f"run {{run}} gave {_shares_text(log, shares, ev)}"
        if moved:
            side.decision += f", and at icount {switch.icount:,} switched hart {hart} to pid {pid} " \
                             f"({_leaving(log, switch)})"
    elif moved:
        side.decision = (f"at icount {switch.icount:,} run {{run}} switched hart {hart} to pid {pid} "
                         f"({_leaving(log, switch)})")
    else:
        side.decision = (f"run {{run}} kept running {log.who(pid, ev.number)} on hart {hart} "
                         f"(no switch or scheduler decision in between)")
    jumps = [e for e in window if e.kind == Kind.SCHEDULE and e.fields["value"]
             and name_of(DECISIONS, e.fields["decision"]) == "timer-jitter"]
    if jumps:
        side.decision += (f"; virtual time jumped {sum(e.fields['value'] for e in jumps):,} ticks "
                          f"({', '.join('#' + str(e.number) for e in jumps[:4])})")
    for e in window:
        if e.kind == Kind.SWITCH:
            side.lead.append(log.line(e))
        elif e.kind == Kind.SCHEDULE and name_of(DECISIONS, e.fields["decision"]) in (
                "disk-latency", "timer-jitter") and e.fields["value"]:
            side.lead.append(log.line(e))
        elif e.kind == Kind.DISK_COMPLETE or (e.kind == Kind.INTERRUPT and e.fields["cause"] == TIMER):
            side.lead.append(log.line(e))


def _hart_shares(log: RunLog, start: int, ev: Event) -> dict[int, tuple[int, int]]:
    """hart -> (instructions, turns) the scheduler gave it between event `start` and `ev`.

    icount grows only with the running hart's instructions, so a turn's length is the distance
    from its hart-run decision to the next one."""
    begin = log.events[start].icount if start >= 0 else 0
    runs = [e for e in log.events[:ev.number + 1] if e.kind == Kind.SCHEDULE
            and name_of(DECISIONS, e.fields["decision"]) == "hart-run"]
    shares: dict[int, list[int]] = {}
    for this, nxt in zip(runs, runs[1:] + [ev]):
        a, b = max(this.icount, begin), min(nxt.icount, ev.icount)
        if b > a or (this.icount >= begin and this.number > start):
            got = shares.setdefault(this.hart, [0, 0])
            got[0] += max(b - a, 0)
            got[1] += 1 if this.number > start else 0
    return {h: (n, t) for h, (n, t) in shares.items()}


def _shares_text(log: RunLog, shares, ev: Event) -> str:
    parts = []
    for h, (n, turns) in sorted(shares.items(), key=lambda kv: -kv[1][0]):
        pid = _running_on(log, h, ev)
        who = f" (running pid {pid} {log.name_at(pid, ev.number) or ''})".replace(" )", ")") if pid else " (idle)" if pid == 0 else ""
        how = f"in {turns} turn{'s' if turns != 1 else ''}" if turns else "going on with its turn"
        parts.append(f"hart {h}{who} {n:,} instructions {how}")
    return ", ".join(parts) + " up to this action"


def _running_on(log: RunLog, hart: int, ev: Event) -> int | None:
    for s in log.stretch_list:
        if s.hart == hart and s.start <= ev.icount <= s.end:
            return s.pid
    return None


def _leaving(log: RunLog, switch: Event) -> str:
    f = switch.fields
    reason = name_of(SWITCH_REASONS, f["reason"])
    if not f["from_pid"]:
        return "from its idle scheduler"
    if reason == "sleep":
        reason = f"sleep: {summarize_sleep(f['backtrace'])}"
    return f"{log.who(f['from_pid'], switch.number)} left: {reason}"


def _ran_before(window, hart, turn) -> bool:
    return any(e.kind == Kind.SCHEDULE and e.hart == hart and e.number < turn.number for e in window)


def _last(events, test):
    for e in reversed(events):
        if test(e):
            return e
    return None


def _summary(r: DiffResult) -> str:
    return f"{r.a.decision.format(run='A')}; {r.b.decision.format(run='B')}"


# --- printing -----------------------------------------------------------------------------

def diff_command(path_a, path_b, as_json: bool = False, stream=None) -> int:
    stream = stream or sys.stdout
    a, b = RunLog(path_a), RunLog(path_b)
    r = diff_runs(a, b)
    if as_json:
        stream.write(json.dumps(to_json(r, a, b), indent=2) + "\n")
    else:
        print_diff(r, a, b, stream)
    return 0 if r.identical else 1


def print_diff(r: DiffResult, a: RunLog, b: RunLog, stream) -> None:
    w = stream.write
    if r.identical:
        return
    w(f"A: {a.path}\nB: {b.path}\n\n")
    if not r.same_order:
        w(f"The runs part after {r.index} common actions (system calls, faults, lifecycle, console "
          f"writes, each process's k-th action aligned with its k-th).\n")
        for name, side in (("A", r.a), ("B", r.b)):
            nxt = side.log.line(side.event) if side.event is not None else "(the run ended)"
            w(f"  next in {name}: {nxt}\n")
        w(f"\nDecision: {r.summary}\n")
        for name, side in (("A", r.a), ("B", r.b)):
            w(f"\nrun {name} around it:\n")
            for line in _context(side):
                w(f"  {line}\n")
            if side.lead:
                w(f"  what happened in run {name} between the last common action and this one:\n")
                for line in side.lead[-8:]:
                    w(f"    {line}\n")
    else:
        w(r.timing + "\n")
    w("\nConsequences:\n")
    if r.first_output_difference is None:
        w("  console output: the same\n")
    else:
        at = r.first_output_difference
        w(f"  console output differs from byte {at}:\n")
        w(f"    A: {_quote(r.output_a)}\n    B: {_quote(r.output_b)}\n")
    if r.processes:
        for pid, d in r.processes.items():
            w(f"  {a.who(pid)}: its own actions differ from its action {d['action']}: "
              f"A {d.get('a')} / B {d.get('b')}\n")
    else:
        w("  every process did the same things, only in another global order\n")


def _context(side: Side) -> list[str]:
    acts = side.log.actions()
    at = side.event.number if side.event is not None else len(side.log.events)
    idx = next((i for i, (_, e) in enumerate(acts) if e.number >= at), len(acts))
    lines = []
    for i in range(max(0, idx - CONTEXT), min(len(acts), idx + CONTEXT + 1)):
        mark = "=>" if i == idx else "  "
        lines.append(f"{mark} {side.log.line(acts[i][1])}")
    return lines


def _quote(data: bytes) -> str:
    return json.dumps(data.decode("utf-8", "replace"))


def to_json(r: DiffResult, a: RunLog, b: RunLog) -> dict:
    out = {"a": str(a.path), "b": str(b.path), "identical": r.identical}
    if r.identical:
        return out
    out["same_order"] = r.same_order
    if not r.same_order:
        out["divergence"] = {
            "index": r.index, "decision": r.summary,
            **{name: _side_json(side) for name, side in (("a", r.a), ("b", r.b))}}
    else:
        out["timing"] = r.timing
    out["output"] = {"a": r.output_a.decode("utf-8", "replace"), "b": r.output_b.decode("utf-8", "replace"),
                     "first_difference": r.first_output_difference}
    out["processes"] = {str(pid): d for pid, d in r.processes.items()}
    return out


def _side_json(side: Side) -> dict:
    ev = side.event
    return {"event": ev.number if ev else None, "icount": ev.icount if ev else None,
            "hart": ev.hart if ev else None, "pid": ev.pid if ev else None,
            "text": side.log.line(ev) if ev else None,
            "last_common_event": side.common.number if side.common else None,
            "context": _context(side), "lead": side.lead}
