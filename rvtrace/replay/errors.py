"""What a replay says when it cannot do what was asked."""

from __future__ import annotations

from rvtrace.errors import UserError
from rvtrace.replay.cursor import EndOfTrace

__all__ = ["Divergence", "EndOfTrace", "Interrupted", "ReplayError"]


class ReplayError(UserError):
    """A replay request that cannot be met (bad address, no symbols, ...); the session goes on."""


class Divergence(UserError):
    """Re-execution did not reproduce the recording: `recorded` and `replayed` show both sides."""

    def __init__(self, message: str, recorded=None, replayed=None, icount: int | None = None):
        super().__init__(message)
        self.recorded = recorded       # the trace's side (an Event, a decision, or None)
        self.replayed = replayed       # what re-execution produced
        self.icount = icount


class Interrupted(UserError):
    """Ctrl-C during a long move: `icount` is where the move may stop (searched up to there)."""

    def __init__(self, icount: int, message: str = "interrupted"):
        super().__init__(message)
        self.icount = icount
