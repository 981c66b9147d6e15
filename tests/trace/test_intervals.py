"""The index's intervals section: written compactly, read back, refused when malformed."""

from __future__ import annotations

import zlib

import pytest

from rvtrace.trace import TraceReader, TraceWriter
from rvtrace.trace import format as fmt
from rvtrace.trace.errors import TraceError
from rvtrace.trace.intervals import decode, encode


def test_round_trip_and_covering():
    items = [({5, 1, 900}, {0x80000}, set()), (set(), {3, 2}, {0x80001, 0x80007})]
    iv = decode(encode(100, 6, items))
    assert iv.every == 100 and iv.code_line == 6
    assert iv.items[0].ran == {1, 5, 900} and iv.items[1].written == {0x80001, 0x80007}
    assert [i.read for i in iv.covering(50, 150)] == [{0x80000}, {2, 3}]
    assert iv.covering(150, 201) is None                 # past what was recorded
    assert iv.covering(10, 10) == []


def test_a_trace_keeps_the_section_in_its_index(tmp_path):
    path = tmp_path / "t.mp"
    w = TraceWriter(path, config={}, seed=0)
    w.close("poweroff", intervals=encode(10, 6, [({1}, set(), {2})]))
    with TraceReader(path) as t:
        assert t.intervals().items[0].ran == {1}
    w = TraceWriter(tmp_path / "old.mp", config={}, seed=0)
    w.close("poweroff")
    with TraceReader(tmp_path / "old.mp") as t:
        assert t.intervals() is None                     # an older recorder's trace: none


@pytest.mark.parametrize("blob", [
    b"not zlib",
    zlib.compress(fmt.pack([0, 6, []])),                 # every must be positive
    zlib.compress(fmt.pack([10, 6, [[[1], [2]]]])),      # an interval needs three lists
    zlib.compress(fmt.pack([10, 6, [[[1, -1], [], []]]])),   # differences are never negative
    zlib.compress(fmt.pack({"every": 10})),
    zlib.compress(b"\0" * (65 << 20)),                   # too big once decompressed
    "text",
])
def test_malformed_sections_are_refused_with_one_clear_error(blob):
    with pytest.raises(TraceError, match="intervals section"):
        decode(blob)
