"""The progress line of a long move: how far a search or re-execution got, on a terminal.

Shown on stderr once a command has run for a second, rewritten in place at
most ten times a second, erased when the command ends, so the output of
commands is never mixed with it.
"""

from __future__ import annotations

import time

DELAY = 1.0                   # seconds before a move says how it is doing
EVERY = 0.1                   # seconds between two updates


class ProgressLine:
    def __init__(self, stream):
        self.stream = stream
        self.started = None
        self.shown = 0            # width of the text on screen (0: nothing)
        self.last = 0.0

    def begin(self) -> None:
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.started is None or now - self.started < DELAY or now - self.last < EVERY:
            return
        self.last = now
        pct = min(100, 100 * done // total) if total > 0 else 0
        text = f"  replaying: {pct:3d}% of {total:,} instructions ({now - self.started:.0f} s; Ctrl-C stops here)"
        self.stream.write("\r" + text.ljust(self.shown))
        self.stream.flush()
        self.shown = max(self.shown, len(text))

    def end(self) -> None:
        self.started = None
        self.clear()

    def clear(self) -> None:
        """Erase the line (before any output), to be drawn again at the next update."""
        if self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.stream.flush()
            self.shown = 0
