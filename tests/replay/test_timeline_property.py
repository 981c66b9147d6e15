"""The timeline's searches against plain forward scans, on real recordings (1 and 3 harts).

For random positions and random stop sets (function and address breakpoints,
syscall catchpoints with conditions, watchpoints), `search` backwards must stop
exactly at the nearest earlier stop a forward scan from the start finds, and
forwards at the nearest later one -- whatever checkpoints, interval summaries
and skipping the session used. And `step` / `reverse-step` against a forward
scan of the hart's source lines.
"""

from __future__ import annotations

import random

import pytest

from rvtrace.guest.bundle import bundled_boot
from rvtrace.machine.config import MachineConfig
from rvtrace.record import record
from rvtrace.replay import EventStop, PcStop, ReplaySession, StopSet, WatchStop
from rvtrace.replay.engine import _Hooks
from rvtrace.replay.lines import LineMover
from rvtrace.replay.probes import StopProbe
from rvtrace.trace import Kind

pytestmark = pytest.mark.slow

EVERY = 50_000           # small: searches cross many intervals, most of them skippable
WRITE, EXEC_NUM = 16, 7


def _record(path, program, harts, seed=0):
    kernel, disk, bootargs = bundled_boot(program, [])
    cfg = MachineConfig(kernel=kernel, disk=disk, bootargs=bootargs, harts=harts, seed=seed)
    assert record(cfg, path, console_echo=lambda b: None).ending == "poweroff"
    return path


@pytest.fixture(scope="module", params=[("forkexec", 1), ("forkexec", 3), ("twochildren", 1)],
                ids=lambda p: f"{p[0]}-{p[1]}harts")
def recording(request, tmp_path_factory):
    program, harts = request.param
    return _record(tmp_path_factory.mktemp("tl") / f"{program}.mp", program, harts, seed=1)


def all_hits(s: ReplaySession, stops: StopSet) -> list[int]:
    """Every stop of `stops` in the recording, by one plain forward run from the start (no
    skipping), and the event index."""
    e = s.engine
    hits: set[int] = set()
    if stops.pcs or stops.watches:
        probe = StopProbe(e, stops.pcs, stops.watches)

        def collect(g=None):
            hits.add(e.now() if g is None else g)
        e._restore(e.checkpoints[0])
        with _Hooks(e, probe, collect):
            probe.begin()
            e._advance(e.end)
            probe.end(collect)
        e.dirty = True
    match = stops.event_match()
    hits.update(ev.icount for ev in s.trace.events() if stops.events and match(ev))
    return sorted(hits)


def random_stops(s: ReplaySession, rng: random.Random) -> StopSet:
    img = s.image
    stops = StopSet()
    funcs = ["sched", "kalloc", "exec", "panic", "wakeup", "copyout", "uartputc", "fork", "exit", "kfree"]
    for name in rng.sample(funcs, 2):
        stops.pcs.append(PcStop(name, frozenset({img.address_of(name)})))
    entry = img.address_of(rng.choice(["sys_write", "sys_wait", "pipewrite"]))
    stops.pcs.append(PcStop("addr", frozenset({entry + 2}), lambda ctx: ctx.priv == 1))
    pid = rng.choice([1, 2, 3])
    stops.events.append(EventStop("write", lambda ev: ev.fields.get("num") == WRITE and ev.pid == pid,
                                  frozenset({Kind.SYSCALL_ENTER})))
    if rng.random() < 0.7:
        ticks = img.address_of("ticks")
        stops.watches.append(WatchStop("ticks", ticks, 4))
    return stops


def test_searches_stop_where_a_forward_scan_does(recording):
    rng = random.Random(8)
    with ReplaySession(recording, checkpoint_every=EVERY) as s:
        end = s.end_icount
        for _ in range(2):
            stops = random_stops(s, rng)
            hits = all_hits(s, stops)
            for _ in range(3):
                p = rng.randrange(1, end)
                s.goto_icount(p)
                if s.event is not None and s.event.icount == p:
                    continue                    # on an event: several may share its icount
                later = [h for h in hits if h > p]
                stop = s.search(stops, forward=True)
                assert (stop.icount if stop else None) == (later[0] if later else None), (p, stops)
                s.goto_icount(p)
                earlier = [h for h in hits if h < p]
                stop = s.search(stops, forward=False)
                assert (stop.icount if stop else None) == (earlier[-1] if earlier else None), (p, stops)


# --- source lines -----------------------------------------------------------------------

def _line_scan(s: ReplaySession, mover: LineMover, start: int, stop: int):
    """(icount, line) of the hart's positions in [start, stop] in its own mode and address
    space, where its code has a source line."""
    out = []
    for icount, pc, priv, satp, _ in s.engine.hart_states(mover.hart, start, stop):
        if mover._mine(priv, satp) and mover.line(pc) is not None:
            out.append((icount, mover.line(pc)))
    return out


def user_positions(s: ReplaySession, rng: random.Random, n: int) -> list[tuple[int, int]]:
    """(icount, hart) at random moments a little before programs' system calls: user code."""
    calls = [ev for ev in s.trace.events() if ev.kind == Kind.SYSCALL_ENTER and ev.pid >= 2]
    out = []
    for ev in rng.sample(calls, min(len(calls), 4 * n)):
        p = s.engine.hart_instructions_back(ev.hart, ev.icount, rng.randint(1, 60))
        if s.state_at(p).harts[ev.hart].priv == 0:
            out.append((p, ev.hart))
            if len(out) == n:
                break
    return out


def test_step_and_reverse_step_follow_the_lines_a_scan_sees(recording):
    rng = random.Random(5)
    window = 1000
    with ReplaySession(recording, checkpoint_every=EVERY) as s:
        checked = 0
        for p, hart in user_positions(s, rng, 3):
            s.goto_icount(p)
            s.select_hart(hart)
            mover = LineMover(s, over_calls=False)
            here = mover.line(s.machine.harts[hart].pc)
            ahead = _line_scan(s, mover, p, min(p + window, s.end_icount))
            nxt = next((i for i, line in ahead if i > p and line != here), None)
            if here is not None and nxt is not None:
                s.goto_icount(p)
                s.select_hart(hart)
                s.step()
                assert s.icount == nxt, (p, here)
                checked += 1
            behind = _line_scan(s, mover, max(0, p - window), p)
            before = [(i, line) for i, line in behind if i < p]
            target = next((k for k in range(len(before) - 1, -1, -1) if before[k][1] != here), None)
            if here is None or target is None:
                continue
            k = target
            while k > 0 and before[k - 1][1] == before[target][1]:
                k -= 1
            if k == 0:
                continue                        # the run may begin before the window
            s.goto_icount(p)
            s.select_hart(hart)
            s.reverse_step()
            assert s.icount == before[k][0], (p, here, before[target])
            checked += 1
        assert checked, "no user-mode position with source lines was tried"
