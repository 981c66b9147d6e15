"""TraceWriter: stream events into a trace file, one flushed chunk at a time.

Memory stays flat however long the run: only the current chunk's events and
one small index row per written chunk are kept. The header is on disk before
the first event, and every chunk is flushed when full, so a recording killed
at any moment leaves a file that reads back up to its last complete chunk.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from pathlib import Path

import msgpack

from rvtrace import __version__
from rvtrace.trace import format as fmt
from rvtrace.trace.events import ENDINGS, Kind, check_event, code_of
from rvtrace.trace.errors import TraceError
from rvtrace.trace.snapshots import record_crc


HEADER_LEVEL = 6

# How long a written event may wait in memory before a flush is due. Checked at
# every event and at every input poll of the recorder (a fraction of a second
# apart), so a recording killed outright (SIGKILL, power cut) loses at most the
# last second.
FLUSH_EVERY_S = 0.5


class TraceWriter:
    """Write a trace: `w.event(Kind.FORK, icount, hart, pid, child)`, then `w.close("poweroff")`.

    `config` is the machine configuration (a dict of plain values), `kernel`
    and `disk` the bytes of the kernel ELF and disk image, stored compressed
    so the trace replays with nothing else. `metadata` is free-form.

    A trace names its kernel and disk by file name and sha256, never by a
    host path: `kernel` and `disk` paths in `config` are reduced to their
    names (`kernel_name`/`disk_name` override them). `compress(data, level)`
    compresses them (zlib.compress, or a cache of its results).
    """

    def __init__(self, path, *, config: dict, seed: int = 0, kernel: bytes | None = None,
                 disk: bytes | None = None, metadata: dict | None = None,
                 chunk_events: int = fmt.CHUNK_EVENTS, check: bool = True,
                 kernel_name: str | None = None, disk_name: str | None = None, compress=zlib.compress):
        self.path = Path(path)
        self.chunk_events = chunk_events
        self.check = check                       # validate payload field counts
        self.n_events = 0                        # events written or buffered
        self.closed = False
        self._pending: list[list] = []           # current chunk, icount stored as delta
        self._first_icount = 0                   # icount of the current chunk's first event
        self._last_icount = 0
        # [offset, first_event, count, first_icount, last_icount, kinds]: kinds has bit k set
        # when the chunk holds an event of kind k, so a search for some kinds skips the rest.
        self._index: list[list[int]] = []
        self._kinds_mask = 0
        self._snapshots: list[list[int]] = []    # [offset, icount, events] per snapshot record
        self.snapshot_bytes = 0
        self._flushed_at = time.monotonic()
        config = dict(config)
        for key in ("kernel", "disk"):
            if config.get(key):
                config[key] = _file_name(config[key])
        kernel_name = kernel_name or config.get("kernel") or "kernel"
        disk_name = disk_name or config.get("disk") or ("disk.img" if disk is not None else None)
        header = {
            "config": config, "seed": seed, "tool_version": __version__,
            "kernel_name": _file_name(kernel_name), "disk_name": _file_name(disk_name) if disk_name else None,
            "kernel_sha256": hashlib.sha256(kernel).hexdigest() if kernel is not None else None,
            "disk_sha256": hashlib.sha256(disk).hexdigest() if disk is not None else None,
            "kernel_size": len(kernel) if kernel is not None else None,
            "disk_size": len(disk) if disk is not None else None,
            # Level 6: level 9 costs ten times the time (a quarter second for a 2 MB
            # disk image, paid by every recording) for 1-2 % smaller files.
            "kernel": compress(kernel, HEADER_LEVEL) if kernel is not None else None,
            "disk": compress(disk, HEADER_LEVEL) if disk is not None else None,
            "metadata": metadata or {}, "chunk_events": chunk_events,
        }
        body = msgpack.packb(header, use_bin_type=True, default=str)   # paths in config -> str
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "wb")
        except OSError as exc:
            raise TraceError(f"cannot write the trace {self.path}: {exc.strerror or exc}") from exc
        self._write(fmt.pack([fmt.FORMAT_NAME, fmt.VERSION, zlib.crc32(body), body]))
        self._file.flush()

    # --- the hot path ------------------------------------------------------------

    def event(self, kind: int, icount: int, hart: int, pid: int, *payload) -> None:
        """Append one event; `payload` in the order of its kind's fields (events.KINDS)."""
        if self.check:
            check_event(kind, payload)
        if not self._pending:
            self._first_icount = self._last_icount = max(icount, self._last_icount)
        delta = icount - self._last_icount
        if delta < 0:
            raise ValueError(f"event icount {icount} goes back in time (last {self._last_icount})")
        self._last_icount = icount
        self._pending.append([int(kind), delta, hart, pid, *payload])
        self._kinds_mask |= 1 << kind
        self.n_events += 1
        if len(self._pending) >= self.chunk_events or time.monotonic() - self._flushed_at >= FLUSH_EVERY_S:
            self.flush()

    def flush_if_due(self) -> None:
        """Flush when the buffered events have waited FLUSH_EVERY_S of wall time or more.

        The recorder calls this often (at every input poll): it is the bound
        on what a killed recording loses."""
        if self._pending and time.monotonic() - self._flushed_at >= FLUSH_EVERY_S:
            self.flush()

    # --- chunks, index, footer ---------------------------------------------------

    def flush(self) -> None:
        """Write the buffered events as one chunk and push it to the disk."""
        self._flushed_at = time.monotonic()
        if not self._pending:
            return
        count = len(self._pending)
        first_event = self.n_events - count
        data = fmt.compress_events(self._pending)
        crc = fmt.chunk_crc(first_event, count, self._first_icount, self._last_icount, data)
        offset = self._file.tell()
        self._write(fmt.pack([fmt.TAG_CHUNK, crc, first_event, count,
                              self._first_icount, self._last_icount, data]))
        self._file.flush()
        self._index.append([offset, first_event, count, self._first_icount, self._last_icount,
                            self._kinds_mask])
        self._pending = []
        self._kinds_mask = 0

    def snapshot(self, icount: int, body: bytes) -> None:
        """Lay a snapshot record (trace/snapshots.py) after the events written so far: the
        buffered ones go first as a chunk, so the file stays valid at every record."""
        self.flush()
        offset = self._file.tell()
        crc = record_crc(icount, self.n_events, body)
        record = fmt.pack([fmt.TAG_SNAPSHOT, crc, icount, self.n_events, body])
        self._write(record)
        self.snapshot_bytes += len(record)
        self._file.flush()
        self._snapshots.append([offset, icount, self.n_events])

    def close(self, ending: str = "poweroff", detail: str = "", *, icount: int | None = None,
              hart: int = 0, pid: int = 0, intervals: bytes | None = None) -> None:
        """Finish the run: an END event saying how it ended, the last chunk, the index, the footer.
        `intervals`: the index's intervals section (trace/intervals.py), if the recorder kept one."""
        if self.closed:
            return
        how = code_of(ENDINGS, ending)
        end_icount = self._last_icount if icount is None else icount
        self.event(Kind.END, end_icount, hart, pid, how, detail)
        self.flush()
        index = {"chunks": self._index, "events": self.n_events,
                 "ending": [how, detail], "last_icount": self._last_icount}
        if intervals is not None:
            index["intervals"] = intervals
        if self._snapshots:
            index["snapshots"] = self._snapshots
        body = fmt.pack(index)
        index_offset = self._file.tell()
        self._write(fmt.pack([fmt.TAG_INDEX, zlib.crc32(body), body]))
        self._write(fmt.footer(index_offset))
        self._file.close()
        self.closed = True

    def abandon(self) -> None:
        """Close the file as it is (what a killed recording leaves); for tests and emergencies."""
        if not self.closed:
            self.flush()
            self._file.close()
            self.closed = True

    @property
    def bytes_written(self) -> int:
        return self._file.tell() if not self.closed else self.path.stat().st_size

    def _write(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except OSError as exc:
            raise TraceError(f"writing the trace {self.path} failed: {exc.strerror or exc}") from exc

    def __enter__(self) -> "TraceWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        elif issubclass(exc_type, KeyboardInterrupt):
            self.close("interrupted", "Ctrl-C")
        else:
            self.close("error", f"{exc_type.__name__}: {exc}")


def _file_name(value) -> str:
    """The name of a file, without the directories of the host that recorded it."""
    return Path(str(value)).name
