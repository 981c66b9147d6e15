"""How a recording ends: --max-insns, Ctrl-C, a killed recorder, bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rvtrace.record import rerun
from rvtrace.trace import TraceReader
from rvtrace.trace.events import ENDINGS, Kind, code_of

from conftest import bundled_config, record_quietly

ROOT = Path(__file__).resolve().parents[2]


def rvtrace(*argv, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "rvtrace.cli", *argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, **kw)


def partial(path: Path) -> Path | None:
    """The file a recording to `path` writes until it is complete (NAME.PID.partial beside it)."""
    found = sorted(path.parent.glob(path.name + ".*.partial"))
    return found[0] if found else None


def wait_for_events(path: Path, timeout: float = 120.0, until=None) -> Path:
    """Until the recording's file has its header and at least one chunk on disk (and an event
    `until` accepts, when given); that file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = partial(path)
        if p is not None:
            try:
                with TraceReader(p) as t:
                    if len(t) > 0 and (until is None or any(until(e) for e in t)):
                        return p
            except Exception:
                pass
        time.sleep(0.2)
    raise AssertionError("the recording wrote no chunk in time")


@pytest.mark.slow
def test_max_insns_closes_the_trace_with_its_ending(tmp_path):
    path = tmp_path / "m.mp"
    result, _ = record_quietly(bundled_config("forkexec"), path, max_insns=200_000)
    assert result.ending == "max-insns" and result.icount == 200_000
    with TraceReader(path) as t:
        assert not t.truncated
        assert t.ending[0] == "max-insns"
        events = list(t)
    assert events[-1].kind == Kind.END and events[-1].icount == 200_000
    assert rerun(path) == events


@pytest.mark.slow
def test_ctrl_c_leaves_a_closed_trace_saying_interrupted(tmp_path):
    path = tmp_path / "int.mp"
    proc = rvtrace("record", "-o", str(path), "--max-insns", "200000000", "selftest")
    try:
        wait_for_events(path, until=lambda e: e.kind == Kind.SYSCALL_ENTER)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert b"interrupted" in err and b"Traceback" not in err
    with TraceReader(path) as t:
        assert not t.truncated
        assert t.ending[0] == "interrupted"
        events = list(t)
    assert events[-1].how == code_of(ENDINGS, "interrupted")
    assert any(e.kind == Kind.SYSCALL_ENTER for e in events)


@pytest.mark.slow
def test_a_killed_recording_leaves_a_readable_prefix(tmp_path):
    target = tmp_path / "killed.mp"
    proc = rvtrace("record", "-o", str(target), "--max-insns", "200000000", "selftest")
    try:
        path = wait_for_events(target)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert not target.exists()           # never renamed into place: the partial file holds the run
    with TraceReader(path) as t:
        assert t.truncated
        events = list(t)
    assert len(events) >= 1 and events[-1].kind != Kind.END
    # the prefix re-runs: every event before the last instant comes back the same
    last = events[-1].icount
    again = [e for e in rerun(path) if e.icount < last]
    assert again == [e for e in events if e.icount < last]


def test_a_bad_program_name_is_one_line_and_non_zero(tmp_path):
    proc = rvtrace("record", "-o", str(tmp_path / "x.mp"), "no_such_program")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode != 0
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "no_such_program" in lines[0] and "Traceback" not in lines[0]
    assert not (tmp_path / "x.mp").exists()


def test_a_kernel_that_is_not_rv64_is_one_line_and_non_zero(tmp_path):
    fake = tmp_path / "kernel.elf"
    fake.write_bytes(b"\x7fELF\x01\x01\x01" + bytes(200))      # 32-bit ELF header start
    disk = tmp_path / "fs.img"
    disk.write_bytes(bytes(1024))
    proc = rvtrace("record", "--kernel", str(fake), "--disk", str(disk), "-o", str(tmp_path / "x.mp"), "ls")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0] and "kernel" in lines[0]
    assert not (tmp_path / "x.mp").exists()


def test_kernel_mode_needs_a_program_and_a_disk(tmp_path):
    proc = rvtrace("record", "--kernel", str(tmp_path / "k.elf"), "--disk", str(tmp_path / "d.img"))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and len(err.decode().strip().splitlines()) == 1
    proc = rvtrace("record", "--kernel", str(tmp_path / "k.elf"), "ls")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and b"--disk" in err


def test_a_guest_stuck_in_a_fault_loop_ends_guest_fault_with_the_prefix_kept(tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "guest"))
    try:
        from guestbuild import build
    finally:
        sys.path.pop(0)
    from rvtrace.machine.config import MachineConfig
    kernel = build("faultloop")
    path = tmp_path / "f.mp"
    result, _ = record_quietly(MachineConfig(kernel=str(kernel)), path)
    assert result.ending == "guest-fault" and "fault loop" in result.detail
    with TraceReader(path) as t:
        assert not t.truncated and t.ending[0] == "guest-fault"
        assert t.header.metadata["pid_source"] == "satp"     # a bare-metal guest has no processes
