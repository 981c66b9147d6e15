"""TraceFacts over a small hand-written trace: names through fork and exec, console text, output hits."""

from __future__ import annotations

import pytest

from rvtrace.debugger.facts import TraceFacts
from rvtrace.trace import Kind, TraceReader, TraceWriter


@pytest.fixture
def trace(tmp_path):
    path = tmp_path / "t.mp"
    w = TraceWriter(path, config={}, seed=0, kernel=None, disk=None, metadata={}, chunk_events=3)
    w.event(Kind.EXEC, 10, 0, 1, "/init", ["init"])              # 0
    w.event(Kind.FORK, 20, 0, 1, 2)                             # 1
    w.event(Kind.CONSOLE_OUT, 30, 0, 1, b"ab")                  # 2
    w.event(Kind.EXEC, 40, 0, 2, "sh", ["sh"])                  # 3
    w.event(Kind.CONSOLE_OUT, 50, 0, 2, b"c")                   # 4
    w.event(Kind.CONSOLE_OUT, 60, 0, 1, b"abc")                 # 5
    w.event(Kind.FORK, 70, 0, 2, 3)                             # 6
    w.close("poweroff", "status 0")
    with TraceReader(path) as t:
        yield t


def test_names_follow_exec_and_fork(trace):
    f = TraceFacts(trace)
    assert f.name_at(1, 0) == "init"
    assert f.name_at(2, 1) == "init"             # a forked child has its parent's name
    assert f.name_at(2, 2) == "init"
    assert f.name_at(2, 3) == "sh"
    assert f.name_at(3, 6) == "sh"
    assert f.name_at(3, 5) is None               # not born yet
    assert f.pids() == {1: "init", 2: "sh", 3: "sh"}
    assert f.parent_of(3) == 2
    f.close()


def test_the_scan_is_incremental(trace):
    f = TraceFacts(trace)
    f.name_at(1, 0)
    assert not f.complete                        # only the first chunk was read
    f.scan_all()
    assert f.complete
    f.close()


def test_console_until_and_output_hits(trace):
    f = TraceFacts(trace)
    assert [(n, pid, d) for n, pid, d in f.console_until(4)] == [(2, 1, b"ab"), (4, 2, b"c")]
    assert f.console_until(1) == []
    assert f.output_hits(b"abc") == [4, 5]       # "ab"+"c" ends in event 4; "abc" in event 5
    assert f.output_hits(b"b") == [2, 5]
    assert f.output_hits(b"zz") == []
    f.close()


def test_background_scan_finishes(trace):
    import time
    f = TraceFacts(trace)
    f.scan_in_background()
    deadline = time.monotonic() + 10
    while not f.complete and time.monotonic() < deadline:
        time.sleep(0.01)
    assert f.complete and f.name_at(3, 6) == "sh"
    f.close()
