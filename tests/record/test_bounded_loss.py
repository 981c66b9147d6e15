"""A killed recording loses at most its last second; the progress line never garbles the guest.

Both run `rvtrace record` with its stderr on a pseudo-terminal, so the progress line is
drawn as a user sees it: `N instructions  X MIPS  M events`, M being the events handed to
the trace writer so far.
"""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rvtrace.trace import TraceReader

ROOT = Path(__file__).resolve().parents[2]
PROGRESS = re.compile(rb"([\d,]+) instructions +[\d.]+ MIPS +([\d,]+) events")


def start(argv, *, stdout, stderr):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "rvtrace.cli", *argv], env=env,
                            stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)


def read_terminal(master: int, into: list) -> threading.Thread:
    """Collect (arrival time, bytes) from a pty master until it closes."""
    def run():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            into.append((time.monotonic(), data))
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.mark.slow
def test_sigkill_loses_at_most_the_last_second(tmp_path):
    target = tmp_path / "killed.mp"
    master, slave = pty.openpty()
    proc = start(["record", "-o", str(target), "--max-insns", "200000000", "selftest"],
                 stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks: list = []
    reader = read_terminal(master, chunks)
    samples: list[tuple[float, int]] = []        # (when we saw it, events recorded by then)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            time.sleep(0.2)
            samples = [(t, int(m.group(2).replace(b",", b""))) for t, data in list(chunks)
                       for m in PROGRESS.finditer(data)]
            if samples and samples[-1][0] - samples[0][0] > 4 and samples[-1][1] > 0:
                break
        else:
            raise AssertionError("no progress line within 240 s")
        killed_at = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        proc.kill()
        os.close(master)
    reader.join(timeout=5)
    # The progress line counted these events before it reached us, so earlier than `t`.
    recorded = max(n for t, n in samples if t <= killed_at - 1.0)
    assert recorded > 0
    partial = sorted(tmp_path.glob("killed.mp.*.partial"))
    assert len(partial) == 1 and not target.exists()
    with TraceReader(partial[0]) as t:
        assert t.truncated
        readable = len(t)
    assert readable >= recorded, f"{readable} events readable, {recorded} recorded a second before the kill"


def screen_lines(stream: bytes) -> list[str]:
    """What a terminal shows for `stream`: \\r returns, ESC[K erases to the end of the line."""
    lines, line, col = [], [], 0
    i = 0
    while i < len(stream):
        if stream.startswith(b"\x1b[K", i):
            del line[col:]
            i += 3
            continue
        c = stream[i:i + 1]
        i += 1
        if c == b"\n":
            lines.append(b"".join(line).decode(errors="replace"))
            line, col = [], 0
        elif c == b"\r":
            col = 0
        else:
            if col < len(line):
                line[col] = c
            else:
                line.append(c)
            col += 1
    lines.append(b"".join(line).decode(errors="replace"))
    return lines


@pytest.mark.slow
def test_the_progress_line_never_garbles_the_guests_console(tmp_path):
    master, slave = pty.openpty()
    # Long enough (seconds) for progress lines between the guest's lines and inside them.
    proc = start(["record", "-o", str(tmp_path / "b.mp"), "--max-insns", "20000000", "selftest"],
                 stdout=slave, stderr=slave)
    os.close(slave)
    chunks: list = []
    reader = read_terminal(master, chunks)
    try:
        proc.wait(timeout=300)
    finally:
        proc.kill()
    reader.join(timeout=10)
    os.close(master)
    stream = b"".join(data for _, data in chunks)
    assert PROGRESS.search(stream), "the run was too short to show a progress line"
    with TraceReader(tmp_path / "b.mp") as t:
        console = b"".join(e.data for e in t if e.kind_name == "console-out").decode()
    guest = console.removesuffix("\n").split("\n")
    assert len(guest) > 3
    # What the terminal shows: the guest's lines exactly, each whole, then the summary
    # (after an empty line when the guest's output ended with a newline).
    shown = screen_lines(stream.replace(b"\r\n", b"\n"))
    assert shown[:len(guest)] == guest
    after = shown[len(guest) + 1] if console.endswith("\n") else shown[len(guest)]
    assert after.startswith("recorded ")


@pytest.mark.slow
@pytest.mark.parametrize("signum, name", [(signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP")])
def test_sigterm_and_sighup_close_the_trace_properly(tmp_path, signum, name):
    target = tmp_path / "t.mp"
    proc = start(["record", "-o", str(target), "selftest"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:       # until the partial file has events
            found = sorted(tmp_path.glob("t.mp.*.partial"))
            if found:
                try:
                    with TraceReader(found[0]) as t:
                        if len(t):
                            break
                except Exception:
                    pass
            time.sleep(0.2)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err.decode()
    assert b"Traceback" not in err
    with TraceReader(target) as t:
        assert not t.truncated and t.ending[0] == "interrupted" and name in t.ending[1]
    assert not list(tmp_path.glob("*.partial"))
