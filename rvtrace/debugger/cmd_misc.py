"""Other commands: help, quit, echo, source."""

from __future__ import annotations

from pathlib import Path

from rvtrace.debugger.commands import QuitRequested, command, help_text
from rvtrace.errors import UserError


@command("help", "h", usage="help [COMMAND]", summary="list the commands, or explain one")
def cmd_help(session, arg):
    session.printer.text(help_text(arg))


@command("info", "i", usage="info WHAT", summary="info breakpoints|event|procs|registers (see `help info`)",
         completes=("info",))
def cmd_info(session, arg):      # dispatched to the INFO table by commands.resolve
    raise UserError("info what? see `help info`")


@command("quit", "q", "exit", usage="quit", summary="leave the debugger")
def cmd_quit(session, arg):
    raise QuitRequested()


@command("echo", usage="echo TEXT", summary="print TEXT (for scripts; \\n is a newline)")
def cmd_echo(session, arg):
    session.printer.text(arg.replace("\\n", "\n") or "")


@command("source", usage="source FILE", summary="run the commands in FILE, one a line")
def cmd_source(session, arg):
    path = Path(arg.strip()).expanduser()
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise UserError(f"cannot read the command file {path}: {exc.strerror or exc}") from None
    for line in lines:
        session.run_line(line)
