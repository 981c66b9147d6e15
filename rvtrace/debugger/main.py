"""`rvtrace replay FILE [-ex CMD]... [-x SCRIPT]... [-batch]`: open a session, run commands, prompt.

As in gdb: `-ex` commands and `-x` files run in the order given; with
`-batch` the debugger then exits (status 1 if any command failed), else the
interactive prompt starts. When stdin is not a terminal the prompt reads
plain lines from it, so `echo c | rvtrace replay t.mp` works too.
"""

from __future__ import annotations

import sys

from rvtrace.debugger.printer import Printer
from rvtrace.debugger.commands import QuitRequested
from rvtrace.debugger.session import DebugSession
from rvtrace.errors import UserError


def open_session(path, printer: Printer | None = None, interactive: bool = False,
                 source_dirs=()) -> DebugSession:
    """A DebugSession over the trace at `path` (TraceError/UserError for a bad file)."""
    from rvtrace.debugger.machine import open_engine
    session = DebugSession(open_engine(path, interactive), printer)
    session.source_dirs = list(source_dirs)    # where `list` may look for sources, after the checkout
    return session


def run_replay(path, commands: list[tuple[str, str]], batch: bool, colour: str = "auto",
               source_dirs=()) -> int:
    """The `rvtrace replay` command; `commands` is [("ex", line) | ("x", file)] in order."""
    interactive = not batch and sys.stdin.isatty() and sys.stdout.isatty()
    use_colour = colour == "always" or (colour == "auto" and sys.stdout.isatty())
    printer = Printer(colour=use_colour and not interactive, interactive=interactive)
    session = open_session(path, printer, interactive, source_dirs)
    if sys.stderr.isatty():
        from rvtrace.debugger.progress import ProgressLine
        session.show_progress(ProgressLine(sys.stderr))
    _banner(session, quiet=batch)
    try:
        for kind, text in commands:
            if kind == "ex":
                session.run_line(text)
            else:
                session.run_line(f"source {text}")
        if batch:
            return 1 if session.failed else 0
        if interactive:
            from rvtrace.debugger.prompt import interact
            session.facts.scan_in_background()      # names and console text, ready when asked
            interact(session)
        else:
            _read_stdin(session)
    except QuitRequested:
        pass
    finally:
        session.close()
    return 1 if session.failed and batch else 0


def _read_stdin(session: DebugSession) -> None:
    for line in sys.stdin:
        session.run_line(line)


def _banner(session: DebugSession, quiet: bool) -> None:
    notice = getattr(session.engine, "notice", None)
    if notice:                  # said even in batch mode: it changes what replay promises
        session.printer.error(f"note: {notice}")
    t = session.trace
    if t.problem:               # so is a damaged or incomplete trace, once, before any answer
        session.printer.error(f"warning: {t.problem}")
    if quiet:
        return
    meta = t.header.metadata
    what = meta.get("program") or meta.get("command") or t.path.name
    ending = t.ending
    end_text = f"ended: {ending[0]}" + (f" ({ending[1]})" if ending[1] else "") if ending else "truncated"
    session.printer.line(f"rvtrace replay: {what}: {len(t)} events, {end_text}. `help` lists the commands.")
    reason = getattr(session.engine, "why_not", None)
    if reason and not getattr(session.engine, "can_execute", False):
        session.printer.error(f"warning: events only -- {reason}")
    session.printer.line("At the start, before event 0. `break exec`, `continue`, `step-event`, `stepi` ...")


def replay_command(path, ex: list[tuple[str, str]], batch: bool, source_dirs=()) -> int:
    try:
        return run_replay(path, ex, batch, source_dirs=source_dirs)
    except KeyboardInterrupt:
        raise UserError("interrupted") from None
