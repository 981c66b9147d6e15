"""--kernel/--disk: type the program into a kernel's shell; stop when the shell waits again.

Our own kernel booted with no command runs sh, which behaves like xv6-riscv's."""

from __future__ import annotations

import pytest

from rvtrace.guest.build import build_all
from rvtrace.machine.config import MachineConfig
from rvtrace.record import record, rerun
from rvtrace.trace import TraceReader
from rvtrace.trace.events import Kind

pytestmark = pytest.mark.slow


def test_program_is_typed_when_the_shell_blocks_and_the_run_ends_shell_idle(tmp_path):
    guest = build_all()
    config = MachineConfig(kernel=str(guest.kernel), disk=str(guest.disk), bootargs="")
    console = bytearray()
    path = tmp_path / "sh.mp"
    result = record(config, path, shell_command="echo hi there", console_echo=console.append)
    assert result.ending == "shell-idle"
    assert b"$ echo hi there\nhi there\n$ " in bytes(console)
    with TraceReader(path) as t:
        events = list(t)
        assert t.header.metadata["shell_command"] == "echo hi there"
    typed = [e for e in events if e.kind == Kind.CONSOLE_IN]
    assert [e.data for e in typed] == [b"echo hi there\n"]
    inputs = [e for e in events if e.kind == Kind.SCHEDULE and e.decision == 2]
    assert len(inputs) == 1 and inputs[0].value[1] == b"echo hi there\n"
    execs = [e for e in events if e.kind == Kind.EXEC]
    assert any(e.argv == ["echo", "hi", "there"] for e in execs)
    # every process started for the command exited before the end
    forked = {e.child for e in events if e.kind == Kind.FORK and e.icount > typed[0].icount}
    exited = {e.pid for e in events if e.kind == Kind.EXIT}
    assert forked and forked <= exited
    assert rerun(path) == events
