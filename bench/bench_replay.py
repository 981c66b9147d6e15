"""Replay speed: event moves on a >= 1 M event trace, `goto @N` and `reverse-stepi` anywhere,
and long moves in a fresh debugger against `rvtrace run`.

    python bench/bench_replay.py [--events N] [--program NAME] [--every N] [--only long]

1. Event moves (goal <= 20 ms each): a synthetic trace of N events (default
   1,000,000) written with the reference writer (rvtrace.trace.synthetic).
   Recording that many real events would take an hour of emulation (a
   kernel run yields ~1 event per 1,500 instructions), so this part is
   synthetic -- the cursor only reads the index and chunks, whatever made them.
2. Re-execution (goal <= 0.5 s): a real recording of PROGRAM (default
   selftest) on the bundled kernel; `goto @N` and `reverse-stepi` at random
   points, after one pass to the end has laid the checkpoints (timed apart).
3. Long moves (goal: each <= 0.3 of `rvtrace run PROGRAM`, measured in the
   same run): each in a fresh `rvtrace replay -batch` process on the
   recording of part 2 -- `break panic` + `continue` to the end,
   `reverse-continue` from the end to the start (with `break panic`), `goto`
   to the middle. Figures are CPU seconds of the child processes (the
   machine may be shared), wall seconds in brackets. A fresh process starts
   from the recording's nearest snapshot (laid every 2 M instructions).
Prints the figures; never asserts timings.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from rvtrace.replay import EndOfTrace, ReplaySession, kinds_filter  # noqa: E402
from rvtrace.trace import Kind, TraceWriter  # noqa: E402
from rvtrace.trace.synthetic import synthetic_events  # noqa: E402


def timed(fn) -> float:
    """Seconds one move takes; a move that finds nothing (EndOfTrace) counts too."""
    t = time.perf_counter()
    try:
        fn()
    except EndOfTrace:
        pass
    return time.perf_counter() - t


def report(label: str, times: list[float], goal: float) -> None:
    ms = [t * 1000 for t in times]
    worst = max(ms)
    print(f"  {label:<44} median {statistics.median(ms):8.2f} ms  max {worst:8.2f} ms  "
          f"({len(ms)} runs){'' if worst <= goal * 1000 else '  OVER GOAL'}")


def bench_events(n: int, tmp: Path) -> None:
    path = tmp / "synthetic.mp"
    t = time.perf_counter()
    w = TraceWriter(path, config={}, seed=0)
    for ev in synthetic_events(n, seed=1):
        w.event(*ev)
    w.close("poweroff", "status 0")
    print(f"event moves on a synthetic trace of {n:,} events "
          f"({path.stat().st_size / n:.2f} bytes/event, written in {time.perf_counter() - t:.1f} s); goal 20 ms")
    rng = random.Random(7)
    t = time.perf_counter()
    s = ReplaySession(path)
    print(f"  {'open':<44} {1000 * (time.perf_counter() - t):8.2f} ms")
    N = len(s)
    execs = kinds_filter([Kind.EXEC])
    forks = kinds_filter([Kind.FORK])
    writes = kinds_filter([Kind.SYSCALL_ENTER], lambda e: e.num == 16)
    report("goto EVENT (random, cold chunks)", [timed(lambda: s.goto_event(rng.randrange(N))) for _ in range(50)], 0.02)
    report("first / last", [timed(s.first_event), timed(s.last_event)] * 5, 0.02)
    times = []
    for _ in range(50):
        s.goto_event(rng.randrange(N - 1))
        times += [timed(s.next_event), timed(s.prev_event)]
    report("step / reverse-step (random points)", times, 0.02)
    times = []
    for _ in range(30):
        s.goto_event(rng.randrange(N // 2, N - 1))
        times += [timed(lambda: s.next_event(execs)), timed(lambda: s.prev_event(execs))]
    report("continue / reverse-continue: break exec", times, 0.02)
    times = []
    for _ in range(30):
        s.goto_event(rng.randrange(N // 2, N - 1))
        times += [timed(lambda: s.next_event(writes)), timed(lambda: s.prev_event(writes))]
    report("c / rc: break write", times, 0.02)
    times = []
    for _ in range(30):
        s.goto_event(rng.randrange(N - 1))
        times += [timed(lambda: s.next_event(forks)), timed(lambda: s.prev_event(forks))]
    report("c / rc: break fork", times, 0.02)
    rare = kinds_filter([Kind.POWEROFF])
    s.first_event()
    report("c: break poweroff from the start (whole trace)", [timed(lambda: s.next_event(rare))], 0.02)
    s.first_event()
    report("  ... again (kinds per chunk known now)", [timed(lambda: s.next_event(rare))], 0.02)
    s.close()


def record_program(program: str, tmp: Path):
    from rvtrace.guest.bundle import bundled_boot
    from rvtrace.machine.config import MachineConfig
    from rvtrace.record import record
    kernel, disk, bootargs = bundled_boot(program, [])
    path = tmp / f"{program}.mp"
    t = time.perf_counter()
    r = record(MachineConfig(kernel=kernel, disk=disk, bootargs=bootargs), path, console_echo=lambda b: None)
    return path, r, time.perf_counter() - t


def child_seconds(argv: list[str]) -> tuple[float, float]:
    """(CPU, wall) seconds of a fresh `rvtrace` process."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rvtrace.cli", *argv], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def bench_long_moves(program: str, path: Path, end: int, recorded=None) -> None:
    run_cpu, run_wall = child_seconds(["run", program])
    print(f"long moves in a fresh debugger on {program}, against `rvtrace run {program}` "
          f"({run_cpu:.1f} s CPU [{run_wall:.1f} s wall]); goal <= 0.3")
    if recorded is not None:
        r = recorded[1]
        print(f"  (the recording: {r.size / 1024:.0f} KiB, of which {r.snapshots} snapshots "
              f"{r.snapshot_size / 1024:.0f} KiB; recorded in {recorded[2]:.1f} s)")
    base = ["replay", str(path), "-batch"]
    moves = [("break panic + continue (to the end)", ["-ex", "break panic", "-ex", "continue"]),
             ("reverse-continue from the end to the start", ["-ex", "break panic", "-ex", "end",
                                                             "-ex", "reverse-continue"]),
             ("goto the middle", ["-ex", f"goto @{end // 2}"])]
    opened, _ = child_seconds(base + ["-ex", "when"])
    for label, ex in moves:
        cpu, wall = child_seconds(base + ex)
        print(f"  {label:<44} {cpu:7.2f} s CPU [{wall:6.2f} s wall]  ratio {cpu / run_cpu:5.2f}"
              f"{'' if cpu / run_cpu <= 0.3 else '  OVER GOAL'}")
    print(f"  {'(opening the trace alone)':<44} {opened:7.2f} s CPU")


