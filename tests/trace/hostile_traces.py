"""Hostile traces: files whose every checksum is right and whose content is not.

`write_trace` lays out a trace record by record (docs/trace-format.md) from
whatever values it is given, recomputing every CRC, so a test can hand the
reader wrong types, huge sizes, decompression bombs, deep nesting, lying
indexes and impossible events that no checksum catches. `CASES` names one
file per hole a hostile user tried; `outcome` reads a file the way `dump`
and the debugger do and says how it ended.
"""

from __future__ import annotations

import io
import time
import tracemalloc
import zlib

from rvtrace.analysis.dump import dump
from rvtrace.errors import UserError
from rvtrace.trace import format as fmt
from rvtrace.trace.events import Kind
from rvtrace.trace.reader import TraceReader
from rvtrace.trace.snapshots import record_crc

CONFIG = {"kernel": "kernel.elf", "disk": None, "bootargs": "", "harts": 1, "seed": 0, "mem_mib": 128}


def header_body(**changes) -> dict:
    body = {"config": dict(CONFIG), "seed": 0, "tool_version": "test", "kernel": None, "disk": None,
            "metadata": {"program": "hostile"}, "chunk_events": 4096}
    for key, value in changes.items():
        if key.startswith("config_"):
            body["config"][key[len("config_"):]] = value
        else:
            body[key] = value
    return body


def good_events(n: int = 6, *, end: bool = True) -> list[list]:
    """Decoded events `[kind, icount, hart, pid, *payload]`, ending with END when `end`."""
    evs = [[Kind.FORK, 100 + 10 * i, 0, 1, i + 2] for i in range(n - 1 if end else n)]
    if end:
        evs.append([Kind.END, 100 + 10 * n, 0, 0, 0, "status 0"])
    return evs


def stored(events: list[list]) -> list[list]:
    """Decoded events -> the stored form (icount as the delta to the previous event)."""
    out, last = [], None
    for ev in events:
        if not isinstance(ev, list) or len(ev) < 2:
            out.append(ev)
            continue
        ev = list(ev)
        icount = ev[1]
        ev[1] = 0 if last is None or not isinstance(icount, int) or not isinstance(last, int) else icount - last
        last = icount
        out.append(ev)
    return out


def chunk_record(first_event: int, events: list[list], *, data: bytes | None = None,
                 count: int | None = None, first_icount=None, last_icount=None) -> bytes:
    """A chunk record with a right CRC over whatever it is given."""
    count = len(events) if count is None else count
    icounts = [e[1] for e in events if isinstance(e, list) and len(e) > 1 and isinstance(e[1], int)]
    first_icount = (icounts[0] if icounts else 0) if first_icount is None else first_icount
    last_icount = (icounts[-1] if icounts else 0) if last_icount is None else last_icount
    if data is None:
        data = zlib.compress(fmt.pack(stored(events)))
    crc = fmt.chunk_crc(first_event, count, first_icount, last_icount, data)
    return fmt.pack([fmt.TAG_CHUNK, crc, first_event, count, first_icount, last_icount, data])


def snapshot_record(icount: int, events: int, body: bytes = b"x", *, crc: int | None = None) -> bytes:
    """A snapshot record (its body is only checked when a replay uses it)."""
    crc = record_crc(icount, events, body) if crc is None else crc
    return fmt.pack([fmt.TAG_SNAPSHOT, crc, icount, events, body])


