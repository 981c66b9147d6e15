"""Schedule perturbation: what the seed reaches at each level, and that every choice is a decision."""

import random

import pytest

from rvtrace.machine.scheduler import (DISK_LATENCY_MAX, DISK_LATENCY_MIN, QUANTUM_MAX, QUANTUM_MIN,
                                       ReplayMismatch, ReplayScheduler, Scheduler)


def decisions_of(scheduler, script):
    got = []
    scheduler.on_decision = lambda kind, value: got.append((kind, value))
    for question, args in script:
        getattr(scheduler, question)(*args)
    return got


SCRIPT = [("pick_hart", ([0, 1, 2], 1000 * i)) for i in range(50)] + \
         [("quantum", ())] * 50 + [("disk_latency", ())] * 50 + \
         [("timer_jitter", ([0, 1], 1000 * i, 1000 * i + 500, 3)) for i in range(200)]


def test_off_keeps_the_unperturbed_draws():
    """Seed 0 unperturbed answers exactly what the fixed model always did (the lecture's run)."""
    s = Scheduler(0)
    rng = random.Random(0)
    assert [s.pick_hart([0, 1, 2]) for _ in range(5)] == [[0, 1, 2][rng.randrange(3)] for _ in range(5)]
    assert s.quantum() == rng.randint(QUANTUM_MIN, QUANTUM_MAX)
    assert s.disk_latency() == rng.randint(DISK_LATENCY_MIN, DISK_LATENCY_MAX)


@pytest.mark.parametrize("level", ["vary", "chaos"])
def test_perturbed_levels_spread_and_replay(level):
    got = decisions_of(Scheduler(3, perturb=level), SCRIPT)
    quanta = [v for k, v in got if k == "quantum"]
    disks = [v for k, v in got if k == "disk"]
    jumps = [v for k, v in got if k == "jitter"]
    assert min(quanta) < QUANTUM_MIN and max(quanta) > QUANTUM_MAX      # wider than the fixed model
    assert min(disks) < DISK_LATENCY_MIN and max(disks) > DISK_LATENCY_MAX
    assert len(jumps) == 200 and 0 in jumps and any(jumps)               # one decision per turn
    assert len({v for k, v in got if k == "hart"}) > 1
    replayed = decisions_of(ReplayScheduler(got), SCRIPT)
    assert replayed == got
    assert decisions_of(Scheduler(3, perturb=level), SCRIPT) == got      # seeded: the same again
    assert decisions_of(Scheduler(4, perturb=level), SCRIPT) != got


def test_a_starved_hart_is_passed_over_and_alone_loses_time():
    s = Scheduler(1, perturb="chaos")
    s.starved, s.starve_until = 1, 50_000
    assert all(s.pick_hart([0, 1], 1_000) == 0 for _ in range(20))
    s.spread.starve_p, saved = 0.0, s.spread.starve_p
    try:
        assert s.timer_jitter([1], 10_000, None, 2) == 40_000       # until the starvation ends
        assert s.timer_jitter([1], 10_000, 12_000, 2) == 2_000      # or a deadline wakes another hart
    finally:
        s.spread.starve_p = saved


def test_replay_asks_for_jitter_in_order():
    r = ReplayScheduler([("jitter", 0), ("quantum", 7)])
    assert r.timer_jitter([0], 0, None, 1) == 0
    with pytest.raises(ReplayMismatch):
        r.timer_jitter([0], 0, None, 1)


def test_unknown_level_is_refused():
    with pytest.raises(ValueError):
        Scheduler(0, perturb="wild")
