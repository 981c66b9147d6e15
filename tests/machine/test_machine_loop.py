"""The machine's run loop with scripted harts: scheduling, time, idling, limits."""

import pytest

import fakecpu
from rvtrace.errors import UserError
from rvtrace.machine.config import MachineConfig
from rvtrace.machine.machine import Machine
from rvtrace.machine.scheduler import QUANTUM_MAX, QUANTUM_MIN, ReplayScheduler, Scheduler
from test_machine_boot import elf

POWEROFF = ("write", 0x100000, 4, 0x5555)
MTIMECMP = 0x2004000


def make(scripts, harts=1, seed=0, scheduler=None):
    fakecpu.SCRIPTS.clear()
    fakecpu.SCRIPTS.update(scripts)
    config = MachineConfig(kernel="k.elf", harts=harts, seed=seed, mem_mib=4)
    return Machine(config, scheduler=scheduler, kernel_bytes=elf(), cpu=fakecpu)


def test_boot_registers_and_fdt():
    m = make({}, harts=2)
    for i, hart in enumerate(m.harts):
        assert hart.pc == 0x8000_0000 and hart.x[10] == i and hart.x[11] == m.fdt_addr
    assert m.fdt_addr == 0x8000_0000 + (4 << 20) - (2 << 20)
    assert m.bus.ram[m.fdt_addr - m.bus.ram_base:][:4] == b"\xd0\x0d\xfe\xed"


def test_poweroff_exit_code_and_counts():
    m = make({0: {5000: ("write", 0x100000, 4, (9 << 16) | 0x3333)}})
    result = m.run()
    assert (result.reason, result.exit_code, result.icount) == ("poweroff", 9, 5000)
    assert m.mtime() == 5000


def test_max_insns_stops_exactly():
    m = make({0: {}})
    result = m.run(max_insns=12345)
    assert result.reason == "max-insns" and result.icount == 12345 == m.harts[0].instret
    assert m.run(max_insns=5).icount == 12350


def interleaving(seed):
    scripts = {0: {40_000: POWEROFF}, 1: {}, 2: {}}
    m = make(scripts, harts=3, seed=seed)
    m.run()
    return [(h, t) for h, hart in enumerate(m.harts) for t in hart.turns]


def test_same_seed_same_interleaving_other_seed_differs():
    a, b, c = interleaving(1), interleaving(1), interleaving(2)
    assert a == b and a != c
    budgets = [turn[1] for _, turn in a]
    assert all(QUANTUM_MIN <= q <= QUANTUM_MAX for q in budgets[:-1])
    assert len({h for h, _ in a}) == 3


def test_decisions_replay_to_the_same_run():
    decisions = []
    fakecpu.SCRIPTS.clear()
    m = make({0: {40_000: POWEROFF}, 1: {}}, harts=2,
             scheduler=Scheduler(5, on_decision=lambda k, v: decisions.append((k, v))))
    m.run()
    first = [h.turns for h in m.harts]
    m2 = make({0: {40_000: POWEROFF}, 1: {}}, harts=2, scheduler=ReplayScheduler(decisions))
    m2.run()
    assert [h.turns for h in m2.harts] == first
    assert {k for k, _ in decisions} == {"hart", "quantum"}


def test_timer_deadline_caps_quanta_and_idle_skips_time():
    # hart 0 arms mtimecmp = 7000 at instret 100, then waits; hart 1 waits at once
    script0 = {100: ("write", MTIMECMP, 8, 7000), 200: ("wfi",), 300: POWEROFF}
    m = make({0: script0, 1: {0: ("wfi",)}}, harts=2)
    m.harts[0].mie = 1 << 7
    result = m.run()
    assert result.exit_code == 0
    woke = [t for t in m.harts[0].turns if t[0] >= 7000]
    assert woke and woke[0][0] == 7000            # resumed exactly at the deadline
    assert result.icount == 300


def test_deadline_lands_exactly_while_other_hart_runs():
    script0 = {10: ("write", MTIMECMP + 8, 8, 2500), 100_000: POWEROFF}
    m = make({0: script0, 1: {0: ("wfi",), 1: POWEROFF}}, harts=2, seed=3)
    m.harts[1].mie = 1 << 7
    m.run()
    assert m.harts[1].turns[-1][0] >= 2500
    assert any(t[0] + t[2] == 2500 for t in m.harts[0].turns)   # a turn ended right there


def test_idle_forever_is_a_user_error():
    m = make({0: {10: ("wfi",)}})
    with pytest.raises(UserError, match="idle forever"):
        m.run()


def test_fault_loop_is_a_user_error():
    m = make({0: {10: ("fault",)}})
    with pytest.raises(UserError, match="fault loop"):
        m.run()


def test_console_input_wakes_an_idle_machine():
    chunks = [b"hi", b""]                          # nothing at the first poll, then "hi"
    source = lambda timeout: chunks.pop() if chunks else None   # noqa: E731
    decisions = []
    m = make({0: {10: ("wfi",), 11: POWEROFF}},
             scheduler=Scheduler(0, input_source=source, on_decision=lambda k, v: decisions.append((k, v))))
    m.harts[0].mie = 1 << 11
    m.plic.write(4 * 10, 4, 1)
    m.plic.write(0x2000, 4, 1 << 10)
    m.uart.write(1, 1, 1)                          # RX interrupts on
    assert m.run().reason == "poweroff"
    assert decisions == [("input", (10, b"hi"))]
    assert m.uart.read(0, 1) == ord("h")


def test_reservations_cleared_when_another_hart_runs():
    m = make({0: {20_000: POWEROFF}, 1: {}}, harts=2, seed=4)
    m.run()
    assert m.harts[0].reservation_cleared > 0 and m.harts[1].reservation_cleared > 0


def test_run_after_poweroff_returns_at_once():
    m = make({0: {100: POWEROFF}})
    first = m.run()
    again = m.run()
    assert (again.reason, again.icount) == (first.reason, 100)


def test_replay_mismatch_is_reported():
    from rvtrace.machine.scheduler import ReplayMismatch
    s = ReplayScheduler([("disk", 5)])
    with pytest.raises(ReplayMismatch, match="quantum"):
        s.quantum()
    assert s.disk_latency() == 5
    with pytest.raises(ReplayMismatch, match="the end"):
        s.disk_latency()


def test_replayed_input_lands_at_its_recorded_icount():
    s = ReplayScheduler([("input", (50, b"a")), ("disk", 1)])
    assert s.console_input(10) == b""
    assert s.console_input(50) == b"a"
    assert s.disk_latency() == 1
    assert s.console_input(60) is None                   # recording over: input closed


def test_running_in_pieces_matches_one_run():
    scripts = {0: {30_000: POWEROFF}, 1: {}, 2: {}}
    whole = make(scripts, harts=3, seed=9)
    decisions_whole = []
    whole.scheduler.on_decision = lambda k, v: decisions_whole.append((k, v))
    whole.run()
    pieces = make(scripts, harts=3, seed=9)
    decisions_pieces = []
    pieces.scheduler.on_decision = lambda k, v: decisions_pieces.append((k, v))
    steps = 0
    while pieces.run(max_insns=777).reason == "max-insns":
        steps += 1
    assert steps > 10
    assert decisions_pieces == decisions_whole
    assert [h.instret for h in pieces.harts] == [h.instret for h in whole.harts]
    # each turn of the whole run is a run of consecutive pieces of one hart
    assert pieces.icount == whole.icount == 30_000 + sum(h.instret for h in whole.harts[1:])
