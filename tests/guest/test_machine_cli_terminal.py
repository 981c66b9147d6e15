"""`rvtrace run` on a terminal: keys reach the guest at once, the terminal is restored."""

import os
import termios

import pytest

from guestbuild import build, cpu_ready, make_disk, read_until, rvtrace_run_on_pty

pytestmark = pytest.mark.skipif(not cpu_ready(), reason="rvtrace.cpu.Hart is not written yet")


def test_typed_line_reaches_guest_and_terminal_is_restored(tmp_path):
    disk = make_disk(tmp_path / "d.img")
    with rvtrace_run_on_pty("--kernel", str(build("disk_echo")), "--disk", str(disk)) as run:
        assert b"sector 1: hello" in read_until(run.master, b"sector 1: hello")
        os.write(run.master, b"typed on a tty\r")
        out = read_until(run.master, b"disk_echo: done")
        assert run.proc.wait(timeout=60) == 0
        assert b"echo: typed on a tty" in out
        assert b"typed on a tty\r\n" not in out.split(b"echo:")[0]    # no local echo in cbreak mode
        assert termios.tcgetattr(run.slave) == run.before


def test_ctrl_a_x_quits_as_on_qemu(tmp_path):
    disk = make_disk(tmp_path / "d.img")
    with rvtrace_run_on_pty("--kernel", str(build("disk_echo")), "--disk", str(disk)) as run:
        assert b"sector 1: hello" in read_until(run.master, b"sector 1: hello")
        os.write(run.master, b"\x01x")                 # the guest waits for a line: quit instead
        out = read_until(run.master, b"Ctrl-A X")
        assert run.proc.wait(timeout=60) == 0
    assert b"rvtrace: terminated (Ctrl-A X)" in out


def test_ctrl_a_escapes():
    from rvtrace.machine.runner import QuitKey, strip_escapes
    assert strip_escapes(b"ab\x01\x01c", False) == (b"ab\x01c", False)
    assert strip_escapes(b"ab\x01", False) == (b"ab", True)       # the key after comes later
    assert strip_escapes(b"q", True) == (b"", False)              # unknown escapes are dropped
    with pytest.raises(QuitKey):
        strip_escapes(b"X", True)
