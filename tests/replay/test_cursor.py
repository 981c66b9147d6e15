"""Event moves over a synthetic trace: the index only, no machine."""

from __future__ import annotations

import pytest

from rvtrace.replay import EndOfTrace, EventCursor, kinds_filter
from rvtrace.trace import Kind, TraceReader, TraceWriter
from rvtrace.trace.synthetic import synthetic_events

N = 20_000


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    path = tmp_path_factory.mktemp("cur") / "syn.mp"
    w = TraceWriter(path, config={}, seed=0)
    stored = []
    for ev in synthetic_events(N, seed=3):
        w.event(*ev)
        stored.append(ev)
    w.close("poweroff", "status 0")
    with TraceReader(path) as r:
        yield r, stored


def test_next_and_prev_visit_every_event_in_order(trace):
    r, stored = trace
    c = EventCursor(r)
    assert c.number == -1 and c.event is None
    for i in range(50):
        assert c.next().number == i
    for i in range(48, -1, -1):
        assert c.prev().number == i


def test_filtered_moves_land_on_the_nearest_matching_event(trace):
    r, stored = trace
    execs = [i for i, e in enumerate(stored) if e[0] == Kind.EXEC]
    assert len(execs) > 3
    c = EventCursor(r)
    f = kinds_filter([Kind.EXEC])
    assert [c.next(f).number for _ in range(3)] == execs[:3]
    c.goto(execs[2] - 1)
    assert c.prev(f).number == execs[1]
    pid_writes = [i for i, e in enumerate(stored) if e[0] == Kind.SYSCALL_ENTER and e[4] == 16 and e[3] == stored[execs[0]][3]]
    c.goto(0)
    g = kinds_filter([Kind.SYSCALL_ENTER], lambda e: e.num == 16 and e.pid == stored[execs[0]][3])
    assert c.next(g).number == pid_writes[0] or pid_writes[0] == 0


def test_plain_callables_work_without_the_fast_path(trace):
    r, stored = trace
    c = EventCursor(r)
    last_fork = max(i for i, e in enumerate(stored) if e[0] == Kind.FORK)
    c.last()
    assert c.prev(lambda e: e.kind == Kind.FORK).number == last_fork


def test_moving_past_either_end_is_a_clear_error_and_stays(trace):
    r, _ = trace
    c = EventCursor(r)
    with pytest.raises(EndOfTrace, match="before the start"):
        c.prev()
    assert c.number == -1
    c.last()
    with pytest.raises(EndOfTrace, match="no event after"):
        c.next()
    assert c.number == len(r) - 1
    with pytest.raises(EndOfTrace, match="no matching event"):
        c.next(kinds_filter([Kind.EXEC]))
    with pytest.raises(EndOfTrace, match="there is no event"):
        c.goto(len(r) + 5)
    assert c.number == len(r) - 1


def test_at_icount_finds_the_last_event_at_or_before(trace):
    r, stored = trace
    c = EventCursor(r)
    k = 1234
    ic = stored[k][1]
    n = c.at_icount(ic)
    assert stored[n][1] == ic and (n + 1 == len(stored) or stored[n + 1][1] > ic)
    assert c.at_icount(-1) == -1
