"""The command table: every debugger command is a plain function over a session.

    @command("continue", "c", "fg", usage="continue", summary="run forwards to the next breakpoint")
    def cmd_continue(session, arg): ...

A command receives the session and the rest of its line (after the name; for
`x/8gx ADDR` the name is `x` and the line `/8gx ADDR`). It prints through
`session.printer` and raises UserError for anything the user should fix. The
prompt, `-ex`, `-x` and `-batch` all go through `run_line`, so they behave alike.

Names resolve as in gdb: an exact name or alias first, then a unique prefix
(`cont`, `disas`); `info` and `help` take subcommands the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from rvtrace.errors import UserError


class QuitRequested(Exception):
    """`quit`: leave the debugger (batch mode stops running commands too)."""


@dataclass
class Command:
    name: str
    aliases: tuple[str, ...]
    func: Callable
    usage: str
    summary: str
    details: str = ""
    completes: tuple[str, ...] = ()       # what to complete after the name: "symbol", "syscall", "break", ...
    group: str = ""


@dataclass
class Table:
    """One namespace of commands (the top level, or `info`'s subcommands)."""
    prefix: str = ""
    commands: dict[str, Command] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    def add(self, cmd: Command) -> None:
        self.commands[cmd.name] = cmd
        for a in cmd.aliases:
            self.aliases[a] = cmd.name

    def lookup(self, word: str) -> Command:
        if word in self.commands:
            return self.commands[word]
        if word in self.aliases:
            return self.commands[self.aliases[word]]
        matches = sorted({n for n in self.commands if n.startswith(word)}
                         | {self.aliases[a] for a in self.aliases if a.startswith(word)})
        where = f"{self.prefix} " if self.prefix else ""
        if len(matches) == 1:
            return self.commands[matches[0]]
        if not matches:
            hint = "`help`" if not self.prefix else f"`help {self.prefix}`"
            raise UserError(f'undefined command: "{where}{word}". Try {hint}.')
        raise UserError(f'ambiguous command "{where}{word}": {", ".join(matches)}')

    def names(self) -> list[str]:
        return sorted(set(self.commands) | set(self.aliases))


TOP = Table()
INFO = Table("info")


def command(name: str, *aliases: str, usage: str = "", summary: str, details: str = "",
            completes: tuple[str, ...] = (), group: str = "", table: Table | None = None):
    """Register the decorated function as a command (in `table`, the top level by default)."""
    def register(func):
        (table or TOP).add(Command(name, aliases, func, usage or name, summary, details.strip(),
                                   completes, group))
        return func
    return register


def split_command(line: str) -> tuple[str, str]:
    """`x/8gx 0x1000` -> ("x", "/8gx 0x1000"); `break exec` -> ("break", "exec")."""
    line = line.strip()
    if not line:
        return "", ""
    i = 0
    while i < len(line) and not line[i].isspace() and line[i] != "/":
        i += 1
    if i == 0:                          # a line that starts with "/"
        return line, ""
    return line[:i], line[i:].strip() if line[i:i + 1] != "/" else line[i:]


def resolve(line: str) -> tuple[Command, str]:
    """The command a line names, and its argument text."""
    name, arg = split_command(line)
    cmd = TOP.lookup(name)
    if cmd.name == "info":
        sub, subarg = split_command(arg)
        if not sub:
            raise UserError(f"info what? one of: {', '.join(sorted(INFO.commands))}")
        return INFO.lookup(sub), subarg
    return cmd, arg


# --- help ------------------------------------------------------------------------------

GROUPS = (("moving", "Moving through time"), ("breakpoints", "Breakpoints and watchpoints"),
          ("looking", "Looking at the machine"), ("events", "Events and output"), ("", "Other"))


def help_text(arg: str) -> str:
    arg = arg.strip()
    if not arg:
        return _overview()
    if arg.startswith("info") and arg.split()[0] == "info" and len(arg.split()) > 1:
        return _one(INFO.lookup(arg.split(None, 1)[1]), "info ", usage_has_prefix=True)
    if arg == "info":
        return _one(TOP.lookup("info"), "") + "\n\n" + _list(INFO.commands.values(), "info ")
    return _one(TOP.lookup(arg.split()[0]), "")


def _overview() -> str:
    out = ["rvtrace replay: a time-travel debugger over a recorded run. Commands (abbreviations in "
           "brackets); `help CMD` for one of them:"]
    for group, title in GROUPS:
        cmds = [c for c in TOP.commands.values() if c.group == group]
        if group == "looking":
            cmds += [c for c in INFO.commands.values()]
        if not cmds:
            continue
        out.append("")
        out.append(title + ":")
        out.append(_list(cmds, ""))
    return "\n".join(out)


def _list(cmds, prefix: str) -> str:
    rows = []
    for c in sorted(cmds, key=lambda c: c.name):
        name = (("info " if c in INFO.commands.values() else prefix) + c.name)
        if c.aliases:
            name += f" [{', '.join(c.aliases)}]"
        rows.append((name, c.summary))
    width = max(len(n) for n, _ in rows)
    return "\n".join(f"  {n.ljust(width)}  {s}" for n, s in rows)


def _one(c: Command, prefix: str, usage_has_prefix: bool = False) -> str:
    text = f"{'' if usage_has_prefix else prefix}{c.usage}\n  {c.summary}"
    if c.aliases:
        text += f"\n  Also: {', '.join(prefix + a for a in c.aliases)}"
    if c.details:
        text += "\n\n" + "\n".join("  " + row if row else "" for row in c.details.split("\n"))
    return text
