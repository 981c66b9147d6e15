"""TraceError: what a reader raises for a file it cannot (fully) read."""

from rvtrace.errors import UserError


class TraceError(UserError):
    """A missing, foreign, newer, truncated or corrupted trace file -- one line for people."""
