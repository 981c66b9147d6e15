"""The index's `intervals` section: what ran and which memory was touched, per stretch of the run.

The recorder cuts the run into intervals of `every` instructions and notes,
for each, the code that ran (virtual addresses by 64-byte line,
`pc >> code_line`) and the physical pages loaded from and stored into -- all
supersets of what happened. A replay search skips every interval in which
what it waits for cannot happen (`break panic` over a run where panic never
ran needs no re-execution at all).

Stored as one zlib-compressed msgpack array `[every, code_line, intervals]`,
each interval `[ran, read, written]` (interval k covers instructions
k*every to (k+1)*every, the last one up to the end of the run), each a list
of ascending integers
stored as differences (the first from 0). Read defensively: sizes are
bounded, anything malformed is refused with a TraceError (the replay then
does without).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from rvtrace.trace import format as fmt
from rvtrace.trace.errors import TraceError

MAX_BYTES = 64 << 20          # decompressed size we accept
MAX_INTERVALS = 1 << 20
MAX_VALUE = 1 << 64


@dataclass(frozen=True)
class Interval:
    ran: frozenset            # code lines (pc >> code_line) that ran
    read: frozenset           # physical pages loaded from
    written: frozenset        # physical pages stored into


@dataclass(frozen=True)
class Intervals:
    every: int
    code_line: int
    items: tuple[Interval, ...]

    def covering(self, lo: int, hi: int) -> list[Interval] | None:
        """The intervals that overlap [lo, hi); None when the recording's do not reach hi."""
        if hi <= lo:
            return []
        first, last = lo // self.every, (hi - 1) // self.every
        if last >= len(self.items):
            return None
        return list(self.items[first:last + 1])


def _deltas(values) -> list[int]:
    out, prev = [], 0
    for v in sorted(values):
        out.append(v - prev)
        prev = v
    return out


def encode(every: int, code_line: int, items) -> bytes:
    """`items`: (ran, read, written) sets per interval, in order."""
    body = [every, code_line, [[_deltas(ran), _deltas(read), _deltas(written)] for ran, read, written in items]]
    return zlib.compress(fmt.pack(body), 6)


def _values(deltas, what: str) -> frozenset:
    if not isinstance(deltas, list):
        raise TraceError(f"intervals section: {what} is not a list")
    out, v = [], 0
    for d in deltas:
        if not isinstance(d, int) or d < 0:
            raise TraceError(f"intervals section: a bad number in {what}")
        v += d
        out.append(v)
    if v >= MAX_VALUE:
        raise TraceError(f"intervals section: {what} out of range")
    return frozenset(out)


def decode(blob) -> Intervals:
    if not isinstance(blob, bytes):
        raise TraceError("intervals section: not bytes")
    try:
        d = zlib.decompressobj()
        raw = d.decompress(blob, MAX_BYTES)
        if d.unconsumed_tail:
            raise TraceError(f"intervals section: more than {MAX_BYTES >> 20} MiB decompressed")
        body = fmt.unpack(raw)
    except TraceError:
        raise
    except Exception as exc:
        raise TraceError(f"intervals section: unreadable ({type(exc).__name__})") from None
    if not (isinstance(body, list) and len(body) == 3 and isinstance(body[0], int) and body[0] > 0
            and isinstance(body[1], int) and 0 <= body[1] < 64 and isinstance(body[2], list)
            and len(body[2]) <= MAX_INTERVALS):
        raise TraceError("intervals section: not [every, code_line, intervals]")
    items = []
    for row in body[2]:
        if not (isinstance(row, list) and len(row) == 3):
            raise TraceError("intervals section: an interval is not [ran, read, written]")
        items.append(Interval(_values(row[0], "ran"), _values(row[1], "read"), _values(row[2], "written")))
    return Intervals(body[0], body[1], tuple(items))
