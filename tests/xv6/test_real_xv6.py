"""A real, unmodified xv6-riscv build under rvtrace: its shell on a terminal,
a recording of forkexec as detailed as one of our own kernel, and the
debugger answering from xv6's own DWARF.

These tests need a build of mit-pdos/xv6-riscv with a `forkexec` program in
its UPROGS (docs/compat.md says how to make one); set RVTRACE_XV6 to its
directory. Without it they are skipped. Each boot runs xv6's kinit, which
clears 128 MiB byte by byte (about 410 M instructions): they take minutes.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rvtrace.machine.config import MachineConfig
from rvtrace.record import record
from rvtrace.trace import TraceReader
from rvtrace.trace.events import SWITCH_REASONS, Kind, name_of

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "guest"))
from guestbuild import read_until, rvtrace_run_on_pty  # noqa: E402  (the terminal helpers of tests/guest)
XV6 = os.environ.get("RVTRACE_XV6")
KERNEL = Path(XV6 or ".") / "kernel" / "kernel"
DISK = Path(XV6 or ".") / "fs.img"
QEMU = shutil.which("qemu-system-riscv64")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not XV6, reason="RVTRACE_XV6 is not set (a directory holding an xv6-riscv build "
                       "with forkexec: see docs/compat.md)"),
]

FORKEXEC_OUT = "parent waiting\nTHIS IS ECHO\nthe child exited with status 0\n"
SYS_WRITE, SYS_WAIT, SYS_EXIT = 16, 3, 2


@pytest.fixture(scope="module")
def xv6_build():
    for f in (KERNEL, DISK):
        if not f.exists():
            pytest.fail(f"RVTRACE_XV6={XV6}: no {f.relative_to(XV6)} there; build it with "
                        f"`make kernel/kernel fs.img` (docs/compat.md)")
    return KERNEL, DISK


@pytest.fixture(scope="module")
def forkexec(xv6_build, tmp_path_factory):
    """`rvtrace record --kernel kernel/kernel --disk fs.img forkexec`, 1 hart:
    (RecordResult, console text, events)."""
    path = tmp_path_factory.mktemp("xv6") / "forkexec.mp"
    console = bytearray()
    result = record(MachineConfig(kernel=str(KERNEL), disk=str(DISK)), path,
                    shell_command="forkexec", console_echo=console.append)
    with TraceReader(path) as t:
        events = list(t)
    return result, console.decode(errors="replace"), events, path


def test_forkexec_recording_ends_at_the_next_prompt(forkexec):
    result, console, events, _ = forkexec
    assert result.ending == "shell-idle", result.detail
    assert "xv6 kernel is booting" in console
    assert console.endswith("$ forkexec\n" + FORKEXEC_OUT + "$ ")
    assert result.pid_source == "kernel"
    assert set(result.processes.values()) >= {"init", "sh", "forkexec", "echo"}


def test_forkexec_events_carry_xv6_pids_names_and_details(forkexec):
    _, _, events, _ = forkexec
    by_kind = {}
    for e in events:
        by_kind.setdefault(e.kind, []).append(e)
    execs = {e.fields["path"]: e for e in by_kind[Kind.EXEC]}
    parent = execs["forkexec"].pid
    child = execs["echo"].pid
    assert execs["echo"].fields["argv"] == ["echo", "THIS", "IS", "ECHO"]
    assert any(e.pid == parent and e.fields["child"] == child for e in by_kind[Kind.FORK])
    # the child sleeps inside exec, waiting for the disk, with a kernel backtrace
    sleeps = [e for e in by_kind[Kind.SWITCH] if e.pid == child
              and name_of(SWITCH_REASONS, e.fields["reason"]) == "sleep"]
    assert any("exec" in e.fields["backtrace"] and "virtio_disk_rw" in e.fields["backtrace"] for e in sleeps)
    # system calls by name with decoded arguments and results
    calls = [(e.pid, e.fields["num"], e.fields["args"]) for e in by_kind[Kind.SYSCALL_ENTER]]
    assert (parent, SYS_WRITE, [1, b"p", 1]) in calls
    assert any(pid == parent and num == SYS_WAIT for pid, num, _ in calls)
    assert (child, SYS_EXIT, [0]) in calls
    assert any(e.pid == child and e.fields["status"] == 0 for e in by_kind[Kind.EXIT])
    assert any(e.pid == parent and e.fields["child"] == child and e.fields["status"] == 0
               for e in by_kind[Kind.REAPED])
    # console bytes, attributed to the process that wrote them
    text = {}
    for e in by_kind[Kind.CONSOLE_OUT]:
        text[e.pid] = text.get(e.pid, b"") + bytes(e.fields["data"])
    assert b"parent waiting\n" in text[parent] and b"the child exited" in text[parent]
    assert text[child] == b"THIS IS ECHO\n"
    # interrupts from the UART and the disk, with their PLIC sources; disk requests
    irqs = {e.fields["irq"] for e in by_kind[Kind.INTERRUPT]}
    assert {1, 10} <= irqs
    assert any(e.pid == child for e in by_kind[Kind.DISK_REQUEST])


def test_calls_are_named_from_xv6s_own_table(forkexec):
    from rvtrace.kernel.syscalls import SYSCALLS, table_of
    from rvtrace.trace.reader import read_header
    calls = table_of(read_header(forkexec[3]))
    # xv6 has 21 calls: 22 and 23 are our kernel's, and this kernel has no such numbers
    assert calls.from_kernel and calls.names == {n: SYSCALLS[n].name for n in range(1, 22)}
    assert calls.name(22) == "syscall22"


def test_replay_answers_from_xv6_dwarf(forkexec):
    from rvtrace.debugger.main import open_session
    from rvtrace.debugger.printer import CollectingPrinter
    _, _, events, path = forkexec
    echo = next(e for e in events if e.kind == Kind.EXEC and e.fields["path"] == "echo")
    s = open_session(str(path), CollectingPrinter())
    for line in (f"goto {echo.number}", "info procs", "bt", "list", "print cpus[0].proc->name",
                 "print proc[0].name", "print proc[0].state"):
        s.run_line(line)
    out = "\n".join(s.printer.lines)
    assert not s.failed, out
    assert "forkexec" in out and "SLEEPING" in out and "RUNNING" in out
    assert "echo.c" in out                              # list: the user program's source
    assert '"echo"' in out and '"init"' in out and "SLEEPING" in out.split('"init"')[1]


def test_shell_on_a_terminal_with_three_harts(xv6_build):
    with rvtrace_run_on_pty("--kernel", str(KERNEL), "--disk", str(DISK), "--harts", "3") as run:
        boot = read_until(run.master, b"$ ", 3600)
        assert b"hart 2 starting" in boot and boot.endswith(b"$ ")
        os.write(run.master, b"echo typed here\r")
        assert b"typed here\r\n$ " in read_until(run.master, b"typed here\r\n$ ", 600)
        os.write(run.master, b"\x01x")
        assert b"terminated (Ctrl-A X)" in read_until(run.master, b"Ctrl-A X", 60)
        assert run.proc.wait(timeout=60) == 0


@pytest.mark.qemu
@pytest.mark.skipif(QEMU is None, reason="qemu-system-riscv64 is not installed")
def test_forkexec_prints_what_it_prints_under_qemu(forkexec):
    _, console, _, _ = forkexec
    cmd = [QEMU, "-machine", "virt", "-bios", "none", "-m", "128M", "-smp", "1", "-nographic",
           "-snapshot", "-global", "virtio-mmio.force-legacy=false", "-kernel", str(KERNEL),
           "-drive", f"file={DISK},if=none,format=raw,id=x0",
           "-device", "virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        fd = proc.stdout.fileno()
        assert read_until(fd, b"$ ", 120).endswith(b"$ ")
        proc.stdin.write(b"forkexec\n")
        proc.stdin.flush()
        answer = read_until(fd, b"status 0\n$ ", 120).replace(b"\r", b"").decode()
    finally:
        proc.kill()
        proc.wait()
    assert answer.endswith(FORKEXEC_OUT + "$ ")
    assert console.split("$ forkexec\n")[1] == answer.split("forkexec\n", 1)[1]
