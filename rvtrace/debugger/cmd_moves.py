"""Moving through time, with gdb's words and meanings: continue, reverse-continue; step, next,
until, advance, finish and reverse-step, reverse-next, reverse-finish by source line; stepi,
nexti and their reverse forms by instruction; step-event/se and reverse-step-event/rse by
event; goto, start, end, when.

Every move is asked of the replay session, which owns the position and does
the searching; these commands say what the user meant and show where it
ended. Ctrl-C stops a long move where it got to, and says where.
"""

from __future__ import annotations

from rvtrace.debugger.commands import command
from rvtrace.errors import UserError
from rvtrace.replay import Interrupted


def _count(arg: str, what: str = "a count") -> int:
    arg = arg.strip()
    if not arg:
        return 1
    try:
        n = int(arg, 0)
    except ValueError:
        raise UserError(f"expected {what}, got {arg!r}") from None
    if n < 1:
        raise UserError(f"expected a positive count, got {n}")
    return n


# --- continue --------------------------------------------------------------------------

@command("continue", "c", "cont", "fg", usage="continue [N]", group="moving",
         summary="run forwards to the next breakpoint (the N-th one with N)",
         details="Stops at the first enabled breakpoint or watchpoint after the current point; "
                 "without any, runs to the end of the trace.")
def cmd_continue(session, arg):
    n = _count(arg)
    for i in range(n):
        if not _run(session, forward=True, quiet=i < n - 1):
            break


@command("reverse-continue", "rc", usage="reverse-continue [N]", group="moving",
         summary="run backwards to the previous breakpoint",
         details="Stops at the last enabled breakpoint or watchpoint before the current point; "
                 "without any, goes back to the first event.")
def cmd_reverse_continue(session, arg):
    n = _count(arg)
    for i in range(n):
        if not _run(session, forward=False, quiet=i < n - 1):
            break


def _run(session, forward: bool, quiet: bool = False) -> bool:
    """One continue; False when it ran into an end of the trace (or was interrupted). `quiet`: a
    stop on the way to the N-th breakpoint of `continue N` (counted, not shown)."""
    n = len(session.trace)
    if n == 0:
        raise UserError("the trace holds no events")
    at_end = session.event_number >= n - 1 and session.at_event
    at_start = session.event_number <= 0 and (session.at_event or session.event_number < 0)
    if forward and at_end:
        if session.trace.problem:
            raise UserError(f"at the last readable event ({n - 1}); the rest of the trace is missing "
                            f"({session.trace.problem})")
        raise UserError(f"already at the end of the trace (event {n - 1}); nothing to continue to. "
                        "Try `reverse-continue` or `start`")
    if not forward and at_start:
        raise UserError("already at the start of the trace (event 0); nothing before it. "
                        "Try `continue` or `end`")
    stops = session.stop_set()
    stop = moving(session, lambda: session.engine.search(stops, forward)) if stops else None
    if stop is INTERRUPTED:
        return False
    if stop is not None:
        _hit(session, stop.key, _why(stop), quiet)
        return True
    if forward:
        session.set_event(n - 1)
        if session.trace.problem:
            # What the search waits for may lie in the part that is missing: not an answer.
            session.report_position(why="No more breakpoints in the readable part: at its last event.")
            raise UserError(f"the search stopped where the trace stops being readable ({session.trace.problem})")
        session.report_position(why="No more breakpoints ahead: at the end of the trace.")
    else:
        session.set_event(0)
        session.report_position(why="No more breakpoints behind: at the first event of the trace.")
    return False


INTERRUPTED = object()


def moving(session, move):
    """Run a move; Ctrl-C stops it where it got to (the replay moved there): say where, as gdb does."""
    try:
        return move()
    except Interrupted as exc:
        session.failed = True
        session.printer.line([("class:stop", f"{exc} (Ctrl-C)")])
        session.report_position()
        return INTERRUPTED


def _why(stop) -> str | None:
    if stop.event is not None or (stop.old is None and stop.new is None):
        return None
    if not stop.old:
        return f"Value = {_hexbytes(stop.new)}"
    return f"Old value = {_hexbytes(stop.old)}\nNew value = {_hexbytes(stop.new)}"


def _hexbytes(data: bytes | None) -> str:
    if not data:
        return "?"
    if len(data) in (1, 2, 4, 8):
        return hex(int.from_bytes(data, "little"))
    return data.hex(" ")


