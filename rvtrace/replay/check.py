"""Re-execution checks itself: what the recorder emits now must be what the trace holds.

The replay machine carries the same Recorder that wrote the trace, with
`CheckingSink` as its output. The recorder releases events in the file's
order, so the k-th event released since boot must equal the trace's event k,
field for field. The first difference raises Divergence with both sides.
"""

from __future__ import annotations

from rvtrace.replay.errors import Divergence
from rvtrace.trace import format as fmt
from rvtrace.trace.events import Event


class CheckingSink:
    def __init__(self, reader):
        self.reader = reader
        self.n = 0                      # events released since boot (restored with checkpoints)
        self.checked = 0                # events compared, for tests and the bench

    def event(self, kind, icount, hart, pid, *payload) -> None:
        n = self.n
        self.n += 1
        replayed = fmt.unpack(fmt.pack([int(kind), icount, hart, pid, *payload]))
        if n >= len(self.reader):
            if self.reader.truncated:
                return                  # past a truncated trace's last event: nothing to compare
            raise Divergence(f"replay diverged: re-execution produced event {n} "
                             f"({Event(n, replayed)!r}) but the recording ends at event "
                             f"{len(self.reader) - 1}", None, Event(n, replayed), icount)
        raw = next(self.reader.raw_events(n, n + 1))
        self.checked += 1
        if list(raw) != replayed:
            recorded = Event(n, raw)
            raise Divergence(f"replay diverged at event {n} (icount {icount}): "
                             f"recorded {recorded!r}; replayed {Event(n, replayed)!r} "
                             f"(the events are well-formed, so either they were changed after recording or this "
                             f"rvtrace runs the guest differently from the one that recorded it)",
                             recorded, Event(n, replayed), icount)
