"""`explain "TEXT"`: who wrote these bytes, when, what everyone else was doing, and why then.

TEXT is looked for in the console output as it appeared; when it is not
there as one piece (another process's bytes came in between) it is looked
for in each process's own output. For every byte: the process that wrote
it and the console-out event (each change of writer is named). Meanwhile:
every other process's state over that stretch, from the recorded switch
events -- running on a hart, or switched out (why, and for a sleep the
kernel backtrace and what it waits for) -- and what it did then. Then the
chain that set the order: for each other process that wrote to the console,
where it was when TEXT began and the events that brought it to its first
byte (its system call in progress, disk requests, sleeps and wake-ups),
with event numbers to `goto`.

Everything comes from recorded events; a state the events do not show
(a process never switched in or out, say) is said to be unknown.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

from rvtrace.analysis.runlog import ConsoleByte, RunLog
from rvtrace.errors import UserError
from rvtrace.kernel.syscalls import syscall_name
from rvtrace.trace.events import SWITCH_REASONS, Event, Kind, name_of
from rvtrace.trace.text import summarize_sleep

CHAIN_KINDS = frozenset({Kind.SYSCALL_ENTER, Kind.SYSCALL_EXIT, Kind.DISK_REQUEST, Kind.DISK_COMPLETE,
                         Kind.SWITCH, Kind.EXEC, Kind.EXIT})


@dataclass
class Segment:
    pid: int
    text: bytes
    events: list[int]            # console-out event numbers
    first_icount: int
    last_icount: int
    hart: int


@dataclass
class Explanation:
    text: str
    where: str                   # "console" or "the output of pid N"
    start: int                   # offset in the console output of the first byte
    segments: list[Segment]
    meanwhile: dict = field(default_factory=dict)    # pid -> [lines]
    chains: dict = field(default_factory=dict)       # pid -> {"summary": str, "events": [lines]}
    interleaved_with: list[int] = field(default_factory=list)


def find_bytes(log: RunLog, text: bytes) -> tuple[list[ConsoleByte], str]:
    """The console bytes that make up `text`: as one piece of the console, else of one pid's output."""
    out = log.output
    at = out.find(text)
    if at >= 0:
        return log.console[at:at + len(text)], "console"
    for pid in log.pids:
        mine = [c for c in log.console if c.pid == pid]
        at = bytes(c.byte for c in mine).find(text)
        if at >= 0:
            return mine[at:at + len(text)], f"the output of pid {pid}"
    raise UserError(f"{text.decode('utf-8', 'replace')!r} is not in the console output of this run "
                    f"(nor in any one process's output); `output` shows what was printed")


def segments_of(chosen: list[ConsoleByte]) -> list[Segment]:
    segs: list[Segment] = []
    for c in chosen:
        if segs and segs[-1].pid == c.pid:
            s = segs[-1]
            s.text += bytes([c.byte])
            if s.events[-1] != c.event:
                s.events.append(c.event)
            s.last_icount = c.icount
        else:
            segs.append(Segment(c.pid, bytes([c.byte]), [c.event], c.icount, c.icount, c.hart))
    return segs


def explain(log: RunLog, text: str) -> Explanation:
    raw = text.encode()
    if not raw:
        raise UserError('explain what? give the text in quotes: explain "parent waiting"')
    chosen, where = find_bytes(log, raw)
    segs = segments_of(chosen)
    ex = Explanation(text, where, chosen[0].index, segs)
    first = log.events[chosen[0].event]
    last = log.events[chosen[-1].event]
    writers = {s.pid for s in segs}
    between = {c.pid for c in log.console[chosen[0].index:chosen[-1].index + 1]} - writers
    ex.interleaved_with = sorted(between)
    for pid in log.pids:
        if pid in writers and len(writers) == 1:
            continue
        ex.meanwhile[pid] = _meanwhile(log, pid, first, last)
    for pid in sorted({c.pid for c in log.console} - writers):
        ex.chains[pid] = _chain(log, pid, first)
    return ex


# --- meanwhile ---------------------------------------------------------------------------------

