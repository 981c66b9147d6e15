"""`record --chaos` replays exactly; a plain record keeps the lecture's decisions."""

from pathlib import Path

import pytest

from rvtrace.cli import main
from rvtrace.record import decisions_of, rerun
from rvtrace.trace.reader import TraceReader

pytestmark = pytest.mark.slow
COMMITTED = Path(__file__).resolve().parents[2] / "traces" / "forkexec.mp"


def test_chaos_recording_on_one_hart_replays_exactly(tmp_path, capfd):
    path = tmp_path / "chaos.mp"
    assert main(["record", "forkexec", "--chaos", "--seed", "5", "-o", str(path)]) == 0
    with TraceReader(path) as t:
        recorded = list(t)
        assert t.header.config["perturb"] == "chaos"
    kinds = {k for k, _ in decisions_of(recorded)}
    assert {"quantum", "jitter", "disk"} <= kinds          # one hart asked for quanta and time jumps
    assert rerun(path) == recorded


def test_plain_record_keeps_the_unperturbed_decisions(tmp_path, capfd):
    path = tmp_path / "plain.mp"
    assert main(["record", "forkexec", "-o", str(path)]) == 0
    with TraceReader(path) as fresh, TraceReader(COMMITTED) as committed:
        assert fresh.header.config["perturb"] == "off"
        assert decisions_of(fresh) == decisions_of(committed)
        assert [e.fields["data"] for e in fresh if e.kind_name == "console-out"] == \
               [e.fields["data"] for e in committed if e.kind_name == "console-out"]
