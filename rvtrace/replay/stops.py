"""What a search may stop at, and where it stopped.

The debugger describes its breakpoints, catchpoints and watchpoints as a
`StopSet` and asks the replay session to find the nearest stop forwards or
backwards (`ReplaySession.search`); the session alone decides how (event
index, re-execution, skipping intervals) and moves the position there.
`key` is whatever the caller wants back (its breakpoint), never looked into.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class PcStop:
    """A hart about to execute one of `pcs` (virtual), when `condition(PcContext)` holds."""
    key: object
    pcs: frozenset
    condition: Callable | None = None


@dataclass(frozen=True)
class EventStop:
    """A recorded event of one of `kinds` that `match(event)` accepts."""
    key: object
    match: Callable
    kinds: frozenset


@dataclass(frozen=True)
class WatchStop:
    """The `size` bytes at physical `paddr` change (`read`: are loaded by a hart)."""
    key: object
    paddr: int
    size: int
    read: bool = False


@dataclass
class StopSet:
    pcs: list[PcStop] = field(default_factory=list)
    events: list[EventStop] = field(default_factory=list)
    watches: list[WatchStop] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.pcs or self.events or self.watches)

    def event_match(self):
        """One matcher over events for the cursor (with its `kinds` pre-filter)."""
        stops = self.events

        def match(ev):
            return any(ev.kind in st.kinds and st.match(ev) for st in stops)
        match.kinds = frozenset().union(*(st.kinds for st in stops)) if stops else frozenset()
        return match

    def event_key(self, ev):
        return next((st.key for st in self.events if ev.kind in st.kinds and st.match(ev)), None)


class PcContext:
    """What a pc stop's condition may look at: the hart, pc, privilege, icount, and (asked
    for lazily, it reads the process table) the pid running on the hart."""

    def __init__(self, engine, hart, pc: int):
        self._e, self._hart = engine, hart
        self.hart, self.pc, self.priv = hart.hartid, pc, hart.priv
        self.icount = engine.now()

    @property
    def pid(self) -> int | None:
        view = self._e.view
        return view.current_pid(self.hart) if view is not None and view.available else None


@dataclass(frozen=True)
class Stop:
    """Where a search stopped: the position (icount, hart, the event when it is one) and why."""
    icount: int
    hart: int
    key: object
    event: object = None            # the Event, for an event stop
    old: bytes | None = None        # a watchpoint: the bytes before and after
    new: bytes | None = None
