"""`rvtrace run` on a terminal: keys reach the guest at once, the terminal is restored."""

import os
import pty
import select
import subprocess
import sys
import termios
import time

import pytest

from guestbuild import REPO, build, cpu_ready, make_disk

pytestmark = pytest.mark.skipif(not cpu_ready(), reason="rvtrace.cpu.Hart is not written yet")


def read_until(fd, marker: bytes, timeout: float = 60) -> bytes:
    out = b""
    end = time.monotonic() + timeout
    while marker not in out and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def test_typed_line_reaches_guest_and_terminal_is_restored(tmp_path):
    disk = make_disk(tmp_path / "d.img")
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "rvtrace.cli", "run", "--kernel", str(build("disk_echo")),
                             "--disk", str(disk)], stdin=slave, stdout=slave, stderr=slave, cwd=REPO, env=env)
    try:
        assert b"sector 1: hello" in read_until(master, b"sector 1: hello")
        os.write(master, b"typed on a tty\r")
        out = read_until(master, b"disk_echo: done")
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert b"echo: typed on a tty" in out
    assert b"typed on a tty\r\n" not in out.split(b"echo:")[0]    # no local echo in cbreak mode
    assert termios.tcgetattr(slave) == before
    os.close(master)
    os.close(slave)


def test_ctrl_a_x_quits_as_on_qemu(tmp_path):
    disk = make_disk(tmp_path / "d.img")
    master, slave = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "rvtrace.cli", "run", "--kernel", str(build("disk_echo")),
                             "--disk", str(disk)], stdin=slave, stdout=slave, stderr=slave, cwd=REPO, env=env)
    try:
        assert b"sector 1: hello" in read_until(master, b"sector 1: hello")
        os.write(master, b"\x01x")                     # the guest waits for a line: quit instead
        out = read_until(master, b"Ctrl-A X")
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(slave)
    assert b"rvtrace: terminated (Ctrl-A X)" in out


def test_ctrl_a_escapes():
    from rvtrace.machine.runner import QuitKey, strip_escapes
    assert strip_escapes(b"ab\x01\x01c", False) == (b"ab\x01c", False)
    assert strip_escapes(b"ab\x01", False) == (b"ab", True)       # the key after comes later
    assert strip_escapes(b"q", True) == (b"", False)              # unknown escapes are dropped
    with pytest.raises(QuitKey):
        strip_escapes(b"X", True)
