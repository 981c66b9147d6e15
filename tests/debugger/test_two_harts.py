"""The debugger on a two-hart recording: events name their hart, `hart N` picks whose registers."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_harts(tmp_path_factory, make_batch):
    from rvtrace.guest.bundle import bundled_boot
    from rvtrace.machine.config import MachineConfig
    from rvtrace.record import record
    kernel, disk, bootargs = bundled_boot("forkexec", [])
    path = tmp_path_factory.mktemp("debugger2") / "forkexec-2harts.mp"
    result = record(MachineConfig(kernel=kernel, disk=disk, bootargs=bootargs, harts=2, seed=1), path,
                    console_echo=lambda b: None)
    assert result.ending == "poweroff"
    b = make_batch(path)
    yield b
    b.session.close()


def test_stepping_follows_the_chosen_hart(two_harts):
    b = two_harts
    b.ok("start", "break exec echo", "continue")
    ev = b.session.event
    assert "Hart %d (of 2)" % ev.hart in b.ok("hart")
    other = 1 - ev.hart
    b.ok(f"hart {other}")
    before = b.session.machine.r.registers(other)
    out = b.ok("stepi")
    assert out.startswith(f"hart {other} ")
    b.ok("reverse-stepi")
    assert b.session.machine.r.registers(other) == before
    assert "there is no hart 2" in b.run("hart 2")
    procs = b.ok("info procs")
    assert re.search(r"running on hart \d", procs)
