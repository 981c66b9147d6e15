"""Nothing a user has is lost, and nothing odd on the command line hangs or blows up.

Special files (FIFOs, devices, /proc) are refused as inputs and outputs in one line; a
recording never overwrites one of its own inputs, keeps an earlier trace as NAME.old, and
leaves an existing trace alone when it fails; every numeric option says its valid range.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from rvtrace.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "traces" / "forkexec.mp"


@contextmanager
def deadline(seconds: int = 30):
    """Fail instead of hanging (a FIFO nobody writes blocks its reader forever)."""
    def expired(signum, frame):
        raise AssertionError(f"still running after {seconds} s: it hangs")
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def one_line(capsys) -> str:
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


# --- special files ------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["dump", "{fifo}"],
    ["replay", "{fifo}", "-batch"],
    ["replay", "{sample}", "-batch", "-x", "{fifo}"],
    ["run", "--kernel", "{fifo}"],
    ["run", "forkexec", "--disk", "{fifo}"],
    ["record", "forkexec", "-o", "{fifo}"],
    ["dump", "/proc/self/mem"],
    ["run", "--kernel", "/dev/zero"],
    ["record", "forkexec", "-o", "/dev/null"],
])
def test_special_files_are_refused_in_one_line(capsys, fifo, argv):
    argv = [a.format(fifo=fifo, sample=SAMPLE) for a in argv]
    with deadline():
        assert main(argv) == 2
    line = one_line(capsys)
    assert any(w in line for w in ("FIFO", "device", "system file", "regular file")), line


def test_a_debugger_script_that_sources_itself_or_is_binary_is_refused(tmp_path, capsys):
    me = tmp_path / "me.gdb"
    me.write_text(f"source {me}\n")
    binary = tmp_path / "bin.gdb"
    binary.write_bytes(bytes(range(256)))
    with deadline(60):
        assert main(["replay", str(SAMPLE), "-batch", "-x", str(me), "-ex", f"source {binary}"]) == 1
    said = "".join(capsys.readouterr())
    assert "source itself" in said and "not a text file" in said and "internal error" not in said


# --- outputs ----------------------------------------------------------------------------------

def test_o_naming_the_runs_own_disk_image_is_refused_and_the_image_kept(tmp_path, capsys):
    from rvtrace.guest.bundle import bundled_boot
    kernel, disk, _ = bundled_boot("forkexec")
    image = tmp_path / "d.img"
    image.write_bytes(Path(disk).read_bytes())
    before = image.read_bytes()
    assert main(["record", "--kernel", kernel, "--disk", str(image), "ls", "-o", str(image)]) == 2
    line = one_line(capsys)
    assert "input of this run" in line and "d.img" in line
    assert image.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.img"]


def test_a_run_that_fails_at_once_leaves_the_existing_trace_alone(tmp_path, capsys):
    target = tmp_path / "t.mp"
    target.write_bytes(b"my precious trace")
    assert main(["record", "forkexec", "--mem", "1", "-o", str(target)]) == 2
    assert "too small" in one_line(capsys)
    assert target.read_bytes() == b"my precious trace"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.mp"]


def test_a_new_recording_keeps_the_earlier_trace_as_old(tmp_path, capsys):
    target = tmp_path / "t.mp"
    target.write_bytes(b"my precious trace")
    code = main(["record", "forkexec", "--max-insns", "20000", "-o", str(target)])
    assert code == 1                       # stopped at --max-insns: an early end
    err = capsys.readouterr().err
    assert "kept as" in err and "t.mp.old" in err
    assert (tmp_path / "t.mp.old").read_bytes() == b"my precious trace"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.mp", "t.mp.old"]
    from rvtrace.trace import TraceReader
    with TraceReader(target) as t:
        assert t.ending[0] == "max-insns"


# --- numbers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, words", [
    (["run", "forkexec", "--seed", "-1"], "from 0 to 18446744073709551615"),
    (["run", "forkexec", "--seed", str(2**100)], "from 0 to 18446744073709551615"),
    (["run", "forkexec", "--max-insns", "0"], "of at least 1"),
    (["run", "forkexec", "--max-insns", "-5"], "of at least 1"),
    (["run", "forkexec", "--harts", "9"], "from 1 to 8"),
    (["run", "forkexec", "--harts", "two"], "from 1 to 8"),
    (["run", "forkexec", "--mem", "2048"], "from 1 to 1024"),
    (["record", "forkexec", "--mem", "0"], "from 1 to 1024"),
    (["dump", str(SAMPLE), "--pid", "-1"], "from 0 to 2147483647"),
])
def test_every_numeric_option_says_its_range(capsys, argv, words):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_empty_names_are_refused(capsys, tmp_path):
    assert main(["record", "forkexec", "-o", ""]) == 2
    assert "empty" in one_line(capsys)
    assert main(["dump", str(SAMPLE), "--kind", ""]) == 2
    assert "--kind" in one_line(capsys)


def test_mem_too_small_for_the_bundled_kernel_is_said_as_such(capsys):
    assert main(["run", "forkexec", "--mem", "1"]) == 2
    line = one_line(capsys)
    assert "too small for the bundled kernel" in line and "fault loop" not in line


def test_mem_too_small_for_a_kernel_image_is_said_as_such(tmp_path, capsys):
    from rvtrace.guest.bundle import bundled_boot
    kernel, disk, _ = bundled_boot("forkexec")
    from rvtrace.machine.bus import Bus
    from rvtrace.machine.elfload import load_elf
    from rvtrace.errors import UserError
    with pytest.raises(UserError, match="--mem 0 is too small for this kernel: .* needs at least 1 MiB"):
        load_elf(Path(kernel).read_bytes(), Bus(64 << 10))


# --- a trace is self-contained ------------------------------------------------------------------

def test_replay_opens_no_host_file_the_trace_names(tmp_path):
    """A trace without a disk image replays without a disk, whatever its config names."""
    from rvtrace.record.output import ListSink
    from rvtrace.record.session import rebuild
    from rvtrace.trace import read_header
    header = read_header(SAMPLE)
    secret = tmp_path / "secret.img"
    secret.write_bytes(b"S" * 4096)
    header.config = {**header.config, "disk": str(secret), "kernel": str(tmp_path / "nope.elf")}
    header.disk_zlib = header.disk_size = header.disk_sha256 = None
    machine, _ = rebuild(header, [], ListSink())
    assert not any(getattr(d, "disk", None) for d in machine.disks)


def test_list_finds_sources_only_under_the_checkout_or_source_dirs(tmp_path):
    from rvtrace.debugger.cmd_code import REPO, find_source
    assert find_source("/etc/passwd") is None
    assert find_source("/elsewhere/../../etc/passwd") is None
    assert find_source("/build/someone/rvtrace/kernel_src/proc.c") == REPO / "kernel_src" / "proc.c"
    mine = tmp_path / "src" / "mine.c"
    mine.parent.mkdir()
    mine.write_text("int main(void) { return 0; }\n")
    assert find_source("/build/host/src/mine.c") is None
    assert find_source("/build/host/src/mine.c", [REPO, tmp_path]) == tmp_path / "src" / "mine.c"
    (tmp_path / "src" / "escape.c").symlink_to("/etc/passwd")
    assert find_source("src/escape.c", [tmp_path]) is None
