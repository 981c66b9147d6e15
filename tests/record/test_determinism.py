"""Re-running a trace's machine from its header reproduces every recorded event exactly."""

from __future__ import annotations

import pytest

from rvtrace.record import rerun
from rvtrace.trace import TraceReader
from rvtrace.trace.events import Kind

from conftest import bundled_config, check_invariants, record_quietly

pytestmark = pytest.mark.slow

CASES = [            # program, args, harts, seed -- a few seconds each
    ("forkexec", (), 1, 0),
    ("forkexec", (), 3, 1),
    ("twochildren", (), 3, 2),
    ("cowwrite", (), 1, 3),
    ("forkexec", (), 3, 5),
]


@pytest.mark.parametrize("program,args,harts,seed", CASES)
def test_rerun_reproduces_every_event(tmp_path, program, args, harts, seed):
    path = tmp_path / f"{program}.mp"
    result, _ = record_quietly(bundled_config(program, args, harts=harts, seed=seed), path)
    assert result.ending == "poweroff"
    with TraceReader(path) as t:
        recorded = list(t)
    check_invariants(recorded)
    again = rerun(path)
    assert len(again) == len(recorded)
    for a, b in zip(again, recorded):
        assert a == b
    if harts > 1:
        assert any(e.kind == Kind.SCHEDULE for e in recorded)


def test_a_different_seed_interleaves_differently_but_both_replay(tmp_path):
    runs = []
    for seed in (11, 12):
        path = tmp_path / f"s{seed}.mp"
        record_quietly(bundled_config("forkexec", harts=3, seed=seed), path)
        with TraceReader(path) as t:
            runs.append([(e.kind, e.icount, e.hart) for e in t])
    assert runs[0] != runs[1]
