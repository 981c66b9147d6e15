"""Event commands: events, info event, output."""

from __future__ import annotations

from rvtrace.debugger import expr
from rvtrace.debugger.breakpoints import parse_spec
from rvtrace.debugger.commands import INFO, command
from rvtrace.debugger.eventtext import ALL_FIELDS, condition_fields, pid_style, process_label
from rvtrace.errors import UserError
from rvtrace.kernel.syscalls import format_value, quote, syscall_name
from rvtrace.trace.events import Event, Kind

DEFAULT_COUNT = 10
MAX_LISTED = 200

EVENTS_DETAILS = """
  events                 the current event and the 9 after it
  events N               N events from the current one
  events -N              N events up to the current one
  events around [N]      N events (default 10) on each side of the current one
  events FILTER          every matching event of the trace (up to 200), e.g.
                           events exec          events write if pid == 3
                           events pagefault cow events if name == "echo"
                         FILTER is what `break` takes, or `if COND` alone.
The current event is marked `=>`.
"""


@command("events", "ev", usage="events [N | -N | around [N] | FILTER]", group="events",
         summary="list events: from here, around here, or those matching a filter",
         details=EVENTS_DETAILS, completes=("break",))
def cmd_events(session, arg):
    arg = arg.strip()
    here = session.event_number
    n = len(session.trace)
    if not arg or _is_int(arg):
        count = int(arg) if arg else DEFAULT_COUNT
        if count < 0:
            start, stop = max(here + count + 1, 0), here + 1
        else:
            start = max(here, 0)
            stop = start + count
        _show_range(session, start, min(stop, n))
        return
    words = arg.split()
    if words[0] == "around":
        count = int(words[1]) if len(words) > 1 and _is_int(words[1]) else DEFAULT_COUNT
        _show_range(session, max(here - count, 0), min(here + count + 1, n))
        return
    _show_filtered(session, _filter(session, arg))


def _is_int(text: str) -> bool:
    try:
        int(text)
        return True
    except ValueError:
        return False


def _filter(session, arg):
    """A predicate over events from `events FILTER` (a break spec, or `if COND`)."""
    if arg.startswith("if ") or arg == "if":
        cond = expr.parse(arg[2:], ALL_FIELDS)
        return lambda ev: cond(session.fields_of(ev))
    bp = parse_spec(arg, None, calls=session.calls)
    if bp.is_pc:
        raise UserError("events lists events; for an instruction address use `break *ADDR` and `continue`")
    session.resolve_output_breakpoint(bp)

    def match(ev):
        if ev.kind not in bp.kinds:
            return False
        ok = ev.number in bp.events if bp.output_text is not None else bp.match(ev)
        return ok and (bp.condition is None or bp.condition(session.fields_of(ev)))
    match.kinds = bp.kinds
    return match


def _show_range(session, start, stop):
    if start >= stop:
        session.printer.line("No events there.")
        return
    for ev in session.trace.events(start, stop):
        session.show_event(ev, marker=ev.number == session.event_number)


def _show_filtered(session, match):
    shown = total = 0
    for ev in session.iter_matching(match):
        total += 1
        if shown < MAX_LISTED:
            session.show_event(ev, marker=ev.number == session.event_number)
            shown += 1
    if total == 0:
        session.printer.line("No matching events.")
    elif total > shown:
        session.printer.line(f"... and {total - shown} more ({total} matching events)")


@command("event", "ev", usage="info event", table=INFO,
         summary="the current event in full: every field, and the other half of a system call")
def cmd_info_event(session, arg):
    ev = session.current_event_or_error()
    p = session.printer
    session.show_event(ev)
    p.line(f"  kind       {ev.kind_name} ({ev.family})")
    p.line(f"  icount     {ev.icount}")
    p.line(f"  hart       {ev.hart}")
    p.line([("", "  process    "), (pid_style(ev.pid), process_label(ev.pid, session.name_at(ev.pid, ev.number)))])
    for key, value in _field_rows(ev, session.calls):
        p.line(f"  {key:<10} {value}")
    other = session.matching_syscall_half(ev)
    if other is not None:
        label = "returns" if other.number > ev.number else "entered"
        p.line(f"  {label:<10} at event #{other.number} @{other.icount}")


def _field_rows(ev: Event, calls):
    f = ev.fields
    if ev.kind == Kind.SYSCALL_ENTER:
        s = calls.signature(f.get("num"))
        yield "syscall", f"{syscall_name(f['num'], calls)} ({f['num']})"
        args = f.get("args") or []
        for i, value in enumerate(args):
            name, kind = (s.args[i].name, s.args[i].kind) if s and i < len(s.args) else (f"arg{i}", "int")
            yield name, format_value(kind, value)
        return
    if ev.kind == Kind.SYSCALL_EXIT:
        yield "syscall", f"{syscall_name(f['num'], calls)} ({f['num']})"
        yield "ret", f.get("ret")
        if isinstance(f.get("out"), bytes):
            yield "out", quote(f["out"])
        return
    words = condition_fields(ev, None, calls=calls)         # enumerations as words (cause store, reason sleep, ...)
    for key, value in f.items():
        if isinstance(value, bytes):
            value = quote(value)
        elif isinstance(value, int) and key in ("va", "pc", "code"):
            value = hex(value)
        elif key in ("cause", "resolution", "reason", "decision", "how", "mode") and words.get(key) != value:
            value = f"{words.get(key)} ({value})"
        yield key, value


@command("trace", usage="info trace", table=INFO,
         summary="how this trace was recorded: program, seed, harts, copy-on-write, kernel and disk, recorder, "
                 "snapshots")
def cmd_info_trace(session, arg):
    from rvtrace.trace.settings import settings
    p = session.printer
    rows = settings(session.trace.header, len(session.trace.snapshots)) + [
        ("events", f"{len(session.trace)}, instructions 0 to {session.engine.end_icount}")]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        p.line(f"{label.ljust(width)}  {value}")


@command("output", usage="output [PID]", group="events",
         summary="the console text printed up to now, each character coloured by the process that wrote it")
def cmd_output(session, arg):
    only = None
    if arg.strip():
        try:
            only = int(arg.strip())
        except ValueError:
            raise UserError(f"output [PID]: {arg.strip()!r} is not a pid") from None
    pieces = session.facts.console_until(session.event_number)
    if not pieces:
        session.printer.line("(nothing printed yet)")
        return
    line: list[tuple[str, str]] = []
    for _, pid, data in pieces:
        if only is not None and pid != only:
            continue
        text = data.decode("utf-8", "replace")
        for i, part in enumerate(text.split("\n")):
            if i:
                session.printer.line(line)
                line = []
            if part:
                line.append((pid_style(pid), part))
    if line:
        session.printer.line(line)
