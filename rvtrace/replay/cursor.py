"""EventCursor: moving over a trace's events by number, with no emulation.

The cursor stands on one event (or before the first one: `number` = -1) and
moves to the next/previous event, the next/previous one matching a filter,
the first, the last, or event k. Everything walks the trace's chunk index;
decoded chunks are cached by the reader, and for each decoded chunk the
cursor remembers which event kinds it holds, so a search for `exec` skips
chunks without one instead of decoding them again.

A filter is any callable `f(Event) -> bool`. When it also has a `kinds`
attribute (a set of kind numbers, or None for "any"), only events of those
kinds are decoded and offered to it -- the fast path breakpoints should use
(`EventFilter` below builds one).
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from typing import Callable, Iterable

from rvtrace.errors import UserError
from rvtrace.trace.events import Event
from rvtrace.trace.reader import TraceReader


class EndOfTrace(UserError):
    """A move past either end of the trace (the session stays where it was)."""


@dataclass(frozen=True)
class EventFilter:
    """A filter with a fast path: `kinds` (None: all) narrows, `test` (None: all) decides."""
    kinds: frozenset | None = None
    test: Callable[[Event], bool] | None = None

    def __call__(self, ev: Event) -> bool:
        if self.kinds is not None and ev.kind not in self.kinds:
            return False
        return self.test is None or bool(self.test(ev))


def kinds_filter(kinds: Iterable[int], test=None) -> EventFilter:
    return EventFilter(frozenset(int(k) for k in kinds), test)


class EventCursor:
    """`c = EventCursor(reader)`; `c.next(f)`, `c.prev(f)`, `c.first()`, `c.last()`, `c.goto(k)`."""

    def __init__(self, reader: TraceReader):
        self.reader = reader
        self.number = -1                       # -1: before the first event (the boot)
        # chunk -> kinds it holds: from the index's kinds masks, else learnt when decoded
        self._kinds: dict[int, frozenset] = {
            c: frozenset(k for k in range(info.kinds.bit_length()) if info.kinds >> k & 1)
            for c, info in enumerate(reader.chunks) if info.kinds is not None}
        self._starts = [c.first_event for c in reader.chunks]

    def __len__(self) -> int:
        return len(self.reader)

    @property
    def event(self) -> Event | None:
        return self.reader.event(self.number) if self.number >= 0 else None

    # --- moves ---------------------------------------------------------------------

    def goto(self, number: int) -> Event:
        n = len(self)
        if n == 0:
            raise EndOfTrace("the trace holds no events")
        if number < 0:
            number += n
        if not 0 <= number < n:
            raise EndOfTrace(f"there is no event {number}: this trace has events 0 to {n - 1}")
        self.number = number
        return self.reader.event(number)

    def first(self) -> Event:
        return self.goto(0)

    def last(self) -> Event:
        return self.goto(len(self) - 1)

    def next(self, match=None) -> Event:
        """Move to the next event (matching `match`, if given); EndOfTrace when there is none."""
        found = self.find_next(self.number + 1, match)
        if found is None:
            what = "event" if match is None else "matching event"
            raise EndOfTrace(f"no {what} after event {self.number} (the last is {len(self) - 1}); "
                             "staying here")
        self.number = found.number
        return found

    def prev(self, match=None) -> Event:
        """Move to the previous event (matching `match`, if given); EndOfTrace when there is none."""
        found = self.find_prev(self.number - 1, match)
        if found is None:
            what = "event" if match is None else "matching event"
            where = "the start" if self.number < 0 else f"event {self.number}"
            raise EndOfTrace(f"no {what} before {where}; staying here")
        self.number = found.number
        return found

    # --- searching (no move) -------------------------------------------------------------

    def find_next(self, start: int, match=None) -> Event | None:
        """The first event numbered >= start that matches, or None."""
        r = self.reader
        start = max(start, 0)
        if start >= len(r):
            return None
        if match is None:
            return r.event(start)
        kinds = getattr(match, "kinds", None)
        c = self._chunk_of(start)
        while c < len(r.chunks):
            if self._may_hold(c, kinds):
                hit = self._scan_chunk(c, match, kinds, lo=start, forward=True)
                if hit is not None:
                    return hit
            c += 1
        return None

    def find_prev(self, start: int, match=None) -> Event | None:
        """The last event numbered <= start that matches, or None."""
        r = self.reader
        start = min(start, len(r) - 1)
        if start < 0:
            return None
        if match is None:
            return r.event(start)
        kinds = getattr(match, "kinds", None)
        c = self._chunk_of(start)
        while c >= 0:
            if self._may_hold(c, kinds):
                hit = self._scan_chunk(c, match, kinds, hi=start, forward=False)
                if hit is not None:
                    return hit
            c -= 1
        return None

    def at_icount(self, icount: int) -> int:
        """The number of the last event at or before instruction `icount` (-1: none)."""
        return self.reader.find_icount(icount + 1) - 1

    def learn_kinds_in_background(self) -> threading.Thread:
        """learn_kinds on a thread with its own reader (the cursor's reader is not shared)."""
        def work():
            try:
                with TraceReader(self.reader.path) as own:
                    for c, info in enumerate(own.chunks):
                        if c not in self._kinds:
                            events = own.raw_events(info.first_event, info.first_event + info.count)
                            self._kinds[c] = frozenset(e[0] for e in events)
            except Exception:       # a damaged chunk: the foreground reports it when it gets there
                pass
        t = threading.Thread(target=work, name="rvtrace-learn-kinds", daemon=True)
        t.start()
        return t

    def learn_kinds(self, max_seconds: float | None = None) -> bool:
        """Decode chunks not seen yet to learn which kinds each holds (so later filtered moves
        skip them); stop after `max_seconds`. True when every chunk is known. A debugger can
        call this while it waits for the user: a cold search over 1 M events costs ~1 s."""
        import time
        stop = None if max_seconds is None else time.perf_counter() + max_seconds
        r = self.reader
        for c, info in enumerate(r.chunks):
            if c in self._kinds:
                continue
            if stop is not None and time.perf_counter() > stop:
                return False
            events = r.raw_events(info.first_event, info.first_event + info.count)
            self._kinds[c] = frozenset(e[0] for e in events)
        return True

    # --- chunks -------------------------------------------------------------------------

    def _chunk_of(self, number: int) -> int:
        return bisect.bisect_right(self._starts, number) - 1

    def _may_hold(self, c: int, kinds) -> bool:
        if kinds is None:
            return True
        held = self._kinds.get(c)
        return held is None or not held.isdisjoint(kinds)

    def _scan_chunk(self, c: int, match, kinds, lo: int = 0, hi: int | None = None,
                    forward: bool = True) -> Event | None:
        r = self.reader
        info = r.chunks[c]
        first = info.first_event
        events = list(r.raw_events(first, first + info.count))   # one chunk, cached by the reader
        if c not in self._kinds:
            self._kinds[c] = frozenset(e[0] for e in events)
        a = max(lo - first, 0)
        b = len(events) if hi is None else min(hi - first + 1, len(events))
        order = range(a, b) if forward else range(b - 1, a - 1, -1)
        for i in order:
            raw = events[i]
            if kinds is not None and raw[0] not in kinds:
                continue
            ev = Event(first + i, raw)
            if match(ev):
                return ev
        return None
