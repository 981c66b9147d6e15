"""A real divergence stops the timeline where it happened: no machine state past it is shown.

The trace here is well-formed (valid CRCs, every field of the right type) but
one recorded result was changed, so re-execution cannot reproduce it: the
replay must say where the two part, and then refuse to show state beyond
that point as if it were fact -- while events, which come from the file,
stay available.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rvtrace.replay import Divergence, ReplaySession
from rvtrace.trace import Kind, TraceReader
from rvtrace.trace.writer import TraceWriter

SAMPLE = Path(__file__).resolve().parents[2] / "traces" / "forkexec.mp"


def tampered_copy(dest: Path) -> int:
    """The sample with the result of one late write() changed; returns that event's icount."""
    with TraceReader(SAMPLE) as t:
        h = t.header
        events = [list(raw) for raw in t.raw_events()]
        writes = [i for i, ev in enumerate(t) if ev.kind == Kind.SYSCALL_EXIT and ev.fields["num"] == 16]
        victim = writes[len(writes) // 2]
        icount = t.event(victim).icount
        ending = t.ending
        with TraceWriter(dest, config=h.config, seed=h.seed or 0, kernel=h.kernel_elf(), disk=h.disk_image(),
                         metadata=h.metadata, kernel_name=h.kernel_name, disk_name=h.disk_name) as w:
            for i, raw in enumerate(events):
                kind, icount_i, hart, pid, *payload = raw
                if i == victim:
                    payload[1] = payload[1] + 1          # `ret` of write: one byte more than happened
                if kind == Kind.END:
                    end_icount = icount_i
                    continue
                w.event(kind, icount_i, hart, pid, *payload)
            w.close(*ending, icount=end_icount)
    return icount


@pytest.mark.slow
def test_state_past_a_divergence_is_refused(tmp_path):
    path = tmp_path / "tampered.mp"
    at = tampered_copy(path)
    with ReplaySession(path) as s:
        assert s.end_icount > at + 1000
        with pytest.raises(Divergence) as first:
            s.goto_icount(at + 1000)
        assert "replay diverged" in str(first.value)
        assert "another rvtrace build" not in str(first.value)
        with pytest.raises(Divergence) as again:
            s.goto_icount(at + 1000)
        assert "no machine state past icount" in str(again.value)
        s.goto_icount(at // 2)                          # before it: state is still shown
        assert s.icount == at // 2
        last = s.next_event()                           # events still come from the file
        assert last is not None
