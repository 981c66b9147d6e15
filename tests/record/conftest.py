"""Recordings shared by the recording tests (each boots the bundled kernel once per session)."""

from __future__ import annotations

import pytest

from rvtrace.guest.bundle import bundled_boot
from rvtrace.machine.config import MachineConfig
from rvtrace.record import record
from rvtrace.trace import TraceReader


def bundled_config(program: str, args=(), harts: int = 1, seed: int = 0, cow: bool = True) -> MachineConfig:
    kernel, disk, bootargs = bundled_boot(program, list(args), cow=cow)
    return MachineConfig(kernel=kernel, disk=disk, bootargs=bootargs, harts=harts, seed=seed)


def record_quietly(config, path, **kw):
    console = bytearray()
    result = record(config, path, console_echo=console.append, **kw)
    return result, bytes(console)


@pytest.fixture(scope="session")
def forkexec_trace(tmp_path_factory):
    """forkexec, bundled kernel, 1 hart, seed 0: (RecordResult, console bytes, events)."""
    path = tmp_path_factory.mktemp("rec") / "forkexec.mp"
    result, console = record_quietly(bundled_config("forkexec"), path)
    with TraceReader(path) as t:
        events = list(t)
    return result, console, events


def check_invariants(events) -> None:
    """What holds for every recording: time order, calls nest per process, switches chain per hart."""
    from rvtrace.trace.events import Kind
    icounts = [e.icount for e in events]
    assert icounts == sorted(icounts)
    open_calls, running = {}, {}
    for e in events:
        if e.kind == Kind.SYSCALL_ENTER:
            assert e.pid not in open_calls, f"{e}: pid {e.pid} entered a call inside a call"
            open_calls[e.pid] = e.num
        elif e.kind == Kind.SYSCALL_EXIT:
            assert open_calls.pop(e.pid) == e.num, f"{e}: no matching enter"
        elif e.kind == Kind.EXIT:
            open_calls.pop(e.pid, None)
        elif e.kind == Kind.SWITCH:
            assert running.get(e.hart, 0) == e.from_pid, f"{e}: hart ran {running.get(e.hart)}"
            running[e.hart] = e.to_pid
        if e.kind in (Kind.SYSCALL_ENTER, Kind.SYSCALL_EXIT):
            assert running.get(e.hart) == e.pid, f"{e}: hart {e.hart} runs {running.get(e.hart)}"
    assert set(open_calls.values()) <= {22}, open_calls      # poweroff never returns
