"""TraceReader: read a trace file -- whole, truncated, or damaged -- without surprises.

Opening reads the header and finds the chunks: through the index at the end
when the file was closed properly, else by scanning the records one by one
(a killed recording has no index). Scanning stops at the first record that
is cut short or fails its checksum; everything before it is the valid
prefix, and `problem` says in one line what was lost. Events are decoded
one chunk at a time, so memory stays flat whatever the file's size.

Every way a file can be wrong ends in a TraceError, never another exception.
"""

from __future__ import annotations

import bisect
import os
import zlib
from collections import OrderedDict
import dataclasses
import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import msgpack

from rvtrace.trace import format as fmt
from rvtrace.trace.events import ENDINGS, Event, Kind, name_of
from rvtrace.trace.errors import TraceError

# Decoded chunks kept in memory (least recently used dropped first): enough for
# a replay cursor moving back and forth across a chunk boundary.
CACHED_CHUNKS = 8

# Everything a damaged msgpack stream or zlib body can raise while decoding.
_DECODE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError,
                  msgpack.UnpackException, zlib.error, EOFError)


class _Bad(Exception):
    """A record that is not what it should be (internal; becomes `problem` or TraceError)."""


@dataclass(frozen=True)
class ChunkInfo:
    offset: int          # byte offset of the chunk record
    first_event: int     # number of its first event
    count: int
    first_icount: int
    last_icount: int
    kinds: int | None = None   # bit k set: the chunk holds kind k (from the index; None: unknown)


@dataclass
class TraceHeader:
    """What a trace says about its run, without its events."""
    version: int
    config: dict
    seed: int | None
    tool_version: str
    metadata: dict
    chunk_events: int
    kernel_zlib: bytes | None
    disk_zlib: bytes | None
    path: str = ""

    def kernel_elf(self) -> bytes | None:
        """The recorded kernel ELF's bytes (None if the recorder did not store it)."""
        return self._inflate(self.kernel_zlib, "kernel ELF")

    def disk_image(self) -> bytes | None:
        """The recorded disk image's bytes (None if there was no disk)."""
        return self._inflate(self.disk_zlib, "disk image")

    def _inflate(self, data, what):
        if data is None:
            return None
        try:
            return zlib.decompress(data)
        except zlib.error as exc:
            raise TraceError(f"{self.path}: the embedded {what} is corrupted ({exc})") from exc


def read_header(path) -> TraceHeader:
    """Only the header of the trace at `path` (fast: no events are read)."""
    path = Path(path)
    with _open(path) as f:
        header, _ = _read_header(f, path)
    return header


