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
import hashlib
import os
import zlib
from collections import OrderedDict
import dataclasses
import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import msgpack

from rvtrace.errors import UserError
from rvtrace.files import check_input
from rvtrace.trace import format as fmt
from rvtrace.trace import validate
from rvtrace.trace.events import ENDINGS, Event, Kind, name_of
from rvtrace.trace.errors import TraceError
from rvtrace.trace.snapshots import record_crc
from rvtrace.trace.validate import Invalid

# Decoded chunks kept in memory (least recently used dropped first): enough for
# a replay cursor moving back and forth across a chunk boundary.
CACHED_CHUNKS = 8

# A file whose chunks hold at most this many bytes is checked whole when it is
# opened (a few milliseconds per chunk), so damage anywhere in it is known, and
# said, before the first event is shown; a longer one is checked chunk by chunk
# as it is read.
EAGER_CHECK_BYTES = 4 << 20

# Everything a damaged msgpack stream or zlib body can raise while decoding (and a
# file that fails to read half-way).
_DECODE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError,
                  msgpack.UnpackException, zlib.error, EOFError, Invalid, OSError)


class _Bad(Exception):
    """A record that is not what it should be (internal; becomes `problem` or TraceError)."""


@dataclass(frozen=True)
class SnapshotInfo:
    offset: int          # byte offset of the snapshot record
    icount: int          # the instruction count it was laid at
    events: int          # events written before it


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
    kernel_name: str = "kernel"      # file names only: a trace never holds a host path
    disk_name: str | None = None
    kernel_sha256: str | None = None
    disk_sha256: str | None = None
    kernel_size: int | None = None   # inflated sizes, declared before inflating
    disk_size: int | None = None

    @property
    def harts(self) -> int:
        return self.config.get("harts", 1)

    def kernel_elf(self) -> bytes | None:
        """The recorded kernel ELF's bytes (None if the recorder did not store it)."""
        return self._inflate(self.kernel_zlib, self.kernel_size, self.kernel_sha256,
                             validate.MAX_KERNEL_BYTES, f"embedded kernel {self.kernel_name}")

    def disk_image(self) -> bytes | None:
        """The recorded disk image's bytes (None if there was no disk)."""
        return self._inflate(self.disk_zlib, self.disk_size, self.disk_sha256,
                             validate.MAX_DISK_BYTES, f"embedded disk image {self.disk_name or ''}".strip())

    def _inflate(self, data, declared, sha, cap, what):
        if data is None:
            return None
        try:
            out = validate.inflate(data, declared=declared, cap=cap, what=what,
                                   undeclared=validate.MAX_UNDECLARED_BYTES)
        except Invalid as exc:
            raise TraceError(f"{self.path}: {exc}") from None
        if sha is not None and hashlib.sha256(out).hexdigest() != sha:
            raise TraceError(f"{self.path}: the {what} does not match its recorded sha256")
        return out


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
            self.damaged = False                 # ... and it is so because something in it is wrong
            self.has_index = False
            self._ending: list | None = None
            self._intervals = None               # the index's intervals section, undecoded
            self.snapshots: list[SnapshotInfo] = []   # snapshot records, by icount (trace/snapshots.py)
            self.chunks: list[ChunkInfo] = self._chunks_from_index() or self._scan()
        except BaseException:
            self._file.close()
            raise
        self._cache: OrderedDict[int, list] = OrderedDict()   # chunk number -> decoded events
        self._reindex()
        self._check_opening()
        if self._ending is None and self.problem is None:
            self.problem = (f"{self.path}: the trace is truncated (the recording stopped before it "
                            f"was closed); its {len(self)} events are readable")

    def _reindex(self) -> None:
        self._starts = [c.first_event for c in self.chunks]
        self._icounts = [c.first_icount for c in self.chunks]
        self._cache.clear()

    def _check_opening(self) -> None:
        """Check what can be checked now: every chunk of a small file, the last one of any.

        An index is believed only when its last chunk ends where the index
        starts and holds the END the index claims; otherwise the chunks are
        found again by scanning (an index that leaves out the last chunk
        must not hide it)."""
        if self.has_index and not self._index_agrees():
            self.has_index, self._ending, self.problem, self.damaged = False, None, None, False
            self.snapshots = []
            self.chunks = self._scan()
            self._reindex()
        eager = self.size - self._data_start <= EAGER_CHECK_BYTES
        for c in (range(len(self.chunks)) if eager else range(len(self.chunks) - 1, len(self.chunks))):
            try:
                self._chunk_events(c)
            except TraceError:
                # The readable prefix ends before the bad chunk; `problem` says where and why.
                self.chunks = self.chunks[:c]
                self._reindex()
                self._ending = None
                return
        if self._ending is None and self.chunks:
            last = self._chunk_events(len(self.chunks) - 1)[-1]
            if last[0] == Kind.END:
                self._ending = last[4:6]
                if not self.damaged:
                    self.problem = None   # every event is there; only the index was lost

    def _index_agrees(self) -> bool:
        last = self.chunks[-1] if self.chunks else None
        if last is None:
            return self._index_events == 0
        try:
            self._file.seek(last.offset)
            unpacker = msgpack.Unpacker(self._file, raw=False, max_buffer_size=fmt.MAX_RECORD_BYTES)
            unpacker.skip()
            if last.offset + unpacker.tell() != self._index_offset:
                return False
            end = self._chunk_events(len(self.chunks) - 1)[-1]
        except (TraceError, *_DECODE_ERRORS, msgpack.OutOfData):
            return False
        return end[0] == Kind.END and list(end[4:6]) == list(self._ending)

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
            events = _decode_chunk_quietly(record, info, self.header.harts, c == len(self.chunks) - 1)
        except (_Bad, *_DECODE_ERRORS, msgpack.OutOfData) as exc:
            self.damaged = True
            self.problem = (f"{self.path}: the trace is damaged at byte {info.offset} (chunk {c}: "
                            f"{_why(exc)}); the {info.first_event} events before it are readable")
            self._ending = None
            raise TraceError(self.problem) from None
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

    def snapshot_body(self, info: "SnapshotInfo") -> bytes:
        """The (compressed) body of a snapshot record, checked against its CRC and the list."""
        try:
            self._file.seek(info.offset)
            record = msgpack.Unpacker(self._file, raw=False, max_buffer_size=fmt.MAX_RECORD_BYTES).unpack()
            _expect(_snapshot_record(record) == (info.icount, info.events), "not the snapshot the index lists")
        except (_Bad, *_DECODE_ERRORS, msgpack.OutOfData) as exc:
            raise TraceError(f"{self.path}: the snapshot at byte {info.offset} (icount {info.icount}) "
                             f"is damaged ({_why(exc)})") from None
        return record[4]

    def _snapshots_from_index(self, rows, index_offset: int) -> list["SnapshotInfo"]:
        """The index's snapshot rows, checked; a malformed list is ignored (no snapshots)."""
        if rows is None:
            return []
        out, last = [], (self._data_start - 1, -1)
        try:
            _expect(type(rows) is list, "snapshot list")
            for row in rows:
                _expect(type(row) is list and len(row) == 3 and all(type(v) is int for v in row), "row")
                info = SnapshotInfo(*row)
                _expect(last[0] < info.offset < index_offset and last[1] < info.icount <= validate.MAX_ICOUNT
                        and 0 <= info.events, "order")
                out.append(info)
                last = (info.offset, info.icount)
        except _Bad:
            return []
        return out

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
            _expect(isinstance(index, dict) and isinstance(index.get("chunks"), list), "index body")
            rows = index["chunks"]
            _expect(all(type(r) is list and 5 <= len(r) <= 6 for r in rows), "index row")
            chunks = [ChunkInfo(*row[:6]) for row in rows]
            expected_offset, expected_event, last_icount = self._data_start, 0, 0
            for c in chunks:
                _expect(all(type(v) is int for v in (c.offset, c.first_event, c.count,
                                                     c.first_icount, c.last_icount))
                        and (c.kinds is None or type(c.kinds) is int and c.kinds >= 0), "index row")
                _expect(c.offset >= expected_offset and c.first_event == expected_event
                        and 0 < c.count <= validate.MAX_CHUNK_EVENTS and c.offset < offset
                        and last_icount <= c.first_icount <= c.last_icount <= validate.MAX_ICOUNT,
                        "index order")
                expected_offset, expected_event = c.offset + 1, c.first_event + c.count
                last_icount = c.last_icount
            _expect(index.get("events") == expected_event, "index count")
            ending = index.get("ending")
            _expect(type(ending) is list and len(ending) == 2 and type(ending[0]) is int
                    and type(ending[1]) is str, "index ending")
            self._ending = list(ending)
            self._index_offset, self._index_events = offset, expected_event
            self._intervals = index.get("intervals")
            self.snapshots = self._snapshots_from_index(index.get("snapshots"), offset)
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
            if isinstance(record, list) and record and record[0] == fmt.TAG_SNAPSHOT:
                try:
                    icount, events = _snapshot_record(record)
                    _expect(events == next_event and icount >= last_icount, "snapshot out of order")
                except _Bad as exc:
                    self.problem = self._damage(offset, next_event, exc)
                    return chunks
                if not self.snapshots or icount > self.snapshots[-1].icount:
                    self.snapshots.append(SnapshotInfo(offset, icount, events))
                offset = self._data_start + unpacker.tell()
                continue
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
        self.damaged = True
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
    # Only a regular file: a FIFO would block the open, /proc/self/mem fails mid-read.
    try:
        if os.path.exists(path) and not os.path.isdir(path):
            check_input(path, "trace")
    except UserError as exc:
        raise TraceError(str(exc)) from None
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
    except OSError as exc:
        raise TraceError(f"cannot read {path}: {exc.strerror or exc}") from None
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
        h = validate.check_header(fmt.unpack(body))
    except Invalid as exc:
        raise TraceError(f"{path}: the trace header is invalid: {exc}") from None
    except _DECODE_ERRORS:
        raise TraceError(f"{path}: the trace header is damaged (unexpected contents)") from None
    config = h["config"]
    header = TraceHeader(version=version, config=dict(config), seed=h.get("seed"),
                         tool_version=str(h.get("tool_version") or "?"),
                         metadata=dict(h.get("metadata") or {}),
                         chunk_events=h.get("chunk_events") or fmt.CHUNK_EVENTS,
                         kernel_zlib=h.get("kernel"), disk_zlib=h.get("disk"), path=str(path),
                         kernel_name=_file_name(h.get("kernel_name") or config.get("kernel")) or "kernel",
                         disk_name=_file_name(h.get("disk_name") or config.get("disk")),
                         kernel_sha256=h.get("kernel_sha256"), disk_sha256=h.get("disk_sha256"),
                         kernel_size=h.get("kernel_size"), disk_size=h.get("disk_size"))
    return header, unpacker.tell()


