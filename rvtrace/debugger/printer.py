"""Where command output goes: styled fragments, printed plain or in colour.

Commands never print directly: they hand lines of `(style, text)` fragments
to the session's Printer. The interactive prompt prints them through
prompt_toolkit in colour; `-batch` writes plain text to stdout (colour only
when asked), and tests collect the text. So every command runs the same code
everywhere.
"""

from __future__ import annotations

import sys
from typing import TextIO

Fragments = list[tuple[str, str]]

# Named styles used by commands (`class:NAME`); pids use inline colours (eventtext.pid_style).
STYLE_RULES = {
    "number": "ansibrightblack",
    "error": "ansired bold",
    "heading": "bold",
    "stop": "ansiyellow bold",
    "address": "ansiblue",
    "symbol": "ansigreen",
    "current": "reverse",
    "dim": "ansibrightblack",
    "prompt": "bold",
}


class Printer:
    """`printer.line(fragments_or_text)`; `printer.error(text)`; everything printed ends in a newline."""

    def __init__(self, stream: TextIO | None = None, colour: bool = False, interactive: bool = False):
        self.stream = stream
        self.colour = colour
        self.interactive = interactive
        self.lines_printed = 0
        self.before_output = None          # e.g. erase a progress line before printing

    def line(self, content: str | Fragments = "") -> None:
        frags = [("", content)] if isinstance(content, str) else content
        self.lines_printed += 1
        if self.before_output is not None:
            self.before_output()
        if self.interactive or self.colour:
            self._styled(frags)
        else:
            (self.stream or sys.stdout).write("".join(text for _, text in frags) + "\n")

    def text(self, text: str) -> None:
        """Several lines of plain text at once."""
        for row in text.rstrip("\n").split("\n"):
            self.line(row)

    def error(self, message: str) -> None:
        self.line([("class:error", message)])

    def _styled(self, frags: Fragments) -> None:
        from prompt_toolkit import print_formatted_text
        from prompt_toolkit.formatted_text import FormattedText
        kwargs = {} if self.interactive else {"file": self.stream or sys.stdout}
        print_formatted_text(FormattedText(frags), style=style(), **kwargs)


class CollectingPrinter(Printer):
    """A printer that keeps the text (for tests and for `-batch` captured by callers)."""

    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def line(self, content: str | Fragments = "") -> None:
        frags = [("", content)] if isinstance(content, str) else content
        self.lines_printed += 1
        self.lines.append("".join(text for _, text in frags))

    @property
    def output(self) -> str:
        return "".join(line + "\n" for line in self.lines)


_STYLE = None


def style():
    global _STYLE
    if _STYLE is None:
        from prompt_toolkit.styles import Style
        _STYLE = Style.from_dict(STYLE_RULES)
    return _STYLE
