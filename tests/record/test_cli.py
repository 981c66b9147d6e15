"""`rvtrace record` from the command line: console, summary, default path; `dump` of the sample."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rvtrace.trace import TraceReader

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "traces" / "forkexec.mp"


def run_cli(*argv, cwd=None, timeout=600):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "rvtrace.cli", *argv], cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


@pytest.mark.slow
def test_record_writes_program_mp_here_prints_console_then_summary(tmp_path):
    # The default is PROGRAM.mp in the current directory: in a checkout, the README's first
    # command never overwrites the committed sample traces/forkexec.mp.
    r = run_cli("record", "forkexec", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b"parent waiting\nTHIS IS ECHO\nthe child exited with status 0\n"
    err = r.stderr.decode()
    path = tmp_path / "forkexec.mp"
    assert path.exists() and not (tmp_path / "traces").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forkexec.mp"]     # no partial file left
    for word in ("instructions", "events:", "syscall-enter", "processes:", "forkexec", "echo",
                 "trace: forkexec.mp", "bytes/event"):
        assert word in err, word
    with TraceReader(path) as t:
        assert t.ending[0] == "poweroff"
        assert t.header.metadata["program"] == "forkexec"
        assert t.header.config["bootargs"] == "forkexec"


@pytest.mark.slow
def test_the_exit_code_is_the_guests(tmp_path):
    r = run_cli("record", "-o", str(tmp_path / "t.mp"), "forkexec_fail")
    with TraceReader(tmp_path / "t.mp") as t:
        status = [e for e in t if e.kind_name == "poweroff"][0].status
    assert r.returncode == status


def test_dump_of_the_committed_sample_shows_the_issues_lines():
    if not SAMPLE.exists():
        pytest.skip("traces/forkexec.mp is not recorded yet")
    r = run_cli("dump", str(SAMPLE))
    assert r.returncode == 0, r.stderr.decode()
    text = r.stdout.decode()
    import re
    # The child runs first, so fork's result comes back after a switch: "<... fork resumed>".
    fork = re.search(r"\[pid (\d+) forkexec\] (?:fork\(\)|<\.\.\. fork resumed>) = (\d+)", text)
    assert fork, "no fork line"
    parent, child = fork.groups()
    assert re.search(rf"\[pid {child} forkexec\] exec\(\"echo\", \[\"echo\",\"THIS\",\"IS\",\"ECHO\"\]\)", text)
    assert re.search(r"page-fault store va=0x[0-9a-f]+ pc=0x[0-9a-f]+ -> cow-copy", text)
    assert re.search(rf"switch {child} -> \S+ \(sleep: disk read <- exec\)", text)
    assert re.search(rf"\[pid {parent} forkexec\] (<\.\.\. )?wait(\(0x[0-9a-f]+\)| resumed>) = {child}", text)
    assert "end poweroff" in text


@pytest.mark.slow
def test_a_reader_that_goes_away_stops_the_echo_not_the_recording(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    path = tmp_path / "t.mp"
    proc = subprocess.Popen([sys.executable, "-m", "rvtrace.cli", "record", "-o", str(path), "forkexec"],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"parent waiting\n"
    proc.stdout.close()                                  # like `| head -1`
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 0, err.decode()
    assert b"Traceback" not in err and b"Exception" not in err
    with TraceReader(path) as t:
        assert t.ending[0] == "poweroff"