class TraceReader:
    """`with TraceReader(path) as t: for ev in t: ...` -- see the module docstring."""

    def __init__(self, path):
        self.path = Path(path)
        self._file = _open(self.path)
        try:
            self.header, self._data_start = _read_header(self._file, self.path)
            self.size = os.fstat(self._file.fileno()).st_size
            self.problem: str | None = None      # why the trace is incomplete, if it is
            self.has_index = False
            self._ending: list | None = None
            self._intervals = None               # the index's intervals section, undecoded
            self.chunks: list[ChunkInfo] = self._chunks_from_index() or self._scan()
        except BaseException:
            self._file.close()
            raise
        self._starts = [c.first_event for c in self.chunks]
        self._icounts = [c.first_icount for c in self.chunks]
        self._cache: OrderedDict[int, list] = OrderedDict()   # chunk number -> decoded events
        if self._ending is None and self.chunks:
            last = self._chunk_events(len(self.chunks) - 1)[-1]
            if last[0] == Kind.END:
                self._ending = last[4:6]
                self.problem = None       # every event is there; only the index was lost
        if self._ending is None and self.problem is None:
            self.problem = (f"{self.path}: the trace is truncated (the recording stopped before it "
                            f"was closed); its {len(self)} events are readable")

    # --- what the file holds -----------------------------------------------------

    def __len__(self) -> int:
        return self.chunks[-1].first_event + self.chunks[-1].count if self.chunks else 0

    count = __len__

    @property
    def truncated(self) -> bool:
        """True when the trace lacks its END event (killed, cut or damaged)."""
        return self._ending is None

    @property
    def ending(self) -> tuple[str, str] | None:
        """How the run ended, e.g. ("poweroff", "status 0"); None for a truncated trace."""
        if self._ending is None:
            return None
        how, detail = (list(self._ending) + [None, None])[:2]
        return name_of(ENDINGS, how), detail or ""

    # --- events --------------------------------------------------------------------

    def raw_events(self, start: int = 0, stop: int | None = None) -> Iterator[list]:
        """Stored arrays `[kind, icount, hart, pid, *payload]` (absolute icount), from `start`."""
        stop = len(self) if stop is None else min(stop, len(self))
        n = max(start, 0)
        while n < stop:
            c = self._chunk_of(n)
            events = self._chunk_events(c)
            first = self.chunks[c].first_event
            end = min(stop, first + len(events))
            for i in range(n - first, end - first):
                yield events[i]
            n = end

    def events(self, start: int = 0, stop: int | None = None) -> Iterator[Event]:
        for n, raw in enumerate(self.raw_events(start, stop), start=max(start, 0)):
            yield Event(n, raw)

    __iter__ = events

    def event(self, number: int) -> Event:
        if not 0 <= number < len(self):
            raise IndexError(f"event {number} is outside 0..{len(self) - 1}")
        c = self._chunk_of(number)
        return Event(number, self._chunk_events(c)[number - self.chunks[c].first_event])

    def find_icount(self, icount: int) -> int:
        """The number of the first event at or after instruction `icount` (len(self) if none)."""
        c = max(bisect.bisect_right(self._icounts, icount) - 1, 0)
        while c < len(self.chunks):
            if self.chunks[c].last_icount >= icount:
                events = self._chunk_events(c)
                i = bisect.bisect_left([e[1] for e in events], icount)
                return self.chunks[c].first_event + i
            c += 1
        return len(self)

    def verify(self) -> None:
        """Decode every chunk (checking every checksum); raise TraceError on the first bad one."""
        for c in range(len(self.chunks)):
            self._chunk_events(c)

    # --- chunks --------------------------------------------------------------------

    def _chunk_of(self, number: int) -> int:
        return bisect.bisect_right(self._starts, number) - 1

    def _chunk_events(self, c: int) -> list:
        if c in self._cache:
            self._cache.move_to_end(c)
            return self._cache[c]
        info = self.chunks[c]
        try:
            self._file.seek(info.offset)
            record = msgpack.Unpacker(self._file, raw=False, max_buffer_size=fmt.MAX_RECORD_BYTES).unpack()
            events = _decode_chunk_quietly(record, info)
        except (_Bad, *_DECODE_ERRORS, msgpack.OutOfData) as exc:
            raise TraceError(f"{self.path}: chunk {c} at byte {info.offset} is damaged ({_why(exc)}); "
                             f"events from {info.first_event} on cannot be read") from None
        self._cache[c] = events
        if len(self._cache) > CACHED_CHUNKS:
            self._cache.popitem(last=False)
        return events

    def intervals(self):
        """What ran and what was touched per interval of the run (trace/intervals.py), or None
        (no index, an older recorder); a malformed section raises TraceError."""
        if self._intervals is None:
            return None
        from rvtrace.trace.intervals import decode
        return decode(self._intervals)

    def _chunks_from_index(self) -> list[ChunkInfo] | None:
        """The chunk list from the trailing index, or None when it is absent or not trustworthy."""
        if self.size < self._data_start + fmt.FOOTER_SIZE:
            return None
        self._file.seek(self.size - fmt.FOOTER_SIZE)
        offset = fmt.parse_footer(self._file.read(fmt.FOOTER_SIZE))
        if offset is None or not self._data_start <= offset < self.size - fmt.FOOTER_SIZE:
            return None
        try:
            self._file.seek(offset)
            record = msgpack.Unpacker(self._file, raw=False, max_buffer_size=fmt.MAX_RECORD_BYTES).unpack()
            _expect(isinstance(record, list) and len(record) == 3 and record[0] == fmt.TAG_INDEX, "no index")
            _, crc, body = record
            _expect(isinstance(body, bytes) and zlib.crc32(body) == crc, "index checksum")
            index = fmt.unpack(body)
            chunks = [ChunkInfo(*row[:6]) for row in index["chunks"]]
            expected_offset, expected_event = self._data_start, 0
            for c in chunks:
                _expect(all(isinstance(v, int) for v in (c.offset, c.first_event, c.count,
                                                         c.first_icount, c.last_icount))
                        and (c.kinds is None or isinstance(c.kinds, int)), "index row")
                _expect(c.offset >= expected_offset and c.first_event == expected_event
                        and c.count > 0 and c.offset < offset, "index order")
                expected_offset, expected_event = c.offset + 1, c.first_event + c.count
            _expect(index["events"] == expected_event, "index count")
            self._ending = list(index["ending"])
            self._intervals = index.get("intervals")
        except (_Bad, *_DECODE_ERRORS, msgpack.OutOfData):
            self._ending = None
            return None   # fall back to scanning, which finds any real damage
        self.has_index = True
        return chunks

    def _scan(self) -> list[ChunkInfo]:
        """Find the chunks by reading records in order; stop at the first bad one."""
        self._file.seek(self._data_start)
        unpacker = msgpack.Unpacker(self._file, raw=False, max_buffer_size=fmt.MAX_RECORD_BYTES)
        chunks: list[ChunkInfo] = []
        offset, next_event, last_icount = self._data_start, 0, 0
        while True:
            try:
                record = unpacker.unpack()
            except msgpack.OutOfData:
                if offset < self.size:
                    self.problem = (f"{self.path}: the trace is truncated at byte {offset} "
                                    f"(a record was cut short); the {next_event} events before it are readable")
                return chunks
            except _DECODE_ERRORS as exc:
                self.problem = self._damage(offset, next_event, exc)
                return chunks
            if isinstance(record, list) and record and record[0] == fmt.TAG_INDEX:
                return chunks
            try:
                info = _check_chunk_record(record, offset)
                _expect(info.first_event == next_event and info.first_icount >= last_icount, "chunk order")
            except _Bad as exc:
                self.problem = self._damage(offset, next_event, exc)
                return chunks
            chunks.append(info)
            next_event, last_icount = info.first_event + info.count, info.last_icount
            offset = self._data_start + unpacker.tell()

    def _damage(self, offset, n, exc) -> str:
        return (f"{self.path}: the trace is damaged at byte {offset} ({_why(exc)}); "
                f"the {n} events before it are readable")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "TraceReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- helpers ---------------------------------------------------------------------