def bench_reexecution(program: str, every: int, tmp: Path, recorded=None) -> None:
    path, r, rec_s = recorded or record_program(program, tmp)
    print(f"re-execution on {program}: {r.icount:,} instructions, {r.events:,} events "
          f"(recorded in {rec_s:.1f} s); checkpoints every {every:,}; goal 500 ms")
    s = ReplaySession(path, checkpoint_every=every)
    end = s.end_icount
    t = time.perf_counter()
    s.goto_icount(end)
    first = time.perf_counter() - t
    e = s.engine
    print(f"  {'first pass to the end (lays checkpoints)':<44} {first:8.2f} s  "
          f"({end / first / 1e6:.2f} MIPS with checks; {len(e.checkpoints)} checkpoints, "
          f"{e.snaps.ram.stored_bytes / 2**20:.1f} MiB of RAM pages, {e.sink.checked} events checked)")
    rng = random.Random(3)
    report("goto @N (random N)", [timed(lambda: s.goto_icount(rng.randrange(end))) for _ in range(20)], 0.5)
    times = []
    for _ in range(20):
        s.goto_icount(rng.randrange(1, end))
        times.append(timed(s.reverse_stepi))
    report("reverse-stepi (random points)", times, 0.5)
    times = []
    for _ in range(20):
        s.goto_icount(rng.randrange(0, end - 1))
        times.append(timed(s.stepi))
    report("stepi (random points)", times, 0.5)
    s.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--program", default="selftest")
    ap.add_argument("--every", type=int, default=None, help="checkpoint spacing (instructions)")
    ap.add_argument("--only", choices=["events", "reexecution", "long"], default=None)
    a = ap.parse_args()
    from rvtrace.replay.engine import DEFAULT_EVERY
    with tempfile.TemporaryDirectory() as d:
        if a.only in (None, "events"):
            bench_events(a.events, Path(d))
        if a.only in (None, "reexecution", "long"):
            recorded = record_program(a.program, Path(d))
            if a.only != "long":
                bench_reexecution(a.program, a.every or DEFAULT_EVERY, Path(d), recorded)
            if a.only != "reexecution":
                bench_long_moves(a.program, recorded[0], recorded[1].icount, recorded)


if __name__ == "__main__":
    main()