def write_trace(path, body: dict | bytes, chunks: list[bytes], *, index="auto",
                version: int = fmt.VERSION, ending=(0, "status 0")) -> object:
    """Header + chunk records + an index and footer: `index` "auto" builds a true one, a
    function turns the true one into a lie, a value is written as given, None leaves it out."""
    raw = body if isinstance(body, bytes) else fmt.pack(body)
    out = bytearray(fmt.pack([fmt.FORMAT_NAME, version, zlib.crc32(raw), raw]))
    rows, n = [], 0
    for rec in chunks:
        offset = len(out)
        out += rec
        try:
            r = fmt.unpack(rec) if len(rec) < (1 << 20) else None
        except ValueError:              # a record cut short on purpose
            r = None
        if isinstance(r, list) and len(r) == 7:
            rows.append([offset, r[2], r[3], r[4], r[5]])
            n = r[2] + r[3] if isinstance(r[2], int) and isinstance(r[3], int) else n
    if index == "auto" or callable(index):
        true = {"chunks": rows, "events": n, "ending": list(ending),
                "last_icount": rows[-1][4] if rows else 0}
        index = index(true) if callable(index) else true
    if index is not None:
        ibody = fmt.pack(index)
        index_offset = len(out)
        out += fmt.pack([fmt.TAG_INDEX, zlib.crc32(ibody), ibody])
        out += fmt.footer(index_offset)
    with open(path, "wb") as f:
        f.write(out)
    return path


_BOMBS: dict[int, bytes] = {}


def bomb(mib: int) -> bytes:
    """zlib of `mib` MiB of zeros, built a MiB at a time (kept: a 100 MiB bomb is 100 KB)."""
    if mib not in _BOMBS:
        c = zlib.compressobj(9)
        zeros = bytes(1 << 20)
        parts = [c.compress(zeros) for _ in range(mib)]
        _BOMBS[mib] = b"".join(parts) + c.flush()
    return _BOMBS[mib]


def nested(depth: int, leaf=1):
    v = leaf
    for _ in range(depth):
        v = [v]
    return v


# --- the catalogue -----------------------------------------------------------------------

def _one_chunk(events, **kw):
    return [chunk_record(0, events, **kw)]


