"""A trace is untrusted data: hostile traces with valid checksums end in a clean error or a
warned prefix, within seconds and a bounded amount of memory.

The hand-built catalogue (hostile_traces.CASES) covers each hole found by trying rvtrace as
a hostile user would; the hypothesis strategies below build more of the same kinds at
random. `-m slow` runs the larger random campaign.
"""

from __future__ import annotations

import re
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile_traces import (CASES, chunk_record, good_events, header_body, measured, nested, outcome,
                            write_trace)
from rvtrace.cli import main
from rvtrace.trace import TraceReader
from rvtrace.trace import format as fmt
from rvtrace.trace.events import KINDS, Kind

# What any hostile input may cost at most (the worst case today, a bomb, takes ~1.5 s and
# 65 MiB of Python allocations on a 2-core machine).
MAX_SECONDS = 10.0
MAX_BYTES = 100 << 20

# Cases whose lie is caught and worked around: every event is still found.
RECOVERED = {name for name in CASES if name.startswith("index ")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_hostile_trace_ends_cleanly_and_cheaply(tmp_path, name):
    path = tmp_path / "hostile.mp"
    CASES[name](path)
    (how, message), seconds, peak = measured(path)
    assert seconds < MAX_SECONDS and peak < MAX_BYTES, (seconds, peak)
    if name in RECOVERED:
        assert (how, message) == ("ok", "12 events")
        return
    assert how in ("error", "prefix"), (how, message)
    assert "\n" not in message and str(path) in message


def test_an_index_that_leaves_out_the_last_chunk_hides_nothing(tmp_path, capsys):
    path = tmp_path / "lying.mp"
    CASES["index leaves out the last chunk"](path)
    with TraceReader(path) as t:
        assert len(t) == 12 and not t.has_index and t.ending == ("poweroff", "status 0")
    assert main(["dump", str(path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 12


@pytest.mark.parametrize("name", ["hart 7 on 1 hart", "END in the middle", "pid -1", "unknown kind 99",
                                  "icount goes backwards", "event field nested 1000 deep"])
def test_nonsense_events_are_named_by_dump_and_replay(tmp_path, capsys, name):
    path = tmp_path / "bad.mp"
    CASES[name](path)
    assert main(["dump", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "damaged" in err and re.search(r"event \d", err)
    # In batch mode too, replay says so once, and a search that reaches the missing part fails.
    assert main(["replay", str(path), "-batch", "-ex", "break exec", "-ex", "continue"]) == 1
    said = "".join(capsys.readouterr())
    assert said.count("damaged") == 1 and "diverged" not in said and "Traceback" not in said


def test_a_newer_format_says_so(tmp_path, capsys):
    path = tmp_path / "new.mp"
    CASES["newer format version"](path)
    assert main(["dump", str(path)]) == 2
    assert "newer rvtrace" in capsys.readouterr().err


def test_an_embedded_kernel_is_named_by_its_file_name_and_the_trace(tmp_path):
    path = tmp_path / "k.mp"
    write_trace(path, header_body(kernel=b"junk", kernel_name="/build/someone/xv6/kernel"),
                [chunk_record(0, good_events())])
    how, message = outcome(path, with_dump=False)
    assert how == "error" and message.startswith(str(path)) and "embedded kernel kernel " in message
    assert "/build/someone" not in message


# --- random hostile traces (valid CRCs) ----------------------------------------------------

odd = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats(allow_nan=False)
                   | st.binary(max_size=8) | st.text(max_size=8),
                   lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=2),
                   max_leaves=6)
deep = st.integers(20, 1000).map(nested)


@st.composite
def hostile_headers(draw):
    body = header_body()
    for key in draw(st.lists(st.sampled_from(["mem_mib", "harts", "seed", "kernel", "disk", "bootargs"]),
                             max_size=3)):
        body["config"][key] = draw(odd)
    for key in draw(st.lists(st.sampled_from(["kernel", "disk", "metadata", "chunk_events", "seed",
                                              "kernel_size", "disk_size", "kernel_name", "config"]),
                             max_size=2)):
        body[key] = draw(odd | deep)
    return body


@st.composite
def hostile_events(draw):
    """A good run with some events changed: a field, the stamp, the kind, or the icount."""
    events = good_events(draw(st.integers(2, 12)))
    events.insert(1, [Kind.SYSCALL_ENTER, 101, 0, 1, 16, [1, b"x", 1]])
    events.insert(2, [Kind.PAGE_FAULT, 102, 0, 1, 13, 0x1000, 0x20, 0, 1])
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(events) - 1))
        j = draw(st.integers(0, len(events[i])))
        value = draw(odd | deep | st.sampled_from(sorted(KINDS)) | st.integers(-5, 2**64 - 1))
        if j == len(events[i]):
            events[i].append(value)
        else:
            events[i][j] = value
    return events


def _clean(path):
    (how, message), seconds, peak = measured(path)
    assert seconds < MAX_SECONDS and peak < MAX_BYTES
    assert how in ("ok", "error", "prefix")
    assert "\n" not in message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=hostile_headers())
def test_random_hostile_headers(tmp_path, body):
    path = tmp_path / "h.mp"
    try:
        write_trace(path, body, [chunk_record(0, good_events())])
    except (OverflowError, ValueError, TypeError):
        return            # not even msgpack can write it
    _clean(path)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=hostile_events(), split=st.integers(1, 6), lie=st.booleans())
def test_random_hostile_events(tmp_path, events, split, lie):
    path = tmp_path / "e.mp"
    index = (lambda true: {**true, "chunks": true["chunks"][:-1]}) if lie else "auto"
    try:
        chunks = [chunk_record(i, events[i:i + split]) for i in range(0, len(events), split)]
        write_trace(path, header_body(), chunks, index=index)
    except (OverflowError, ValueError, TypeError):
        return
    _clean(path)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=hostile_events(), split=st.integers(1, 6), body=hostile_headers(), data=st.data())
def test_random_hostile_traces_campaign(tmp_path, events, split, body, data):
    path = tmp_path / "c.mp"
    try:
        chunks = [chunk_record(i, events[i:i + split]) for i in range(0, len(events), split)]
        write_trace(path, body, chunks)
    except (OverflowError, ValueError, TypeError):
        return            # not even msgpack can write it
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(0, 3))):        # and random damage on top
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] ^= data.draw(st.integers(1, 255))
    path.write_bytes(bytes(raw))
    _clean(path)


def test_a_chunk_inflating_past_its_cap_is_refused_without_inflating_it_all(tmp_path):
    path = tmp_path / "b.mp"
    data = zlib.compress(fmt.pack([[Kind.FORK, 0, 0, 1, 2]] * 3_000_000))   # ~15 MiB, valid events
    write_trace(path, header_body(), [chunk_record(0, [], data=data, count=3_000_000)])
    how, message = outcome(path, with_dump=False)
    assert how == "prefix" and "at most 65536" in message


def test_replay_names_the_trace_and_its_embedded_kernel(tmp_path, capsys):
    path = tmp_path / "junk-kernel.mp"
    junk = b"\x7fELF\x02\x01\x01" + bytes(100)
    write_trace(path, header_body(kernel=zlib.compress(junk), kernel_size=len(junk), kernel_name="kernel.elf"),
                [chunk_record(0, good_events())])
    assert main(["replay", str(path), "-batch", "-ex", "stepi"]) == 1
    said = "".join(capsys.readouterr())
    assert str(path) in said and "embedded kernel kernel.elf" in said and "Traceback" not in said
