"""Same inputs + same decisions => the same run, turn for turn, on the real CPU."""

import pytest

from guestbuild import build, cpu_ready, make_disk
from rvtrace.machine.config import MachineConfig
from rvtrace.machine.machine import Machine
from rvtrace.machine.scheduler import ReplayScheduler, Scheduler

pytestmark = pytest.mark.skipif(not cpu_ready(), reason="rvtrace.cpu.Hart is not written yet")


def run_logged(config, scheduler, feed=b""):
    """Run to power-off; returns (decisions, end-of-turn states, console)."""
    decisions, turns, out = [], [], bytearray()
    scheduler.on_decision = lambda kind, value: decisions.append((kind, value))
    m = Machine(config, scheduler=scheduler)
    m.on_console_output = out.append
    if feed:
        m.feed_console(feed)
    original_run = [h.run for h in m.harts]
    for i, hart in enumerate(m.harts):
        def logged(budget, i=i, hart=hart):
            n = original_run[i](budget)
            turns.append((i, budget, n, hart.pc, m.mtime()))
            return n
        hart.run = logged
    result = m.run()
    assert result.reason == "poweroff"
    return decisions, turns, bytes(out), result


def test_same_seed_same_turns_and_replay_matches():
    config = MachineConfig(kernel=str(build("multihart")), harts=4, seed=11)
    a = run_logged(config, Scheduler(11))
    b = run_logged(config, Scheduler(11))
    assert a[1] == b[1] and a[0] == b[0] and a[3] == b[3]
    replayed = run_logged(config, ReplayScheduler(a[0]))
    assert replayed[1] == a[1] and replayed[2] == a[2]
    other = run_logged(config, Scheduler(12))
    assert other[1] != a[1] and other[2] == a[2]          # other interleaving, same output


def test_disk_completes_exactly_after_the_decided_latency(tmp_path):
    disk = make_disk(tmp_path / "d.img")
    config = MachineConfig(kernel=str(build("disk_echo")), disk=str(disk), seed=5)
    for latency in (2_000, 12_345):
        m = Machine(config, scheduler=ReplayScheduler([("disk", latency)]))
        times = []
        m.disk.on_request = lambda *a: times.append(("request", m.mtime()))
        m.disk.on_complete = lambda *a: times.append(("complete", m.mtime()))
        out = bytearray()
        m.on_console_output = out.append
        m.feed_console(b"x\r")
        assert m.run().exit_code == 0
        assert [k for k, _ in times] == ["request", "complete"]
        assert times[1][1] - times[0][1] == latency
        assert out.endswith(b"echo: x\ndisk_echo: done\n")


def test_stepping_in_pieces_retires_what_one_run_does():
    config = MachineConfig(kernel=str(build("multihart")), harts=4, seed=2)

    def go(piece_sizes):
        decisions, out = [], bytearray()
        m = Machine(config, scheduler=Scheduler(2, on_decision=lambda k, v: decisions.append((k, v))))
        m.on_console_output = out.append
        samples = []
        for size in piece_sizes:
            r = m.run(max_insns=size)
            samples.append((m.icount, tuple(h.pc for h in m.harts)))
            if r.reason != "max-insns":
                break
        return decisions, bytes(out), [h.instret for h in m.harts], samples

    whole = go([None])
    sizes = [1] * 300 + [997, 13, 5000] * 40 + [None]
    pieces = go(sizes)
    assert pieces[:3] == whole[:3]
    # and a second piecewise run sees the very same pcs at the same icounts
    assert go(sizes)[3] == pieces[3]


def test_board_state_is_deterministic_and_round_trips(tmp_path):
    disk = make_disk(tmp_path / "d.img")
    config = MachineConfig(kernel=str(build("multihart")), harts=4, seed=8, disk=str(disk))

    def machine_at(n):
        m = Machine(config)
        assert m.run(max_insns=n).reason == "max-insns"
        return m

    m1, m2 = machine_at(20_000), machine_at(20_000)
    s1 = m1.board_state()
    assert s1 == m2.board_state()
    assert s1["icount"] == 20_000 and s1["clint"]["mtimecmp"] != [0, 0, 0, 0]
    m1.run(max_insns=15_000)                    # the capture shares nothing with the live board
    assert s1 == m2.board_state() != m1.board_state()
    m1.restore_board_state(s1)
    assert m1.board_state() == s1
