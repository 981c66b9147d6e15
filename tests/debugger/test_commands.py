"""The command table: gdb's names, aliases, prefixes; help for every command."""

from __future__ import annotations

import pytest

from rvtrace.debugger import commands
from rvtrace.debugger import session  # noqa: F401  (registers the commands)
from rvtrace.errors import UserError


@pytest.mark.parametrize("line, name, arg", [
    ("c", "continue", ""),
    ("cont", "continue", ""),
    ("rc", "reverse-continue", ""),
    ("s 3", "step", "3"),
    ("rs", "reverse-step", ""),
    ("si", "stepi", ""),
    ("rsi 4", "reverse-stepi", "4"),
    ("n", "next", ""),
    ("rn", "reverse-next", ""),
    ("ni", "nexti", ""),
    ("rni 2", "reverse-nexti", "2"),
    ("se", "step-event", ""),
    ("rse 3", "reverse-step-event", "3"),
    ("u", "until", ""),
    ("advance sched", "advance", "sched"),
    ("b write if pid == 4", "break", "write if pid == 4"),
    ("tbreak exec", "tbreak", "exec"),
    ("x/8gx $sp", "x", "/8gx $sp"),
    ("p/x $a0", "print", "/x $a0"),
    ("i r", "registers", ""),
    ("info registers a0", "registers", "a0"),
    ("info breakpoints", "breakpoints", ""),
    ("info procs", "procs", ""),
    ("info event", "event", ""),
    ("bt", "backtrace", ""),
    ("disas", "disassemble", ""),
    ("l", "list", ""),
    ("goto @1000", "goto", "@1000"),
    ("when", "when", ""),
    ("q", "quit", ""),
])
def test_lines_resolve_to_commands(line, name, arg):
    cmd, rest = commands.resolve(line)
    assert (cmd.name, rest) == (name, arg)


@pytest.mark.parametrize("line, message", [
    ("frobnicate", 'undefined command: "frobnicate"'),
    ("re", "ambiguous command \"re\""),
    ("info", "info what?"),
    ("info nothing", 'undefined command: "info nothing"'),
])
def test_unknown_and_ambiguous_commands(line, message):
    with pytest.raises(UserError) as exc:
        commands.resolve(line)
    assert message in str(exc.value)


def test_every_command_has_help():
    overview = commands.help_text("")
    for name, cmd in commands.TOP.commands.items():
        assert name in overview
        text = commands.help_text(name)
        assert cmd.summary in text
    for name, cmd in commands.INFO.commands.items():
        assert cmd.summary in commands.help_text(f"info {name}")


def test_the_issue_commands_exist():
    for name in ("break", "tbreak", "delete", "disable", "enable", "continue", "reverse-continue", "step",
                 "reverse-step", "stepi", "reverse-stepi", "next", "reverse-next", "finish", "goto", "start",
                 "step-event", "reverse-step-event", "nexti", "reverse-nexti", "until", "advance",
                 "end", "x", "disassemble", "list", "backtrace", "print", "output", "events", "watch",
                 "rwatch", "when", "quit", "help"):
        assert commands.TOP.lookup(name).name == name
    for name in ("breakpoints", "procs", "registers", "event"):
        assert commands.INFO.lookup(name).name == name
