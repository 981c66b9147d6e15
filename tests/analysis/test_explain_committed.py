"""`explain` on the committed forkexec trace: the lecture's story, with event numbers."""

import json
from pathlib import Path

import pytest

from rvtrace.analysis.explain import explain
from rvtrace.analysis.runlog import RunLog
from rvtrace.cli import main
from rvtrace.errors import UserError
from rvtrace.trace.events import Kind

TRACE = Path(__file__).resolve().parents[2] / "traces" / "forkexec.mp"


@pytest.fixture(scope="module")
def log():
    return RunLog(TRACE)


def test_parent_waiting_names_the_writes_the_exec_and_the_disk_waits(log, capsys):
    ex = explain(log, "parent waiting")
    [seg] = ex.segments
    writes = [e for e in log.events if e.kind == Kind.CONSOLE_OUT and e.pid == 2][:14]
    assert seg.pid == 2 and seg.text == b"parent waiting"
    assert seg.events == [e.number for e in writes]
    exec_call = next(e for e in log.events if e.kind == Kind.SYSCALL_ENTER and e.pid == 3
                     and e.fields["args"][0] == "echo")
    sleeps = [e for e in log.events if e.kind == Kind.SWITCH and e.fields["from_pid"] == 3
              and e.number < writes[-1].number]
    chain = ex.chains[3]
    assert f"inside exec (entered at #{exec_call.number})" in chain["summary"]
    assert "disk read <- exec" in chain["summary"] and f"#{sleeps[0].number}" in chain["summary"]
    assert any(line.startswith(f"#{exec_call.number} ") for line in chain["events"])
    assert any("disk-request read" in line for line in chain["events"])
    state = ex.meanwhile[3][0]
    assert state.startswith("at the first byte: asleep, waiting for disk read <- exec")
    assert "virtio_disk_rw" in state                         # the recorded kernel backtrace
    assert main(["explain", str(TRACE), "parent waiting"]) == 0
    out = capsys.readouterr().out
    assert f"#{writes[0].number}..#{writes[-1].number}" in out and f"goto {writes[0].number}" in out


def test_text_missing_is_one_clear_error(log):
    with pytest.raises(UserError, match="not in the console output"):
        explain(log, "no such words")


def test_json_form(capsys):
    assert main(["explain", str(TRACE), "THIS IS ECHO", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["pid"] for s in data["segments"]] == [3] and data["segments"][0]["text"] == "THIS IS ECHO"
