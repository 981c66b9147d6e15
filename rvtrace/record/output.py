"""EventOutput: the recorder's events leave here, in icount order.

Some events are only complete a little after they happen: a page fault's
resolution is known when the process next returns to user mode, an external
interrupt's IRQ when the handler claims it from the PLIC, the process a hart
switches to when its scheduler picks one. Such an event is written as a
*placeholder* at the moment it happened; events after it wait behind it
until it is filled, so the file stays in time order without rewriting.

Console bytes are coalesced: consecutive bytes of one process on one hart
become one console-out event (ended by a newline, another event, or 64
bytes), which keeps kernel printf output from costing an event per byte.

Payload fields are given by name (`out.emit(Kind.FORK, icount, hart, pid,
child=3, shared=12, copied=0)`) and checked against the event table
(rvtrace/trace/events.py KINDS): a missing or misspelt field fails at once
instead of landing in the wrong column.
"""

from __future__ import annotations

from collections import Counter, deque

from rvtrace.trace.events import Kind, field_index, payload_of

CONSOLE_RUN_MAX = 64


class Placeholder:
    """An event written now and finished later: `out.fill(p, "field", value)`."""

    __slots__ = ("event", "ready")

    def __init__(self, event: list):
        self.event = event
        self.ready = False


class EventOutput:
    def __init__(self, sink):
        self.sink = sink                        # .event(kind, icount, hart, pid, *payload)
        self.held: deque = deque()              # Placeholders and plain events behind the first open one
        self.open: set = set()                  # unfilled placeholders
        self.counts: Counter = Counter()        # events by kind, for the summary
        self._console: list | None = None       # [icount, hart, pid, bytearray] being coalesced

    # --- writing -----------------------------------------------------------------

    def emit(self, kind: int, icount: int, hart: int, pid: int, **fields) -> None:
        if self._console is not None:
            self._flush_console()
        self._put([kind, icount, hart, pid, *payload_of(kind, fields)])

    def placeholder(self, kind: int, icount: int, hart: int, pid: int, **fields) -> Placeholder:
        """An event whose fields are complete later: give every field now (its value so far)."""
        if self._console is not None:
            self._flush_console()
        p = Placeholder([kind, icount, hart, pid, *payload_of(kind, fields)])
        self.open.add(p)
        self.held.append(p)
        return p

    def fill(self, p: Placeholder, name: str, value) -> None:
        """Set payload field `name` and release what waited on the placeholder."""
        if p.ready:
            return
        p.event[4 + field_index(p.event[0], name)] = value
        p.ready = True
        self.open.discard(p)
        self._drain()

    def console(self, icount: int, hart: int, pid: int, byte: int) -> None:
        run = self._console
        if run is not None and (run[1] != hart or run[2] != pid):
            self._flush_console()
            run = None
        if run is None:
            run = self._console = [icount, hart, pid, bytearray()]
        run[3].append(byte)
        if byte == 10 or len(run[3]) >= CONSOLE_RUN_MAX:
            self._flush_console()

    def finish(self) -> None:
        """Release everything, filling open placeholders as they stand (their defaults)."""
        if self._console is not None:
            self._flush_console()
        for p in list(self.open):
            p.ready = True
        self.open.clear()
        self._drain()

    # --- internals ----------------------------------------------------------------

    def _flush_console(self) -> None:
        icount, hart, pid, data = self._console
        self._console = None
        self._put([Kind.CONSOLE_OUT, icount, hart, pid, bytes(data)])

    def _put(self, event: list) -> None:
        if self.held:
            self.held.append(event)
        else:
            self._write(event)

    def _drain(self) -> None:
        held = self.held
        while held:
            head = held[0]
            if isinstance(head, Placeholder):
                if not head.ready:
                    return
                head = head.event
            held.popleft()
            self._write(head)

    def _write(self, event: list) -> None:
        self.counts[event[0]] += 1
        self.sink.event(*event)


class ListSink:
    """A sink that keeps events in memory (re-runs and tests)."""

    def __init__(self):
        self.events: list[list] = []
        self.ending = None

    def event(self, kind, icount, hart, pid, *payload) -> None:
        self.events.append([int(kind), icount, hart, pid, *payload])

    def close(self, ending: str = "poweroff", detail: str = "", *, icount=None, hart=0, pid=0) -> None:
        from rvtrace.trace.events import ENDINGS, code_of
        last = self.events[-1][1] if self.events else 0
        self.events.append([int(Kind.END), last if icount is None else icount, hart, pid,
                            code_of(ENDINGS, ending), detail])
        self.ending = ending
