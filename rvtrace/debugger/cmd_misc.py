"""Other commands: help, quit, echo, source."""

from __future__ import annotations

from pathlib import Path

from rvtrace.debugger.commands import QuitRequested, command, help_text
from rvtrace.errors import UserError
from rvtrace.files import check_input


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


# Command files sourcing command files: deeper than this is a loop (a file sourcing itself).
MAX_SOURCE_DEPTH = 8
MAX_SCRIPT_BYTES = 1 << 20


@command("source", usage="source FILE", summary="run the commands in FILE, one a line")
def cmd_source(session, arg):
    path = check_input(Path(arg.strip()).expanduser(), "command file")
    depth = getattr(session, "source_depth", 0)
    if depth >= MAX_SOURCE_DEPTH:
        raise UserError(f"command file {path}: sourced {MAX_SOURCE_DEPTH} deep (does it source itself?)")
    try:
        if path.stat().st_size > MAX_SCRIPT_BYTES:
            raise UserError(f"command file {path}: larger than {MAX_SCRIPT_BYTES >> 20} MiB: not a script")
        lines = path.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise UserError(f"command file {path}: not a text file") from None
    except OSError as exc:
        raise UserError(f"cannot read the command file {path}: {exc.strerror or exc}") from None
    session.source_depth = depth + 1
    try:
        for line in lines:
            session.run_line(line)
    finally:
        session.source_depth = depth
