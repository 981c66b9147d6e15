"""`rvtrace run`: boot a machine with its console on this terminal.

UART output goes to stdout (flushed at newlines and whenever the guest goes
idle or stops); stdin is fed to the UART as it arrives, read without blocking
(a terminal is put in cbreak mode for the run and restored after). The exit
code is the guest's, from the test device.

On a terminal, Ctrl-A is the escape key as in `qemu-system-riscv64
-nographic`: Ctrl-A X ends the run (exit code 0), Ctrl-A Ctrl-A types one
Ctrl-A, any other key after Ctrl-A is dropped.
"""

from __future__ import annotations

import os
import select
import sys
import time

from rvtrace.errors import UserError
from rvtrace.machine.config import MachineConfig


class ConsoleOut:
    """Buffers guest output and writes it to a binary stream at sensible moments."""

    def __init__(self, stream):
        self.stream = stream
        self.buf = bytearray()

    def byte(self, b: int) -> None:
        self.buf.append(b)
        if b == 10 or len(self.buf) >= 4096:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.stream.write(self.buf)
            self.stream.flush()
            self.buf.clear()


ESCAPE = 0x01                           # Ctrl-A


class QuitKey(KeyboardInterrupt):
    """The user typed Ctrl-A X: stop the run (a recording keeps what it has, as for Ctrl-C)."""


def strip_escapes(data: bytes, pending: bool) -> tuple[bytes, bool]:
    """Interpret QEMU's Ctrl-A escapes in typed bytes; (bytes for the guest, Ctrl-A pending at
    the end). Raises QuitKey at Ctrl-A X."""
    out = bytearray()
    for b in data:
        if pending:
            pending = False
            if b in (ord("x"), ord("X")):
                raise QuitKey()
            if b == ESCAPE:
                out.append(ESCAPE)
        elif b == ESCAPE:
            pending = True
        else:
            out.append(b)
    return bytes(out), pending


class StdinSource:
    """Console input from a file descriptor, without ever blocking the run."""

    def __init__(self, fd: int, before_wait=None):
        self.fd = fd
        self.closed = False
        self.interactive = os.isatty(fd)
        self.before_wait = before_wait      # e.g. flush output before sleeping
        self.escape = False                 # a Ctrl-A came last

    def __call__(self, timeout: float):
        if self.before_wait is not None:
            self.before_wait()
        if self.closed:
            return None
        try:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            data = os.read(self.fd, 4096) if ready else b""
        except (OSError, ValueError):    # a closed or hung-up descriptor: no more input
            self.closed = True
            return None
        if not ready:
            return b""
        if not data:
            self.closed = True
            return None
        if not self.interactive:
            return data
        data, self.escape = strip_escapes(data, self.escape)
        return data.replace(b"\n", b"\r")


class TerminalMode:
    """cbreak-ish mode on a terminal for the run (no echo, no line buffering), restored after."""

    def __init__(self, fd: int):
        self.fd = fd
        self.saved = None

    def __enter__(self):
        if os.isatty(self.fd):
            import termios
            import tty
            self.saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
            attrs = termios.tcgetattr(self.fd)
            attrs[3] &= ~termios.ECHO
            termios.tcsetattr(self.fd, termios.TCSADRAIN, attrs)
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            import termios
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
        return False


def _stdin_fd():
    try:
        return sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return None


def run_console(config: MachineConfig, max_insns: int | None = None, stats: bool = False) -> int:
    from rvtrace.machine.machine import Machine
    from rvtrace.machine.scheduler import Scheduler

    out = ConsoleOut(sys.stdout.buffer)
    fd = _stdin_fd()
    source = StdinSource(fd, before_wait=out.flush) if fd is not None else None
    machine = Machine(config, scheduler=Scheduler(config.seed, input_source=source, perturb=config.perturb))
    machine.on_console_output = out.byte
    machine.watch_fault_loops()
    if config.kernel:                   # a kernel of the user's: say so if it hangs
        from rvtrace.machine.elfload import function_namer, read_kernel
        machine.watch_progress(function_namer(read_kernel(config.kernel)))
    start = time.perf_counter()
    try:
        with TerminalMode(fd) if fd is not None else _Nothing():
            result = machine.run(max_insns)
    except QuitKey:
        out.flush()
        print("\nrvtrace: terminated (Ctrl-A X)", file=sys.stderr)
        return 0
    except (UserError, KeyboardInterrupt):
        raise
    except Exception as exc:            # an emulator bug: one line for the user, details on demand
        if os.environ.get("RVTRACE_DEBUG"):
            raise
        raise UserError(f"internal error after {machine.icount} instructions: "
                        f"{type(exc).__name__}: {exc} (set RVTRACE_DEBUG=1 for the traceback)") from exc
    finally:
        out.flush()
        if stats:
            _print_stats(machine, time.perf_counter() - start)
    if result.reason == "max-insns":
        raise UserError(f"stopped after {result.icount} instructions (--max-insns)")
    return result.exit_code


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _print_stats(machine, seconds: float) -> None:
    err = sys.stderr
    for i, hart in enumerate(machine.harts):
        print(f"hart {i}: {hart.instret} instructions retired", file=err)
    total = machine.icount
    mips = total / seconds / 1e6 if seconds > 0 else 0.0
    print(f"total: {total} instructions in {seconds:.3f} s wall, {mips:.2f} MIPS", file=err)
