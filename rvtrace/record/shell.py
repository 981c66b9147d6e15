"""Typing a command into a kernel's shell, at a point decided by guest state.

For a kernel we did not write (`rvtrace record --kernel ELF --disk IMG
PROGRAM ARGS`), the recorder boots it with no boot arguments and waits for
its shell to block reading the console: a process inside read(0, ...), and
every hart idle -- in wfi, or (xv6-riscv 2022's scheduler never executes
wfi, it spins with interrupts on) in its scheduler with no process runnable,
as the kernel's process table says. Then it types "PROGRAM ARGS\\n" -- the same
point on every run, because it is decided from guest state alone, and it is
recorded anyway (a console-in event and an input decision). The run ends
when the shell blocks like that again after the read that took the command
returned and every process forked since has exited ("shell-idle").

The driver is the scheduler's input source: the machine asks it for input
at every poll, including whenever all harts wait in wfi.
"""

from __future__ import annotations

SYS_READ = 5


class ShellIdle(Exception):
    """The shell is waiting for the next command: the recording is complete."""


class ShellDriver:
    def __init__(self, command: str):
        self.command = command.encode() + b"\n"
        self.recorder = None            # set by attach(), once the machine exists
        self.typed = False
        self.read_returned = False      # the read that took our command came back
        self.alive: set[int] = set()    # processes forked since we typed

    def attach(self, recorder) -> None:
        self.recorder = recorder
        recorder.listeners.append(self._news)

    def _news(self, what: str, pid: int, value) -> None:
        if not self.typed:
            return
        if what == "fork":
            self.alive.add(value)
        elif what == "exit":
            self.alive.discard(pid)
        elif what == "syscall-exit" and value[0] == SYS_READ and value[1] > 0:
            self.read_returned = True

    def _shell_blocked(self) -> bool:
        rec = self.recorder
        if rec is None:
            return False
        if not any(call[0] == SYS_READ and call[2] and call[2][0] == 0 for call in rec.pending.values()):
            return False
        if all(h.waiting for h in rec.m.harts):
            return True
        return self._all_in_scheduler(rec)

    @staticmethod
    def _all_in_scheduler(rec) -> bool:
        """Every hart runs its scheduler (no process) and no process can run."""
        if rec.kernel is None or any(rec.current):
            return False
        return not any(p.state in ("RUNNABLE", "RUNNING") for p in rec.kernel.view.processes())

    def __call__(self, timeout: float = 0.0):
        """The machine's input poll: our command once, b"" otherwise; ShellIdle at the end."""
        if not self._shell_blocked():
            return b""
        if not self.typed:
            self.typed = True
            return self.command
        if self.read_returned and not self.alive:
            raise ShellIdle()
        return b""
