"""`rvtrace record`: the live console, a progress line, and the summary at the end.

The guest's console goes to stdout as it happens (as with `rvtrace run`);
stdin, when there is one, is the guest's console input (recorded). A
progress line (instructions, MIPS, events) is kept on stderr when stderr is
a terminal and the run lasts more than a second; the summary follows on
stderr, so stdout stays exactly what the guest printed.

The guest's console is never garbled: the progress line is drawn only while
the guest's output stands at the start of a line, and erased before the
guest writes anything more, so its text never shares a line with ours.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from rvtrace.errors import UserError
from rvtrace.files import check_input
from rvtrace.machine.runner import ConsoleOut, StdinSource, TerminalMode
from rvtrace.record.session import RecordResult, record

PROGRESS_AFTER_S = 1.0
PROGRESS_EVERY_S = 0.5


class Progress:
    """`  1,234,567 instructions  0.41 MIPS  1,024 events` on one terminal line, redrawn in place.

    `console` is the guest's console (a _Console): the line is drawn only when
    the guest's output ends with a newline, and the console erases it before
    writing more."""

    def __init__(self, stream, console=None):
        self.stream = stream
        self.console = console
        self.start = time.perf_counter()
        self.next = self.start + PROGRESS_AFTER_S
        self.shown = False
        if console is not None:
            console.progress = self

    def __call__(self, recorder) -> None:
        now = time.perf_counter()
        if now < self.next:
            return
        self.next = now + PROGRESS_EVERY_S
        if self.console is not None:
            self.console.flush()
            if not self.console.at_line_start:
                return                  # the guest is mid-line: drawing would split its text
        icount = recorder.now()
        mips = icount / (now - self.start) / 1e6
        self.stream.write(f"\r\x1b[K  {icount:,} instructions  {mips:.2f} MIPS  "
                          f"{recorder.event_count:,} events")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def default_output(program: str | None) -> Path:
    """PROGRAM.mp in the current directory (never the sample traces/ of the checkout)."""
    name = Path(program).name if program else "kernel"
    return Path(f"{name}.mp")


def record_command(config, *, program: str | None, args: list[str], output: str | None,
                   max_insns: int | None, shell_mode: bool) -> int:
    """Record, print the summary, and return the exit code (the guest's on a clean power-off)."""
    if output is not None and not output.strip():
        raise UserError("-o: give a file name for the trace (an empty one was given)")
    path = Path(output) if output else default_output(program)
    out = _Console(sys.stdout)
    progress = Progress(sys.stderr, console=out) if sys.stderr.isatty() else None
    fd = _stdin_fd()
    source = None
    if not shell_mode and fd is not None:
        source = StdinSource(fd, before_wait=out.flush)
    command = " ".join([program, *args]) if shell_mode else None
    metadata = {"program": program, "args": list(args)}
    try:
        with TerminalMode(fd) if source is not None and source.interactive else _Nothing():
            result = record(config, path, max_insns=max_insns, input_source=source,
                            shell_command=command, console_echo=out.byte, progress=progress,
                            metadata=metadata)
    finally:
        out.flush()
        if progress is not None:
            progress.clear()
    try:
        print_summary(result, sys.stderr)
    except OSError:          # the terminal went away (SIGHUP): the trace is closed all the same
        pass
    return exit_code(result)


def exit_code(result: RecordResult) -> int:
    if result.ending == "poweroff":
        return result.exit_code or 0
    if result.ending == "shell-idle":
        return 0
    if result.ending == "interrupted":
        return 130
    return 1


ENDING_WORDS = {
    "poweroff": "the guest powered off",
    "max-insns": "stopped at --max-insns",
    "interrupted": "interrupted (Ctrl-C)",
    "guest-fault": "the guest faulted",
    "shell-idle": "the shell waits for its next command",
    "error": "rvtrace failed",
}


def print_summary(r: RecordResult, stream) -> None:
    w = stream.write
    w("\n")
    w(f"recorded {r.icount:,} instructions in {r.seconds:.1f} s "
      f"({r.icount / r.seconds / 1e6 if r.seconds else 0:.2f} MIPS)\n")
    ending = ENDING_WORDS.get(r.ending, r.ending)
    w(f"ended: {ending}" + (f" ({r.detail})" if r.detail else "") + "\n")
    kinds = ", ".join(f"{name} {n}" for name, n in sorted(r.counts.items(), key=lambda kv: -kv[1]))
    w(f"events: {r.events:,} ({kinds})\n")
    procs = " ".join(f"{pid}:{name}" for pid, name in r.processes.items())
    label = "processes" if r.pid_source == "kernel" else "address spaces (no kernel symbols)"
    w(f"{label}: {procs or '-'}\n")
    snaps = f"{_size(r.snapshot_size)} in {r.snapshots} snapshots, " if r.snapshots else ""
    w(f"trace: {r.path} ({_size(r.size)}: {_size(r.header_size)} header with the kernel and disk, "
      f"{snaps}{r.bytes_per_event:.1f} bytes/event)\n")
    if r.kept is not None:
        w(f"the earlier {r.path} is kept as {r.kept}\n")
    w(f"look at it: rvtrace dump {r.path}\n")
    if r.ending not in ("poweroff", "shell-idle"):
        w(f"rvtrace: the recording ended early ({r.ending}); the trace holds everything up to "
          f"that point\n")


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


def _stdin_fd():
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return None
    return fd


class _Console(ConsoleOut):
    """The live console; a reader that went away (`| head`) stops the echo, not the recording."""

    def __init__(self, stream):
        super().__init__(stream.buffer)
        self.text_stream = stream
        self.broken = False
        self.progress = None            # the Progress line to erase before writing
        self.at_line_start = True       # what was written so far ends with a newline

    def byte(self, b: int) -> None:
        if not self.broken:
            super().byte(b)

    def flush(self) -> None:
        if self.broken or not self.buf:
            return
        if self.progress is not None:
            self.progress.clear()
        self.at_line_start = self.buf[-1] == 10
        try:
            super().flush()
        except (BrokenPipeError, ValueError):
            self.broken = True
            self.buf.clear()
            # Python would complain at exit flushing the dead pipe: point stdout elsewhere.
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self.text_stream.fileno())
            except (OSError, ValueError):
                pass
            finally:
                os.close(devnull)


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def check_kernel_mode(args) -> None:
    """--kernel mode needs a program to type and a disk for it to live on."""
    if args.kernel and not args.program:
        raise UserError("with --kernel, name the PROGRAM to type into its shell "
                        "(e.g. `rvtrace record --kernel kernel.elf --disk fs.img forkexec`)")
    if args.kernel and not args.disk:
        raise UserError("--kernel needs --disk IMG: the file system holding the shell and PROGRAM")
    if args.kernel:
        check_input(args.kernel, "kernel")
