"""The interactive debugger in a real terminal (tmux): break, continue, reverse-continue, completion,
line moves, Ctrl-C during a long move, quit."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]

WAIT = 60.0


class Terminal:
    def __init__(self, command: str, env: dict):
        self.name = f"rvtrace-test-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "160", "-y", "50",
                        f"env {exports} {command}"], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-S", "-200", "-t", self.name],
                              capture_output=True, text=True).stdout

    def send(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, text: str, count: int = 1) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            screen = self.screen()
            if screen.count(text) >= count:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} (x{count}) never appeared; the screen:\n{self.screen()}")

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode == 0

    def close(self) -> None:
        if self.alive():
            subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def test_interactive_session(forkexec, tmp_path):
    term = replay_terminal(forkexec.path, tmp_path)
    try:
        term.wait_for("(rvtrace)")
        assert "before event 0 of" in term.screen()              # the bottom toolbar
        term.send("brea", "Tab")                                  # completes the command name
        term.wait_for("(rvtrace) break")
        term.send(" exec e", "Tab")                               # ... and a process name
        term.wait_for("(rvtrace) break exec echo")
        term.send("Enter")
        term.wait_for("Catchpoint 1 (exec echo)")
        term.send("continue", "Enter")
        screen = term.wait_for('exec "echo" ["echo","THIS","IS","ECHO"]')
        assert f"[pid {forkexec.child} echo]" in screen
        term.wait_for("(rvtrace)", 3)
        term.send("b", "Space", "wri", "Tab")                     # a syscall name
        term.wait_for("(rvtrace) b write")
        term.send(f" if pid == {forkexec.parent}", "Enter")
        term.wait_for("Catchpoint 2")
        term.send("reverse-continue", "Enter")
        screen = term.wait_for('write(1, "\\n", 1)')                # the parent's last "parent waiting" char
        term.send("rc", "Enter")
        term.wait_for('write(1, "g", 1)')
        term.send("quit", "Enter")
        deadline = time.monotonic() + WAIT
        while term.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not term.alive(), term.screen()
        assert (tmp_path / "history").read_text().count("continue") >= 1
    finally:
        term.close()


def replay_terminal(trace, tmp_path) -> "Terminal":
    """`rvtrace replay TRACE` in a real terminal, with its own history file."""
    cmd = f"{shlex.quote(sys.executable)} -m rvtrace.cli replay {shlex.quote(str(trace))}"
    return Terminal(cmd, {"RVTRACE_HISTORY": str(tmp_path / "history"), "TERM": "xterm"})


def quit_debugger(term: "Terminal") -> None:
    term.send("quit", "Enter")
    deadline = time.monotonic() + WAIT
    while term.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not term.alive(), term.screen()


@pytest.fixture(scope="module")
def long_run(tmp_path_factory):
    """The first 8 M instructions of selftest: long enough that a whole-run search takes seconds."""
    from rvtrace.guest.bundle import bundled_boot
    from rvtrace.machine.config import MachineConfig
    from rvtrace.record import record
    kernel, disk, bootargs = bundled_boot("selftest", [])
    path = tmp_path_factory.mktemp("long") / "selftest.mp"
    result = record(MachineConfig(kernel=kernel, disk=disk, bootargs=bootargs), path,
                    console_echo=lambda b: None, max_insns=8_000_000)
    assert result.ending == "max-insns"
    return path


def test_interactive_ctrl_c_stops_a_long_move(long_run, tmp_path):
    """A long `continue` shows how far it got; Ctrl-C stops it there and says where."""
    term = replay_terminal(long_run, tmp_path)
    try:
        term.wait_for("(rvtrace)")
        from rvtrace.kernel.image import KernelImage
        from rvtrace.trace import TraceReader
        with TraceReader(long_run) as t:
            img = KernelImage(t.header.kernel_elf())
        quiet = img.address_of("cpus") + img.size_of_symbol("cpus") - 8   # never changes, hot page
        term.send(f"watch phys:{quiet:#x} 8", "Enter")             # a whole-run search, no hit
        term.wait_for("Hardware watchpoint 1")
        term.send("continue", "Enter")
        term.wait_for("replaying:")                                # the progress line, after a second
        term.send("C-c")
        screen = term.wait_for("Interrupted at icount")
        assert "(Ctrl-C)" in screen and "No more breakpoints" not in screen
        term.wait_for("(rvtrace)", 3)
        quit_debugger(term)
    finally:
        term.close()


def test_interactive_line_moves(forkexec, tmp_path):
    """gdb's line moves: `step` into a call, `next` over one, `finish` out."""
    term = replay_terminal(forkexec.path, tmp_path)
    try:
        term.wait_for("(rvtrace)")
        term.send("break sys_fork", "Enter")
        term.wait_for("Breakpoint 1 at")
        term.send("start", "Enter")
        term.send("continue", "Enter")
        term.wait_for("Breakpoint 1 (sys_fork)")
        term.send("next", "Enter")                                 # sysproc.c: the next line
        term.wait_for("(sysproc.c:", 2)
        term.send("reverse-next", "Enter")
        term.wait_for("(sysproc.c:", 3)
        term.send("step", "Enter")                                 # sysproc.c:26, `return fork();`
        term.wait_for("(sysproc.c:", 4)
        term.send("step", "Enter")                                 # into fork(), a C function
        screen = term.wait_for("(proc.c:")
        assert "<fork" in screen
        term.send("u", "p", "Enter")               # the caller's frame ("up" alone is tmux's Up key)
        term.wait_for("#1  ")
        term.send("info locals", "Enter")
        term.wait_for("No locals.")
        term.send("d", "own", "Enter")
        term.wait_for("#0  ")
        term.send("info locals", "Enter")                          # fork's own, from DWARF
        term.wait_for("child = ")
        term.send("finish", "Enter")
        screen = term.wait_for("Returned to")
        assert "Run till exit from" in screen and "<sys_fork" in screen.split("Run till exit from")[-1]
        quit_debugger(term)
    finally:
        term.close()