def _open(path: Path):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise TraceError(f"no such trace file: {path}") from None
    except IsADirectoryError:
        raise TraceError(f"{path} is a directory, not a trace file") from None
    except OSError as exc:
        raise TraceError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_header(f, path: Path) -> tuple[TraceHeader, int]:
    """Parse the first record; return the header and the offset just after it."""
    unpacker = msgpack.Unpacker(f, raw=False, max_buffer_size=fmt.MAX_RECORD_BYTES)
    try:
        record = unpacker.unpack()
    except msgpack.OutOfData:
        if os.fstat(f.fileno()).st_size == 0:
            raise TraceError(f"{path} is empty: not an rvtrace trace "
                             "(or the recording died before writing its header)") from None
        raise TraceError(f"{path} is cut short inside its header: nothing in it is readable") from None
    except _DECODE_ERRORS:
        raise TraceError(f"{path} is not an rvtrace trace (it does not start with a trace header)") from None
    if not (isinstance(record, list) and len(record) == 4 and record[0] == fmt.FORMAT_NAME):
        raise TraceError(f"{path} is not an rvtrace trace (it does not start with a trace header)")
    _, version, crc, body = record
    if not isinstance(version, int) or version < 1:
        raise TraceError(f"{path}: unknown trace format version {version!r}: the file is damaged")
    if version > fmt.VERSION:
        raise TraceError(f"{path} was written by a newer rvtrace (trace format version {version}, "
                         f"this rvtrace reads up to {fmt.VERSION}): upgrade rvtrace")
    if not isinstance(body, bytes) or zlib.crc32(body) != crc:
        raise TraceError(f"{path}: the trace header is damaged (checksum mismatch)")
    try:
        h = fmt.unpack(body)
        header = TraceHeader(version=version, config=dict(h["config"] or {}), seed=h.get("seed"),
                             tool_version=str(h.get("tool_version", "?")),
                             metadata=dict(h.get("metadata") or {}),
                             chunk_events=int(h.get("chunk_events", fmt.CHUNK_EVENTS)),
                             kernel_zlib=h.get("kernel"), disk_zlib=h.get("disk"), path=str(path))
    except (*_DECODE_ERRORS, AttributeError):
        raise TraceError(f"{path}: the trace header is damaged (unexpected contents)") from None
    return header, unpacker.tell()


def _check_chunk_record(record, offset) -> ChunkInfo:
    _expect(isinstance(record, list) and len(record) == 7 and record[0] == fmt.TAG_CHUNK,
            "not a chunk record")
    _, crc, first_event, count, first_icount, last_icount, data = record
    _expect(all(isinstance(v, int) for v in (crc, first_event, count, first_icount, last_icount))
            and isinstance(data, bytes) and count > 0, "malformed chunk record")
    _expect(fmt.chunk_crc(first_event, count, first_icount, last_icount, data) == crc, "checksum mismatch")
    return ChunkInfo(offset, first_event, count, first_icount, last_icount)


def _decode_chunk_quietly(record, info: ChunkInfo) -> list:
    """_decode_chunk with the cyclic garbage collector held off.

    A chunk decodes into thousands of small lists (none of them cyclic); left
    on, the collector runs full passes in the middle of that burst, which is
    what made a move into a cold chunk take 20 ms instead of 3."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _decode_chunk(record, info)
    finally:
        if enabled:
            gc.enable()


def _decode_chunk(record, info: ChunkInfo) -> list:
    """A chunk record's events with absolute icounts, checked against what the index said."""
    checked = _check_chunk_record(record, info.offset)
    _expect(checked == dataclasses.replace(info, kinds=None), "chunk does not match the index")
    stored = fmt.unpack(zlib.decompress(record[6]))
    _expect(isinstance(stored, list) and len(stored) == info.count, "wrong event count")
    icount = info.first_icount
    for ev in stored:   # hot when a move lands in a cold chunk: plain type tests, no generator
        if type(ev) is not list or len(ev) < 4 or type(ev[0]) is not int or type(ev[1]) is not int \
                or type(ev[2]) is not int or type(ev[3]) is not int:
            raise _Bad("malformed event")
        icount += ev[1]
        ev[1] = icount
    _expect(icount == info.last_icount, "icounts do not add up")
    return stored


def _expect(condition, why: str) -> None:
    if not condition:
        raise _Bad(why)


def _why(exc) -> str:
    if isinstance(exc, _Bad):
        return str(exc)
    if isinstance(exc, msgpack.OutOfData):
        return "cut short"
    return f"undecodable: {type(exc).__name__}"