def _hit(session, bp, why=None, quiet=False):
    if bp is not None:
        bp.hits += 1
    if not quiet:
        session.report_position(bp, why)
    if bp is not None and bp.temporary:
        session.breakpoints.delete([bp.number])


# --- one event -------------------------------------------------------------------------------

@command("step-event", "se", usage="step-event [N]", group="moving",
         summary="go to the next event (N events on)")
def cmd_step_event(session, arg):
    n = _count(arg)
    target = session.event_number + n
    last = len(session.trace) - 1
    if session.event_number >= last and session.at_event:
        raise UserError(f"already at the last event ({last}); nothing after it. Try `reverse-step-event`")
    session.set_event(min(target, last))
    session.report_position()


@command("reverse-step-event", "rse", usage="reverse-step-event [N]", group="moving",
         summary="go to the previous event (N events back)")
def cmd_reverse_step_event(session, arg):
    n = _count(arg)
    if session.event_number < 0 or (session.event_number == 0 and session.at_event):
        raise UserError("already at the first event (0); nothing before it. Try `step-event`")
    # Between events, the event at or before the position is the first one back.
    target = session.event_number - n + (0 if session.at_event else 1)
    session.set_event(max(target, 0))
    session.report_position()


# --- source lines ----------------------------------------------------------------------------

def _lines(session, arg, move) -> None:
    """N line moves of the current hart, then where we are (Ctrl-C: where it got to)."""
    for _ in range(_count(arg)):
        if moving(session, move) is INTERRUPTED:
            return
    session.report_position()


@command("step", "s", usage="step [N]", group="moving",
         summary="run to the next source line of the current hart, entering calls",
         details="As gdb's step: a call into a function with line information is entered, one "
                 "without it (assembly) is stepped over, and so are system calls and traps. "
                 "Event by event: `step-event` (se).")
def cmd_step(session, arg):
    _lines(session, arg, session.engine.step)


@command("next", "n", usage="next [N]", group="moving",
         summary="run to the next source line of the current hart, stepping over calls")
def cmd_next(session, arg):
    _lines(session, arg, session.engine.next)


@command("reverse-step", "rs", usage="reverse-step [N]", group="moving",
         summary="go back to the beginning of the previous source line (entering calls)",
         details="Event by event: `reverse-step-event` (rse).")
def cmd_reverse_step(session, arg):
    _lines(session, arg, session.engine.reverse_step)


@command("reverse-next", "rn", usage="reverse-next [N]", group="moving",
         summary="go back to the beginning of the previous source line, stepping back over calls")
def cmd_reverse_next(session, arg):
    _lines(session, arg, session.engine.reverse_next)


@command("until", "u", usage="until [LOCATION]", group="moving",
         summary="like next, but never back into a loop; with LOCATION: run until it is reached",
         details="LOCATION: a function, *ADDRESS or FILE:LINE, on the current hart.")
def cmd_until(session, arg):
    if arg.strip():
        return cmd_advance(session, arg)
    _lines(session, "", session.engine.until)


@command("advance", usage="advance LOCATION", group="moving",
         summary="run until the current hart reaches LOCATION (a function, *ADDRESS or FILE:LINE)")
def cmd_advance(session, arg):
    pcs = _location(session, arg)
    if moving(session, lambda: session.engine.run_to(pcs, hart=session.hart)) is INTERRUPTED:
        return
    session.report_position()


def _location(session, arg: str) -> set[int]:
    text = arg.strip()
    if not text:
        raise UserError("advance where? a function, *ADDRESS or FILE:LINE")
    if text.startswith("*"):
        text = text[1:]
    try:
        return {int(text, 0)}
    except ValueError:
        pass
    if ":" in text and text.rsplit(":", 1)[1].isdigit():
        pcs = session.engine.line_addresses(*text.rsplit(":", 1))
        if not pcs:
            raise UserError(f"no code for line {text}")
        return pcs
    addr = session.resolve_symbol(text)
    if addr is None:
        raise UserError(f"unknown location {text!r}: a function, *ADDRESS or FILE:LINE")
    return {addr}


# --- instructions ----------------------------------------------------------------------------

@command("stepi", "si", usage="stepi [N]", group="moving",
         summary="execute N instructions (default 1) of the current hart",
         details="Other harts run in between as the recorded schedule says.")
