"""The trace file: round trips, seeking, and every way a file can be wrong."""

import os

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rvtrace.trace import Kind, TraceError, TraceReader, TraceWriter, read_header
from rvtrace.trace.events import KINDS
from rvtrace.trace.synthetic import bytes_per_event, synthetic_events, write_synthetic

CONFIG = {"kernel": "k.elf", "harts": 2, "seed": 7, "mem_mib": 128}


def write(path, events, **kw):
    kw.setdefault("chunk_events", 4)
    with TraceWriter(path, config=CONFIG, seed=7, **kw) as w:
        for e in events:
            w.event(*e)
    return path


def some_events(n):
    return [(Kind.FORK, i * 3, i % 2, 1, i + 2) for i in range(n)]


def test_round_trip_header_and_events(tmp_path):
    kernel, disk = os.urandom(300) + b"\0" * 5000, b"\0" * 100000
    p = tmp_path / "t.mp"
    with TraceWriter(p, config=CONFIG, seed=7, kernel=kernel, disk=disk,
                     metadata={"program": "forkexec"}, chunk_events=3) as w:
        w.event(Kind.SYSCALL_ENTER, 10, 0, 3, 16, [1, b"x", 1])
        w.event(Kind.SYSCALL_EXIT, 12, 0, 3, 16, 1, None)
        w.event(Kind.EXEC, 20, 1, 4, "echo", ["echo", "THIS"])
        w.event(Kind.SWITCH, 20, 1, 4, 4, 0, 2, ["sleep", "bread", "exec"])
    with TraceReader(p) as t:
        assert t.header.config == CONFIG and t.header.seed == 7
        assert t.header.kernel_elf() == kernel and t.header.disk_image() == disk
        assert t.header.metadata == {"program": "forkexec"}
        assert not t.truncated and t.problem is None and t.has_index
        assert t.ending == ("poweroff", "")
        evs = list(t)
    assert [e.kind_name for e in evs] == ["syscall-enter", "syscall-exit", "exec", "switch", "end"]
    assert evs[0].args == [1, b"x", 1] and evs[0].pid == 3
    assert evs[2].argv == ["echo", "THIS"] and evs[2].hart == 1
    assert evs[3].backtrace == ["sleep", "bread", "exec"] and evs[3].icount == 20
    # The header alone, without the events.
    assert read_header(p).metadata == {"program": "forkexec"}


def test_seek_by_number_and_icount(tmp_path):
    p = write(tmp_path / "t.mp", some_events(50))
    with TraceReader(p) as t:
        assert len(t) == 51                                # 50 + END
        assert t.event(17).child == 19 and t.event(17).icount == 51
        assert [e.number for e in t.events(45, 48)] == [45, 46, 47]
        assert t.find_icount(51) == 17
        assert t.find_icount(52) == 18                     # the first event at or after 52
        assert t.find_icount(0) == 0
        assert t.find_icount(10**9) == 51
        with pytest.raises(IndexError):
            t.event(51)


def test_icount_must_not_go_back(tmp_path):
    with TraceWriter(tmp_path / "t.mp", config={}) as w:
        w.event(Kind.FORK, 100, 0, 1, 2)
        with pytest.raises(ValueError):
            w.event(Kind.FORK, 99, 0, 1, 2)


def test_payload_field_count_is_checked(tmp_path):
    with TraceWriter(tmp_path / "t.mp", config={}) as w:
        with pytest.raises(ValueError, match="fork takes 1"):
            w.event(Kind.FORK, 1, 0, 1)


def test_killed_recording_keeps_complete_chunks(tmp_path):
    p = tmp_path / "t.mp"
    w = TraceWriter(p, config=CONFIG, chunk_events=4)
    for e in some_events(10):
        w.event(*e)
    # The process dies here: 8 events are in two flushed chunks, 2 only in memory.
    size = os.path.getsize(p)
    data = open(p, "rb").read()[:size]
    cut = tmp_path / "cut.mp"
    cut.write_bytes(data)
    with TraceReader(cut) as t:
        assert len(t) == 8 and t.truncated and "truncated" in t.problem
        assert [e.child for e in t] == [i + 2 for i in range(8)]
    w.abandon()


def test_lost_index_is_rebuilt_by_scanning(tmp_path):
    p = write(tmp_path / "t.mp", some_events(10))
    data = p.read_bytes()
    (tmp_path / "noidx.mp").write_bytes(data[: data.rindex(b"\x93\xa5index")])
    with TraceReader(tmp_path / "noidx.mp") as t:
        assert not t.has_index and not t.truncated and t.problem is None
        assert len(t) == 11 and t.ending == ("poweroff", "")


@pytest.mark.parametrize("content,message", [
    (b"", "empty"),
    (b"hello world, not msgpack", "not an rvtrace trace"),
    (msgpack.packb({"format": "other"}), "not an rvtrace trace"),
    (msgpack.packb(["rvtrace-trace", 99, 0, b""]), "newer rvtrace"),
    (msgpack.packb(["rvtrace-trace", 1, 0, b"x"]), "header is damaged"),
    (msgpack.packb(["rvtrace-trace", 1, 0, b"x"])[:5], "cut short inside its header"),
])
def test_bad_files_give_one_clear_line(tmp_path, content, message):
    p = tmp_path / "bad.mp"
    p.write_bytes(content)
    with pytest.raises(TraceError, match=message) as info:
        TraceReader(p)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(TraceError, match="no such trace file"):
        TraceReader(tmp_path / "nope.mp")
    with pytest.raises(TraceError, match="directory"):
        TraceReader(tmp_path)