def _file_name(value) -> str | None:
    """The last part of a path an older recorder stored (never used to open anything)."""
    if not isinstance(value, str) or not value:
        return None
    name = value.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c if c.isprintable() else "?" for c in name)[:100] or None


def _check_chunk_record(record, offset) -> ChunkInfo:
    _expect(isinstance(record, list) and len(record) == 7 and record[0] == fmt.TAG_CHUNK,
            "not a chunk record")
    _, crc, first_event, count, first_icount, last_icount, data = record
    _expect(all(isinstance(v, int) for v in (crc, first_event, count, first_icount, last_icount))
            and isinstance(data, bytes) and count > 0, "malformed chunk record")
    _expect(count <= validate.MAX_CHUNK_EVENTS, f"a chunk of {count} events (at most "
            f"{validate.MAX_CHUNK_EVENTS} allowed)")
    _expect(0 <= first_event and 0 <= first_icount <= last_icount <= validate.MAX_ICOUNT,
            "chunk numbers out of range")
    _expect(fmt.chunk_crc(first_event, count, first_icount, last_icount, data) == crc, "checksum mismatch")
    return ChunkInfo(offset, first_event, count, first_icount, last_icount)


def _snapshot_record(record) -> tuple[int, int]:
    """(icount, events) of a well-formed snapshot record whose CRC matches; the body is
    checked when it is used (trace/snapshots.py)."""
    _expect(isinstance(record, list) and len(record) == 5 and record[0] == fmt.TAG_SNAPSHOT,
            "not a snapshot record")
    _, crc, icount, events, body = record
    _expect(all(type(v) is int for v in (crc, icount, events)) and type(body) is bytes
            and 0 <= icount <= validate.MAX_ICOUNT and 0 <= events, "malformed snapshot record")
    _expect(record_crc(icount, events, body) == crc, "snapshot checksum mismatch")
    return icount, events


