"""What the events alone tell about a run, gathered by a pass over the trace.

The debugger needs a few facts at any event without running the machine:
which name a pid had then (exec renames, fork inherits), what the console
showed up to then and who wrote each byte (`output`, `break output "..."`).

They come from one scan of the trace in event order, done incrementally: a
question about event n scans only as far as n (so the first stops of a
session cost nothing), and the interactive prompt lets a background thread
finish the scan while the user reads. Decoding a chunk of 4096 events costs
~10 ms, so a 1 M-event trace is scanned in a few seconds, once. The scan
uses its own TraceReader so it never evicts the cursor's cached chunks.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict

from rvtrace.trace.events import Kind
from rvtrace.trace.reader import TraceReader


class TraceFacts:
    """`facts.name_at(pid, n)`, `facts.console_until(n)`, `facts.output_hits(text)`."""

    def __init__(self, trace):
        self._reader = TraceReader(trace.path)
        self._lock = threading.Lock()
        self._next_chunk = 0
        self._scanned = -1                                     # last event number scanned
        self._stop = False
        self.names_wait = True          # False: a name not scanned yet is None instead of a wait
        # pid -> ([event numbers], [names]) in event order: the name from that event on.
        self._renames: dict[int, tuple[list[int], list[str]]] = defaultdict(lambda: ([], []))
        self._console: list[tuple[int, int, bytes]] = []       # (event number, pid, bytes)
        self._console_starts: list[int] = []                    # event numbers, for bisect
        self._parents: dict[int, int] = {}

    # --- scanning ----------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        return self._next_chunk >= len(self._reader.chunks)

    def scan_to(self, n: int) -> None:
        """Make sure every event up to number `n` has been looked at."""
        if self._scanned >= n or self.complete:
            return
        with self._lock:
            while self._scanned < n and not self.complete:
                self._scan_chunk()

    def scan_all(self) -> None:
        self.scan_to(len(self._reader))

    def scan_in_background(self) -> None:
        """Finish the scan in a daemon thread, one chunk at a time (questions interleave).

        Meanwhile names not reached yet read as unknown rather than making a move wait.
        """
        self.names_wait = False
        def work():
            while not self._stop and not self.complete:
                with self._lock:
                    if not self.complete:
                        self._scan_chunk()
        threading.Thread(target=work, name="rvtrace-facts", daemon=True).start()

    def close(self) -> None:
        self._stop = True
        with self._lock:
            self._reader.close()

    def _scan_chunk(self) -> None:
        c = self._next_chunk
        info = self._reader.chunks[c]
        n = info.first_event
        for raw in self._reader.raw_events(info.first_event, info.first_event + info.count):
            kind = raw[0]
            if kind == Kind.CONSOLE_OUT:
                data = raw[4] if len(raw) > 4 and isinstance(raw[4], bytes) else b""
                self._console.append((n, raw[3], data))
                self._console_starts.append(n)
            elif kind == Kind.FORK and len(raw) > 4 and isinstance(raw[4], int):
                pid, child = raw[3], raw[4]
                self._parents[child] = pid
                parent_name = self._name(pid, n)
                if parent_name:
                    self._rename(child, n, parent_name)
            elif kind == Kind.EXEC and len(raw) > 4 and isinstance(raw[4], str):
                self._rename(raw[3], n, raw[4].rsplit("/", 1)[-1])
            n += 1
        self._next_chunk = c + 1
        self._scanned = n - 1

    def _rename(self, pid: int, n: int, name: str) -> None:
        numbers, names = self._renames[pid]
        numbers.append(n)
        names.append(name)

    def _name(self, pid: int, n: int) -> str | None:
        if pid not in self._renames:
            return None
        numbers, names = self._renames[pid]
        i = bisect.bisect_right(numbers, n) - 1
        return names[i] if i >= 0 else None

    # --- process names ------------------------------------------------------------------

    def name_at(self, pid: int, n: int, wait: bool | None = None) -> str | None:
        """The name process `pid` had at event `n` (None before anything named it).

        `wait` False answers None at once when the scan has not reached `n` yet (for display);
        conditions ask with `wait` True so that they are never decided on missing facts."""
        if self.names_wait if wait is None else wait:
            self.scan_to(n)
        elif self._scanned < n and not self.complete:
            return None
        return self._name(pid, n)

    def pids(self) -> dict[int, str]:
        """Every pid named so far (the whole trace once the scan is complete), with its last name."""
        return {pid: names[-1] for pid, (_, names) in list(self._renames.items()) if names}

    def parent_of(self, pid: int) -> int | None:
        self.scan_all()
        return self._parents.get(pid)

    # --- console ----------------------------------------------------------------------------

    def console_until(self, n: int) -> list[tuple[int, int, bytes]]:
        """(event number, writer pid, bytes) of every console-out event up to and including `n`."""
        self.scan_to(n)
        return self._console[:bisect.bisect_right(self._console_starts, n)]

    def output_hits(self, text: bytes) -> list[int]:
        """Event numbers at which the console has just finished printing `text`, in order."""
        self.scan_all()
        if not text:
            return []
        stream = b"".join(c[2] for c in self._console)
        ends, total = [], 0                         # stream offset just past each event's bytes
        for _, _, data in self._console:
            total += len(data)
            ends.append(total)
        hits, start = [], stream.find(text)
        while start >= 0:
            last_byte = start + len(text)           # the event holding byte last_byte - 1
            hits.append(self._console[bisect.bisect_left(ends, last_byte)][0])
            start = stream.find(text, start + 1)
        return sorted(set(hits))