def test_bytes_per_event_goal():
    _, per = bytes_per_event(50_000)
    assert per <= 16


# --- property-based: truncation, flipped bytes, random events ------------------

@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    p = tmp_path_factory.mktemp("s") / "s.mp"
    write_synthetic(p, 600, seed=1, harts=2, chunk_events=64, kernel=b"\x7fELF" + bytes(200))
    with TraceReader(p) as t:
        return p.read_bytes(), [e.to_dict() for e in t]


def read_all(path):
    """Everything a reader yields, and the error it raised (None if none)."""
    got = []
    try:
        with TraceReader(path) as t:
            for e in t:
                got.append(e.to_dict())
            return got, t
    except TraceError as exc:
        assert str(exc) and "\n" not in str(exc)
        return got, exc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0))
def test_truncation_anywhere_gives_a_prefix_or_a_clear_error(tmp_path, sample, cut):
    data, full = sample
    cut %= len(data) + 1
    p = tmp_path / "cut.mp"
    p.write_bytes(data[:cut])
    got, outcome = read_all(p)
    assert got == full[: len(got)]
    if isinstance(outcome, TraceReader):
        # Cut before the index: the END event's chunk is lost, and the reader says so.
        assert outcome.truncated == (cut < data.rindex(b"\x93\xa5index"))
        assert bool(outcome.problem) == outcome.truncated


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), min_size=1, max_size=3))
def test_flipped_bytes_give_a_prefix_or_a_clear_error(tmp_path, sample, flips):
    data, full = sample
    damaged = bytearray(data)
    for pos, mask in flips:
        damaged[pos % len(data)] ^= mask
    p = tmp_path / "flip.mp"
    p.write_bytes(bytes(damaged))
    got, _ = read_all(p)
    assert got == full[: len(got)]


payload_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.binary(max_size=20) | st.text(max_size=10),
    lambda c: st.lists(c, max_size=4), max_leaves=8)

# A value of the right type for each payload field the reader checks (validate.FIELD_TYPES).
_U = st.integers(0, 2**64 - 1)
_S = st.integers(-2**63, 2**64 - 1)
_CODE = st.integers(0, 2**16 - 1)
_PID = st.integers(0, 2**31 - 1)
FIELD_VALUES = {
    "num": _CODE, "ret": _S, "out": st.none() | st.binary(max_size=20), "cause": _U, "va": _U, "pc": _U,
    "mode": _CODE, "resolution": _CODE, "from_pid": _PID, "to_pid": _PID, "reason": _CODE,
    "backtrace": st.lists(st.text(max_size=8), max_size=4), "irq": _CODE, "req": _U, "block": _U,
    "write": _CODE, "child": _PID, "status": _S, "path": st.text(max_size=10),
    "argv": st.lists(st.text(max_size=6), max_size=4), "data": st.binary(max_size=20),
    "decision": _CODE, "code": _U, "how": _CODE, "via": _CODE, "detail": st.text(max_size=10),
}


@st.composite
def event_lists(draw):
    n = draw(st.integers(0, 40))
    icount, out = 0, []
    for _ in range(n):
        kind = draw(st.sampled_from([k for k in KINDS if k != Kind.END]))
        icount += draw(st.integers(0, 2**33))
        payload = [draw(FIELD_VALUES.get(name, payload_values)) for name in KINDS[kind].fields]
        out.append((kind, icount, draw(st.integers(0, 1)), draw(st.integers(0, 2**31 - 1)), *payload))
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=event_lists(), chunk=st.integers(1, 9))
def test_random_events_round_trip(tmp_path, events, chunk):
    p = tmp_path / "r.mp"
    write(p, events, chunk_events=chunk)
    with TraceReader(p) as t:
        back = [tuple(r) for r in t.raw_events()]
        assert back[:-1] == [tuple(e) for e in events]
        assert back[-1][0] == Kind.END
        for e in events[:3]:
            n = t.find_icount(e[1])
            assert t.event(n).icount == e[1]


def test_synthetic_mix_is_valid_for_every_kind_it_uses():
    for e in synthetic_events(2000, seed=3, harts=3):
        assert KINDS[e[0]].required <= len(e) - 4 <= len(KINDS[e[0]].fields)


def test_index_says_which_kinds_each_chunk_holds(tmp_path):
    events = [(Kind.FORK, 1, 0, 1, 2), (Kind.EXIT, 2, 0, 2, 0), (Kind.FORK, 3, 0, 1, 3),
              (Kind.FORK, 4, 0, 1, 4), (Kind.REAPED, 5, 0, 1, 2, 0)]
    path = write(tmp_path / "k.mp", events, chunk_events=2)
    with TraceReader(path) as t:
        for info in t.chunks:
            held = {e.kind for e in t.events(info.first_event, info.first_event + info.count)}
            assert info.kinds == sum(1 << k for k in held)


def test_a_cursor_skips_chunks_the_index_rules_out(tmp_path):
    from rvtrace.replay.cursor import EventCursor, kinds_filter
    events = [(Kind.FORK, i, 0, 1, i + 2) for i in range(40)] + [(Kind.EXIT, 50, 0, 2, 0)]
    path = write(tmp_path / "k.mp", events, chunk_events=4)
    with TraceReader(path) as t:
        cursor = EventCursor(t)
        decoded = []
        real = t.raw_events
        t.raw_events = lambda a, b: decoded.append(a) or real(a, b)
        found = cursor.next(kinds_filter([Kind.EXIT], lambda e: True))
        assert found.kind == Kind.EXIT
        assert len(decoded) <= 2          # the last chunk (and no others) needed decoding