def _decode_chunk_quietly(record, info: ChunkInfo, harts: int, last_chunk: bool) -> list:
    """_decode_chunk with the cyclic garbage collector held off.

    A chunk decodes into thousands of small lists (none of them cyclic); left
    on, the collector runs full passes in the middle of that burst, which is
    what made a move into a cold chunk take 20 ms instead of 3."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _decode_chunk(record, info, harts, last_chunk)
    finally:
        if enabled:
            gc.enable()


def _decode_chunk(record, info: ChunkInfo, harts: int, last_chunk: bool) -> list:
    """A chunk record's events with absolute icounts, checked against what the index said
    and against the event table (validate.check_events)."""
    checked = _check_chunk_record(record, info.offset)
    _expect(checked == dataclasses.replace(info, kinds=None), "chunk does not match the index")
    data = validate.inflate(record[6], declared=None, cap=validate.MAX_CHUNK_BYTES, what="chunk")
    stored = fmt.unpack(data)
    _expect(isinstance(stored, list) and len(stored) == info.count, "wrong event count")
    validate.check_events(stored, first_event=info.first_event, first_icount=info.first_icount,
                          harts=harts, last_chunk=last_chunk)
    icount = info.first_icount
    for ev in stored:
        icount += ev[1]
        ev[1] = icount
    _expect(icount == info.last_icount, "icounts do not add up")
    return stored


def _expect(condition, why: str) -> None:
    if not condition:
        raise _Bad(why)


def _why(exc) -> str:
    if isinstance(exc, (_Bad, Invalid)):
        return str(exc)
    if isinstance(exc, msgpack.OutOfData):
        return "cut short"
    return f"undecodable: {type(exc).__name__}"
