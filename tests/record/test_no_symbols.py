"""A kernel without symbols: processes become address spaces, and the trace says so."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from rvtrace.record import rerun
from rvtrace.trace import TraceReader
from rvtrace.trace.events import Kind

from conftest import bundled_config, record_quietly

pytestmark = pytest.mark.slow


def test_without_a_symbol_table_pids_are_address_spaces(tmp_path):
    config = bundled_config("forkexec")
    elf = Path(config.kernel).read_bytes()
    assert elf.count(b".symtab\0") == 1
    stripped = tmp_path / "kernel-nosyms.elf"          # pyelftools no longer finds .symtab
    stripped.write_bytes(elf.replace(b".symtab\0", b".nosymt\0"))
    path = tmp_path / "t.mp"
    result, console = record_quietly(replace(config, kernel=str(stripped)), path)
    assert result.ending == "poweroff" and result.pid_source == "satp"
    assert b"THIS IS ECHO\n" in console
    with TraceReader(path) as t:
        meta = t.header.metadata
        events = list(t)
    assert meta["pid_source"] == "satp" and "satp" in meta["introspection"]
    enters = [e for e in events if e.kind == Kind.SYSCALL_ENTER]
    assert any(e.num == 7 and e.args[1] == ["echo", "THIS", "IS", "ECHO"] for e in enters)
    spaces = {e.pid for e in enters}
    assert len(spaces) >= 3                             # init, forkexec, echo at least
    echo_space = next(e.pid for e in enters if e.num == 16 and e.args[1] == b"THIS")
    said = b"".join(e.data for e in events if e.kind == Kind.CONSOLE_OUT and e.pid == echo_space)
    assert said == b"THIS IS ECHO\n"
    # fork names the child by its address space, and exec keeps the process's number
    execs = {e.argv[0]: e.pid for e in events if e.kind == Kind.EXEC}
    assert execs["echo"] == echo_space
    forks = {e.child: e.pid for e in events if e.kind == Kind.FORK}
    assert forks[execs["echo"]] == execs["forkexec"]
    assert any(e.kind == Kind.EXIT and e.pid == echo_space and e.status == 0 for e in events)
    assert rerun(path) == events
