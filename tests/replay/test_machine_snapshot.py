"""MachineSnapshots on a bare Machine: restore, run on, and get what one straight run gets."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "guest"))

from guestbuild import build  # noqa: E402
from rvtrace.machine.config import MachineConfig  # noqa: E402
from rvtrace.machine.machine import Machine  # noqa: E402
from rvtrace.replay.snapshot import MachineSnapshots  # noqa: E402


def machine(harts: int) -> Machine:
    return Machine(MachineConfig(kernel=str(build("multihart")), harts=harts, seed=5, mem_mib=16))


def snapshots(m: Machine) -> MachineSnapshots:
    objects = [m, m.bus, *m.harts, m.clint, m.plic, m.uart, m.testdev, *m.disks, m.scheduler]
    return MachineSnapshots(m, objects, [m.config])


def state(m: Machine):
    return ([(list(h.x), h.pc, h.priv, h.instret, h.waiting, h.read_csr(0x344)) for h in m.harts],
            m.icount, m.mtime(), hashlib.sha256(m.bus.ram).hexdigest())


@pytest.mark.parametrize("harts", [1, 3])
def test_restore_then_run_equals_a_straight_run(harts):
    straight = machine(harts)
    straight.run(max_insns=30_000)
    want_mid = state(straight)
    straight.run(max_insns=40_000)
    want_end = state(straight)

    m = machine(harts)
    snaps = snapshots(m)
    snaps.take()                                   # checkpoint 0: boot
    m.run(max_insns=30_000)
    mid = snaps.take()                             # checkpoint 1
    assert state(m) == want_mid
    m.run(max_insns=40_000)
    assert state(m) == want_end
    for _ in range(2):                             # restore twice: the snapshot is not consumed
        snaps.restore(mid)
        assert state(m) == want_mid
        m.run(max_insns=40_000)
        assert state(m) == want_end