def state_at(log: RunLog, pid: int, number: int) -> str:
    """What `pid` was doing just before event `number`, from the last switch that involved it."""
    created = next((e for e in log.events if e.kind == Kind.FORK and e.fields["child"] == pid), None)
    if created is not None and created.number > number:
        return "not created yet"
    for ev in reversed(log.events[:number]):
        if ev.kind == Kind.EXIT and ev.pid == pid:
            return f"exited (#{ev.number})"
        if ev.kind != Kind.SWITCH:
            continue
        f = ev.fields
        if f["to_pid"] == pid:
            return f"running on hart {ev.hart} (switched in at #{ev.number})"
        if f["from_pid"] == pid:
            reason = name_of(SWITCH_REASONS, f["reason"])
            trace = " <- ".join(f["backtrace"] or []) or "no backtrace recorded"
            if reason == "sleep":
                return (f"asleep, waiting for {summarize_sleep(f['backtrace'])} (switched out on hart "
                        f"{ev.hart} at #{ev.number}; kernel backtrace {trace})")
            if reason in ("timer", "yield"):
                return f"runnable, waiting for a hart (switched out on hart {ev.hart} at #{ev.number}: {reason})"
            return f"switched out on hart {ev.hart} at #{ev.number} ({reason}; kernel backtrace {trace})"
    seen = next((e for e in log.events[:number] if e.pid == pid), None)
    if seen is not None and pid == seen.pid:
        return f"running on hart {seen.hart} (no switch recorded yet; seen at #{seen.number})"
    return "unknown (no event of it recorded before this point)"


def _meanwhile(log: RunLog, pid: int, first: Event, last: Event) -> list[str]:
    lines = [f"at the first byte: {state_at(log, pid, first.number)}"]
    call = _open_call(log, pid, first.number)
    if call is not None:
        lines.append(f"inside {log.line(call)}")
    for ev in log.events[first.number:last.number + 1]:
        if ev.kind == Kind.SWITCH and pid in (ev.fields["to_pid"], ev.fields["from_pid"]):
            lines.append(f"then {log.line(ev)}")
        elif ev.pid == pid and ev.kind in (Kind.SYSCALL_ENTER, Kind.DISK_REQUEST, Kind.EXEC, Kind.EXIT):
            lines.append(f"then {log.line(ev)}")
    return lines


def _open_call(log: RunLog, pid: int, number: int) -> Event | None:
    """The system call `pid` had entered and not yet returned from before event `number`."""
    for ev in reversed(log.events[:number]):
        if ev.pid != pid:
            continue
        if ev.kind == Kind.SYSCALL_EXIT:
            return None
        if ev.kind == Kind.SYSCALL_ENTER:
            return ev
    return None


# --- the chain ---------------------------------------------------------------------------------

def _chain(log: RunLog, pid: int, first: Event) -> dict:
    """Where `pid` was when TEXT began and what brought it to its first console byte after (or
    before) that."""
    mine = [c for c in log.console if c.pid == pid]
    after = [c for c in mine if c.event >= first.number]
    before = [c for c in mine if c.event < first.number]
    call = _open_call(log, pid, first.number)
    state = state_at(log, pid, first.number)
    if not after:
        last = log.events[before[-1].event]
        return {"summary": f"{log.who(pid, last.number)} had written all its output before "
                           f"(last byte at #{last.number})", "events": []}
    target = log.events[after[0].event]
    begin = call.number if call is not None else first.number
    events = [log.line(e) for e in log.events[begin:target.number + 1] if _in_chain(e, pid)]
    doing = f"inside {syscall_name(call.fields['num'], log.calls)} (entered at #{call.number})" if call else "between calls"
    summary = (f"{log.who(pid, first.number)} was {doing} and {state} when the text began; "
               f"its first byte after that came at #{target.number} (@{target.icount:,})")
    sleeps = [e for e in log.events[begin:target.number + 1]
              if e.kind == Kind.SWITCH and e.fields["from_pid"] == pid
              and name_of(SWITCH_REASONS, e.fields["reason"]) == "sleep"]
    if sleeps:
        why = sorted({summarize_sleep(e.fields["backtrace"]) for e in sleeps})
        summary += (f"; on the way it slept {len(sleeps)} time(s) ({', '.join(why)}: "
                    f"{', '.join('#' + str(e.number) for e in sleeps)})")
    return {"summary": summary, "events": events}