def _cases() -> dict:
    """name -> function(path) writing that hostile trace."""
    cases = {}

    def case(name):
        def register(f):
            cases[name] = f
            return f
        return register

    # The header and its configuration: wrong types and impossible ranges.
    for key, value in (("mem_mib", 2048), ("mem_mib", "128"), ("mem_mib", 128.5), ("mem_mib", 0),
                       ("harts", "2"), ("harts", 0), ("harts", 9), ("harts", None), ("seed", -1),
                       ("seed", "7"), ("kernel", 7), ("bootargs", b"x"), ("disk", ["a"])):
        cases[f"config {key}={value!r}"] = (
            lambda p, k=key, v=value: write_trace(p, header_body(**{f"config_{k}": v}), _one_chunk(good_events())))
    for key, value in (("kernel", "a string"), ("disk", 12), ("metadata", [1]), ("chunk_events", 0),
                       ("chunk_events", 2**40), ("config", "x"), ("config", None), ("seed", "s"),
                       ("kernel_size", 2**40), ("disk_size", -1), ("kernel_name", 5),
                       ("metadata", {"deep": nested(1000)})):
        shown = "nested 1000 deep" if key == "metadata" and isinstance(value, dict) else repr(value)[:20]
        cases[f"header {key}={shown}"] = (
            lambda p, k=key, v=value: write_trace(p, header_body(**{k: v}), _one_chunk(good_events())))

    @case("header body not a map")
    def _(p):
        write_trace(p, fmt.pack([1, 2, 3]), [])

    @case("header body is not msgpack")
    def _(p):
        write_trace(p, b"\xc1\xc1\xc1", [])

    @case("newer format version")
    def _(p):
        write_trace(p, header_body(), _one_chunk(good_events()), version=fmt.VERSION + 1)

    # Decompression bombs: an embedded file or a chunk that inflates to far more than allowed.
    @case("kernel bomb, no declared size")
    def _(p):
        write_trace(p, header_body(kernel=bomb(80)), _one_chunk(good_events()))

    @case("kernel bomb, declared small")
    def _(p):
        write_trace(p, header_body(kernel=bomb(80), kernel_size=4096), _one_chunk(good_events()))

    @case("disk bomb, declared huge")
    def _(p):
        write_trace(p, header_body(disk=bomb(20), disk_size=6 << 30), _one_chunk(good_events()))

    @case("disk bomb, no declared size")
    def _(p):
        write_trace(p, header_body(disk=bomb(80)), _one_chunk(good_events()))

    @case("chunk bomb")
    def _(p):
        write_trace(p, header_body(), _one_chunk(good_events(), data=bomb(80)))

    @case("kernel not zlib")
    def _(p):
        write_trace(p, header_body(kernel=b"not zlib at all", kernel_size=10), _one_chunk(good_events()))

    @case("kernel sha256 mismatch")
    def _(p):
        write_trace(p, header_body(kernel=zlib.compress(b"\x7fELF" + bytes(60)), kernel_size=64,
                                   kernel_sha256="0" * 64), _one_chunk(good_events()))

    # Huge sizes claimed by a chunk.
    @case("chunk count 2**40")
    def _(p):
        write_trace(p, header_body(), _one_chunk(good_events(), count=2**40))

    # Deep nesting inside an event.
    @case("event field nested 1000 deep")
    def _(p):
        evs = good_events()
        evs.insert(1, [Kind.SCHEDULE, 105, 0, 1, 0, nested(1000)])
        write_trace(p, header_body(), _one_chunk(evs))

    @case("syscall args nested 900 deep")
    def _(p):
        evs = good_events()
        evs.insert(1, [Kind.SYSCALL_ENTER, 105, 0, 1, 16, nested(900)])
        write_trace(p, header_body(), _one_chunk(evs))

    # Events that no run produces.
    def bad_event(name, ev, at=2):
        def write(p):
            evs = good_events()
            evs.insert(at, ev)
            write_trace(p, header_body(), _one_chunk(evs))
        cases[name] = write

    bad_event("pid -1", [Kind.FORK, 125, 0, -1, 3])
    bad_event("pid 2**64-1", [Kind.FORK, 125, 0, 2**64 - 1, 3])
    bad_event("hart 7 on 1 hart", [Kind.FORK, 125, 7, 1, 3])
    bad_event("unknown kind 99", [99, 125, 0, 1, 3])
    bad_event("kind a string", ["fork", 125, 0, 1, 3])
    bad_event("va a string", [Kind.PAGE_FAULT, 125, 0, 1, 13, "0x10", 0, 0, 0])
    bad_event("console data an int", [Kind.CONSOLE_OUT, 125, 0, 1, 7])
    bad_event("argv of ints", [Kind.EXEC, 125, 0, 1, "echo", [1, 2]])
    bad_event("END in the middle", [Kind.END, 125, 0, 0, 0, ""])
    bad_event("icount a float", [Kind.FORK, 125.5, 0, 1, 3])
    bad_event("event not an array", {"kind": 7})
    bad_event("event too short", [Kind.FORK, 125])

    @case("icount goes backwards")
    def _(p):
        evs = good_events()
        evs[3][1] = 50
        write_trace(p, header_body(), _one_chunk(evs, first_icount=100, last_icount=evs[-1][1]))

    @case("icounts do not add up")
    def _(p):
        write_trace(p, header_body(), _one_chunk(good_events(), last_icount=10**6))

    @case("chunks out of icount order")
    def _(p):
        a, b = good_events(4, end=False), good_events(3)
        write_trace(p, header_body(), [chunk_record(0, b), chunk_record(3, a)])

    @case("chunk numbering gap")
    def _(p):
        write_trace(p, header_body(), [chunk_record(0, good_events(3, end=False)),
                                       chunk_record(7, [[Kind.END, 500, 0, 0, 0, ""]])])

    @case("wrong event count in chunk")
    def _(p):
        evs = good_events()
        write_trace(p, header_body(), _one_chunk(evs, count=len(evs) + 1))

    # Indexes that lie about the chunks.
    def two_chunks():
        evs = good_events(12)
        return [chunk_record(0, evs[:6]), chunk_record(6, evs[6:])], evs

    @case("index leaves out the last chunk")
    def _(p):
        chunks, _ = two_chunks()
        write_trace(p, header_body(), chunks,
                    index=lambda true: {**true, "chunks": true["chunks"][:1], "events": 6,
                                        "last_icount": true["chunks"][0][4]})

    @case("index claims a chunk that is not there")
    def _(p):
        chunks, _ = two_chunks()
        write_trace(p, header_body(), chunks, index={"chunks": [[40, 0, 6, 0, 1], [60, 6, 6, 2, 3],
                                                                [80, 12, 6, 4, 5]],
                                                     "events": 18, "ending": [0, ""], "last_icount": 5})

    @case("index rows of the wrong type")
    def _(p):
        chunks, _ = two_chunks()
        write_trace(p, header_body(), chunks, index={"chunks": ["a", None], "events": "x", "ending": 3})

    @case("index is a list")
    def _(p):
        chunks, _ = two_chunks()
        write_trace(p, header_body(), chunks, index=[1, 2, 3])

    @case("index ending disagrees with END")
    def _(p):
        chunks, _ = two_chunks()
        write_trace(p, header_body(), chunks, ending=(3, "guest fault"))

    @case("index row with a huge count")
    def _(p):
        chunks, _ = two_chunks()
        write_trace(p, header_body(), chunks, index={"chunks": [[100, 0, 2**40, 0, 1]], "events": 2**40,
                                                     "ending": [0, ""], "last_icount": 1})

    # Snapshot records (their bodies are checked by replay: tests/replay/test_recorded_snapshots.py).
    def with_snapshot(record):
        evs = good_events(12)
        return [chunk_record(0, evs[:6]), record, chunk_record(6, evs[6:])]

    @case("snapshot record cut short, no index")
    def _(p):
        write_trace(p, header_body(), with_snapshot(snapshot_record(3, 6, bytes(100))[:40]), index=None)

    @case("snapshot record with a wrong checksum, no index")
    def _(p):
        write_trace(p, header_body(), with_snapshot(snapshot_record(3, 6, crc=12345)), index=None)

    @case("snapshot record that does not follow its events, no index")
    def _(p):
        write_trace(p, header_body(), with_snapshot(snapshot_record(3, 4)), index=None)

    @case("index snapshot rows out of order")
    def _(p):
        write_trace(p, header_body(), with_snapshot(snapshot_record(3, 6)),
                    index=lambda true: {**true, "snapshots": [[10**6, 5, 6], [40, 1, 6]]})

    @case("index snapshot rows of the wrong type")
    def _(p):
        write_trace(p, header_body(), with_snapshot(snapshot_record(3, 6)),
                    index=lambda true: {**true, "snapshots": [["a", None, 1.5]]})

    @case("no index, last chunk lacks END")
    def _(p):
        write_trace(p, header_body(), _one_chunk(good_events(5, end=False)), index=None)

    return cases


CASES = _cases()


def outcome(path, *, with_dump: bool = True) -> tuple[str, str]:
    """Read everything `dump` and replay would: ("ok"|"prefix"|"error", message).

    "prefix": the reader kept a readable prefix and said what was lost;
    "error": one line (a UserError) refused the file. Anything else escapes."""
    try:
        with TraceReader(path) as t:
            t.header.kernel_elf()
            t.header.disk_image()
            n = sum(1 for _ in t)
            problem = t.problem
        if with_dump:
            out, err = io.StringIO(), io.StringIO()
            dump(path, out, err=err)
            dump(path, io.StringIO(), err=io.StringIO(), as_json=True)
        return ("prefix", problem) if problem else ("ok", f"{n} events")
    except UserError as exc:
        return "error", str(exc)


def measured(path) -> tuple[tuple[str, str], float, int]:
    """outcome(path), the seconds it took and the peak bytes Python allocated meanwhile."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = outcome(path)
    finally:
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, seconds, peak
