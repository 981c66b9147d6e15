"""Instruction budgets of the kernel on rvtrace's own machine (issue 3):
boot to a running program in under 3 M instructions with 128 MiB of RAM, and
`forkexec` in under 10 M instructions in all."""

from __future__ import annotations

import pytest

from rvtrace.guest.bundle import bundled_boot
from rvtrace.machine.config import MachineConfig
from rvtrace.machine.machine import Machine

pytestmark = pytest.mark.slow


def run(program: str, args: list[str], max_insns: int, harts: int = 1):
    kernel, disk, bootargs = bundled_boot(program, args)
    machine = Machine(MachineConfig(kernel=kernel, disk=disk, bootargs=bootargs, harts=harts))
    out = bytearray()
    machine.on_console_output = out.append
    return machine.run(max_insns=max_insns), out.decode(errors="replace")


def test_boot_and_a_whole_small_program_fit_in_3M_instructions():
    # Stronger than the requirement: boot, /init, fork, exec echo, echo's
    # output and the power-off all happen inside the 3 M boot budget.
    result, out = run("echo", ["hi"], max_insns=3_000_000)
    assert (result.reason, result.exit_code, out) == ("poweroff", 0, "hi\n"), result


@pytest.mark.parametrize("harts", [1, 3])
def test_forkexec_fits_in_10M_instructions(harts):
    result, out = run("forkexec", [], max_insns=10_000_000, harts=harts)
    assert (result.reason, result.exit_code) == ("poweroff", 0), (result, out)
    assert out.endswith("the child exited with status 0\n")
