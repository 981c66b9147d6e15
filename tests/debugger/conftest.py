"""A forkexec recording shared by the debugger tests, and a way to run debugger commands on it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rvtrace.debugger.main import open_session
from rvtrace.debugger.printer import CollectingPrinter
from rvtrace.trace import Kind, TraceReader


@dataclass
class Forkexec:
    path: object
    parent: int           # forkexec's pid
    child: int            # the child that execs echo


@pytest.fixture(scope="session")
def forkexec(tmp_path_factory) -> Forkexec:
    """forkexec recorded with the bundled kernel (1 hart, seed 0), and its two pids."""
    from rvtrace.guest.bundle import bundled_boot
    from rvtrace.machine.config import MachineConfig
    from rvtrace.record import record
    kernel, disk, bootargs = bundled_boot("forkexec", [])
    path = tmp_path_factory.mktemp("debugger") / "forkexec.mp"
    result = record(MachineConfig(kernel=kernel, disk=disk, bootargs=bootargs), path,
                    console_echo=lambda b: None)
    assert result.ending == "poweroff"
    with TraceReader(path) as t:
        events = list(t)
    parent = next(e.pid for e in events if e.kind == Kind.EXEC and e.fields["path"] == "forkexec")
    child = next(e.fields["child"] for e in events if e.kind == Kind.FORK and e.pid == parent)
    return Forkexec(path, parent, child)


class Batch:
    """One debugger session whose output is collected: `b.run("break exec", "c")` -> new text."""

    def __init__(self, path):
        self.printer = CollectingPrinter()
        self.session = open_session(path, self.printer)

    def run(self, *lines: str) -> str:
        start = len(self.printer.lines)
        for line in lines:
            self.session.run_line(line)
        return "\n".join(self.printer.lines[start:])

    def ok(self, *lines: str) -> str:
        """Like run, but every command must succeed."""
        start = len(self.printer.lines)
        for line in lines:
            assert self.session.run_line(line), f"{line!r} failed: {self.printer.lines[start:]}"
        return "\n".join(self.printer.lines[start:])


@pytest.fixture(scope="session")
def make_batch():
    """Batch itself, for tests that open their own recordings."""
    return Batch


@pytest.fixture
def batch(forkexec):
    b = Batch(forkexec.path)
    yield b
    b.session.close()