def _in_chain(ev: Event, pid: int) -> bool:
    if ev.kind == Kind.SWITCH:
        return pid in (ev.fields["to_pid"], ev.fields["from_pid"])
    if ev.kind == Kind.CONSOLE_OUT:
        return ev.pid == pid
    return ev.pid == pid and ev.kind in CHAIN_KINDS


# --- printing ----------------------------------------------------------------------------------

def print_explanation(ex: Explanation, log: RunLog, stream) -> None:
    w = stream.write
    w(f"{json.dumps(ex.text)} ({len(ex.text.encode())} bytes, found in {ex.where}"
      f"{', console offset ' + str(ex.start) if ex.where == 'console' else ''}):\n")
    if len(ex.segments) > 1:
        w(f"  the writer changes {len(ex.segments) - 1} time(s):\n")
    for i, s in enumerate(ex.segments):
        evs = _ranges(s.events)
        w(f"  {json.dumps(s.text.decode('utf-8', 'replace'))} written by {log.who(s.pid, s.events[0])} "
          f"on hart {s.hart}, console-out {evs} (@{s.first_icount:,}..@{s.last_icount:,})\n")
        if i > 0:
            w(f"      {_change_of_writer(log, ex.segments[i - 1], s)}\n")
    if ex.interleaved_with:
        others = ", ".join(log.who(p) for p in ex.interleaved_with)
        w(f"  on the console, bytes of {others} came in between\n")
    if ex.meanwhile:
        w("\nMeanwhile:\n")
        for pid, lines in ex.meanwhile.items():
            w(f"  {log.who(pid)}:\n")
            for line in lines[:12]:
                w(f"    {line}\n")
            if len(lines) > 12:
                w(f"    ... {len(lines) - 12} more\n")
    if ex.chains:
        w("\nWhat set the order:\n")
        for pid, chain in ex.chains.items():
            w(f"  {chain['summary']}.\n")
            for line in chain["events"][:30]:
                w(f"    {line}\n")
            if len(chain["events"]) > 30:
                w(f"    ... {len(chain['events']) - 30} more\n")
        firsts = [s.events[0] for s in ex.segments]
        w(f"\ngoto {firsts[0]} (first byte)" + "".join(
            f", goto {n}" for n in firsts[1:4]) + " to look at the machine there\n")


def _ranges(numbers: list[int]) -> str:
    if len(numbers) <= 3:
        return ", ".join(f"#{n}" for n in numbers)
    return f"#{numbers[0]}..#{numbers[-1]} ({len(numbers)} events)"


def _change_of_writer(log: RunLog, before: Segment, now: Segment) -> str:
    """Why the writer changed: where the previous writer was, and what its hart got meanwhile."""
    first = now.events[0]
    text = f"the writer changes: meanwhile {log.who(before.pid, first)} was " \
           f"{state_at(log, before.pid, first)}"
    shares = log.hart_instructions(before.last_icount, now.first_icount)
    if shares is not None:
        total = now.first_icount - before.last_icount
        text += (f"; of the {total:,} instructions in between, hart {before.hart} ran "
                 f"{shares.get(before.hart, 0):,} and hart {now.hart} {shares.get(now.hart, 0):,}")
    return text


def explain_command(path, text: str, as_json: bool = False, stream=None) -> int:
    stream = stream or sys.stdout
    log = RunLog(path)
    ex = explain(log, text)
    if as_json:
        stream.write(json.dumps(to_json(ex, log), indent=2) + "\n")
    else:
        print_explanation(ex, log, stream)
    return 0


def to_json(ex: Explanation, log: RunLog) -> dict:
    return {"text": ex.text, "found_in": ex.where, "console_offset": ex.start,
            "segments": [{"pid": s.pid, "name": log.name_at(s.pid, s.events[0]),
                          "text": s.text.decode("utf-8", "replace"), "events": s.events, "hart": s.hart,
                          "first_icount": s.first_icount, "last_icount": s.last_icount} for s in ex.segments],
            "interleaved_with": ex.interleaved_with,
            "meanwhile": {str(p): lines for p, lines in ex.meanwhile.items()},
            "chains": {str(p): c for p, c in ex.chains.items()}}