def cmd_stepi(session, arg):
    n = _count(arg)
    if moving(session, lambda: session.engine.stepi(n)) is not INTERRUPTED:
        session.report_position()


@command("reverse-stepi", "rsi", usage="reverse-stepi [N]", group="moving",
         summary="go back N instructions (default 1) of the current hart")
def cmd_reverse_stepi(session, arg):
    n = _count(arg)
    if moving(session, lambda: session.engine.reverse_stepi(n)) is not INTERRUPTED:
        session.report_position()


@command("nexti", "ni", usage="nexti [N]", group="moving",
         summary="execute the next instruction of the current hart, stepping over calls")
def cmd_nexti(session, arg):
    _lines(session, arg, session.engine.nexti)


@command("reverse-nexti", "rni", usage="reverse-nexti [N]", group="moving",
         summary="go back one instruction of the current hart, stepping back over calls")
def cmd_reverse_nexti(session, arg):
    _lines(session, arg, session.engine.reverse_nexti)


@command("reverse-finish", usage="reverse-finish", group="moving",
         summary="go back to where the current function was called (the call instruction)")
def cmd_reverse_finish(session, arg):
    _lines(session, "", session.engine.reverse_finish)


@command("finish", "fin", usage="finish", group="moving",
         summary="run until the current function returns")
def cmd_finish(session, arg):
    m = session.machine
    frame = session.describe_address(m.pc())
    session.printer.line(f"Run till exit from {frame}")
    if moving(session, session.engine.finish) is INTERRUPTED:
        return
    session.report_position()
    a0 = m.register_value("a0")
    a0 = a0 - (1 << 64) if a0 >> 63 else a0             # the value a C function returns, signed
    session.printer.line(f"Returned to {session.describe_address(m.pc())}; a0 = {a0}")


# --- jumps -------------------------------------------------------------------------------------

@command("goto", "run", usage="goto EVENT | goto @ICOUNT", group="moving",
         summary="jump to event EVENT, or to instruction count ICOUNT (`@`)",
         details="Negative EVENT counts from the end (goto -1: the last event).")
def cmd_goto(session, arg):
    arg = arg.strip().lstrip("#")
    if not arg:
        raise UserError("goto where? `goto 212` (an event) or `goto @324778` (an instruction count)")
    if arg.startswith("@"):
        try:
            icount = int(arg[1:].replace("_", "").replace(",", ""), 0)
        except ValueError:
            raise UserError(f"bad instruction count {arg[1:]!r}: write e.g. `goto @324778`") from None
        if moving(session, lambda: session.machine.goto_icount(icount)) is INTERRUPTED:
            return
    else:
        try:
            number = int(arg, 0)
        except ValueError:
            raise UserError(f"bad event number {arg!r}: write e.g. `goto 212` or `goto @324778`") from None
        session.set_event(number)
    session.report_position()


@command("start", usage="start", group="moving", summary="go to the first event of the trace")
def cmd_start(session, arg):
    session.set_event(0)
    session.report_position()


@command("end", usage="end", group="moving", summary="go to the last event of the trace")
def cmd_end(session, arg):
    session.set_event(-1)
    session.report_position()


@command("hart", "thread", usage="hart [N]", group="moving",
         summary="show the hart that stepi and info registers apply to, or switch to hart N")
def cmd_hart(session, arg):
    harts = int(session.trace.header.config.get("harts", 1) or 1)
    if arg.strip():
        try:
            n = int(arg.strip())
        except ValueError:
            raise UserError(f"hart N: {arg.strip()!r} is not a hart number") from None
        if not 0 <= n < harts:
            raise UserError(f"there is no hart {n}: this machine has harts 0 to {harts - 1}")
        session.engine.select_hart(n)
    session.printer.line(f"Hart {session.hart} (of {harts}); stepi, next, finish and info registers "
                         "apply to it")


@command("when", usage="when", group="moving",
         summary="where we are in time: event number and instruction count (rr's `when`)")
def cmd_when(session, arg):
    n = len(session.trace)
    ev = session.event
    if ev is None:
        session.printer.line(f"Before event 0 of {n}; icount {session.icount}")
        return
    where = "at" if session.at_event else "after"
    session.printer.line(f"Current event: {session.event_number} of {n} ({where} it); icount {session.icount}")
