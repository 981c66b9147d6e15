"""A kernel that stops making progress without faulting is stopped and
described: an interrupt storm (storm.c) and a hart spinning with interrupts
off on a lock nobody releases (deadlock.c); a busy or idle kernel is not."""

import pytest

from guestbuild import build, cpu_ready, run_rvtrace
from rvtrace.errors import UserError
from rvtrace.machine.config import MachineConfig
from rvtrace.machine.elfload import function_namer

needs_cpu = pytest.mark.skipif(not cpu_ready(), reason="rvtrace.cpu.Hart is not written yet")


def machine_for(name, **limits):
    from rvtrace.machine.machine import Machine
    elf = build(name)
    m = Machine(MachineConfig(kernel=str(elf)))
    m.watch_progress(function_namer(elf.read_bytes()), **limits)
    return m


@needs_cpu
def test_interrupt_storm_is_reported_with_the_source_and_pc():
    rc, out, err = run_rvtrace("--kernel", str(build("storm")))
    assert (rc, out) == (2, b"storm: go\n")
    line = err.strip().splitlines()[-1]
    assert line.startswith("rvtrace: no progress: interrupt storm on hart 0: the machine external "
                           "interrupt (PLIC source 10, uart) came 5,000 times in ")
    assert "with no console or disk activity; the last one interrupted pc 0x" in line
    assert "(guest_main+0x" in line


@needs_cpu
def test_spin_with_interrupts_off_is_reported_with_pc_and_function():
    m = machine_for("deadlock", spin_insns=300_000)
    with pytest.raises(UserError) as exc:
        m.run(max_insns=20_000_000)
    text = str(exc.value)
    assert text.startswith("no progress: hart 0 has spun with interrupts off for ")
    assert "(acquire" in text or "(guest_main" in text       # inlined or not
    assert "no interrupt can end that" in text
    assert m.icount < 5_000_000


@needs_cpu
def test_busy_loop_with_changing_registers_is_not_a_spin():
    m = machine_for("spin", spin_insns=300_000)                # counts forever, registers change
    assert m.run(max_insns=6_000_000).reason == "max-insns"
