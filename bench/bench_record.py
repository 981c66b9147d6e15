"""Recording overhead versus `rvtrace run`, and bytes per event.

    python bench/bench_record.py [PROGRAM ...] [--harts N] [--reps R]

For each program (default: forkexec, a short run, and bigfork, a longer one)
the bundled kernel boots the program once as `rvtrace run` does (Machine +
fault-loop watch, console to memory) and once as `rvtrace record` does
(the same plus the recorder and the trace writer), R times each, alternating.
Times are process CPU seconds (the machine is shared; wall time is noise;
the in-process ones start with the previous run's garbage collected),
the median of R (this host's CPython speed varies from process to process,
so take R >= 5 for figures worth quoting). Printed per program:

  cli     the commands themselves, `rvtrace run P` vs `rvtrace record P` in
          subprocesses (CPU time of the child: interpreter start, guest build
          check, everything); goal <= 1.10x
  total   in-process: setup (kernel introspection, trace header with the
          compressed kernel and disk) + run + close, without interpreter start
  run     machine.run() alone: the per-instruction cost of the observers
  bytes/event   trace size without the header (kernel + disk) over events; goal <= 16
  calibrated    MIPS over the reference loop's M iterations/s (bench/calibrate.py)
  QEMU          the cli figures over qemu-system-riscv64's CPU time for the same
                kernel and disk (goal: record <= 8x)
  first record  `rvtrace record` with an empty code cache over a warm one
                (goal <= 3x); and, as right after installing, with the symbol
                and header caches empty too (the guest build stays cached)

The first recording of a kernel reads its symbols and DWARF (~0.3 s) and
caches them (rvtrace/record/kernelcache.py), as it does the compressed kernel
and disk of the header (record/blobcache.py); the warm figures are with those
caches warm, as every later recording of the same kernel is.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibrate import child_cpu, qemu_seconds, reference_rate   # noqa: E402

from rvtrace.guest.bundle import bundled_boot            # noqa: E402
from rvtrace.machine.config import MachineConfig          # noqa: E402
from rvtrace.machine.machine import Machine               # noqa: E402
from rvtrace.machine.scheduler import Scheduler           # noqa: E402
from rvtrace.record import session                        # noqa: E402


def time_run(config) -> tuple[float, float, int]:
    """(total CPU s, machine.run CPU s, icount) as `rvtrace run` does it."""
    gc.collect()            # the previous machine's garbage: not this run's cost
    t0 = time.process_time()
    machine = Machine(config, scheduler=Scheduler(config.seed))
    console = bytearray()
    machine.on_console_output = console.append
    machine.watch_fault_loops()
    t1 = time.process_time()
    result = machine.run()
    t2 = time.process_time()
    return t2 - t0, t2 - t1, result.icount


def time_record(config, path) -> tuple[float, float, object]:
    """(total CPU s, machine.run CPU s, RecordResult) as `rvtrace record` does it."""
    run_time = [0.0]
    real_run = session._run

    def timed_run(machine, recorder, max_insns):
        t = time.process_time()
        try:
            return real_run(machine, recorder, max_insns)
        finally:
            run_time[0] = time.process_time() - t
    session._run = timed_run
    gc.collect()
    try:
        t0 = time.process_time()
        console = bytearray()
        result = session.record(config, path, console_echo=console.append)
        total = time.process_time() - t0
    finally:
        session._run = real_run
    return total, run_time[0], result


ROOT = Path(__file__).resolve().parents[1]


def cli_cpu(argv, code_cache: str | None = None, cache: str | None = None) -> float:
    """CPU seconds (user + sys) an `rvtrace` subprocess used (code_cache: its RVTRACE_CODE_CACHE,
    cache: its RVTRACE_CACHE, the symbol and header caches)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if code_cache is not None:
        env["RVTRACE_CODE_CACHE"] = code_cache
    if cache is not None:
        env["RVTRACE_CACHE"] = cache
    return child_cpu([sys.executable, "-m", "rvtrace.cli", *argv], env=env)


def first_run(program: str, harts: int, tmp: Path, all_caches: bool) -> float:
    """`rvtrace record` with an empty code cache (all_caches: the symbol and header caches
    empty too, as right after installing); the guest build is cached."""
    caches = [tmp / "empty-code-cache", tmp / "empty-cache"]
    for d in caches:
        shutil.rmtree(d, ignore_errors=True)
    return cli_cpu(["record", "--harts", str(harts), "-o", str(tmp / "first.mp"), program], str(caches[0]),
                   str(caches[1]) if all_caches else None)


def bench(program: str, harts: int, reps: int) -> None:
    kernel, disk, bootargs = bundled_boot(program)
    config = MachineConfig(kernel=kernel, disk=disk, bootargs=bootargs, harts=harts)
    runs, recs, cli_runs, cli_recs, colds, installs, refs = [], [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(reps):
            colds.append(first_run(program, harts, Path(tmp), all_caches=False))
            installs.append(first_run(program, harts, Path(tmp), all_caches=True))
            refs.append(reference_rate(reps=1))     # interleaved: CPython's speed can change mid-process
            runs.append(time_run(config))
            recs.append(time_record(config, Path(tmp) / f"{program}{i}.mp"))
            opts = ["--harts", str(harts)]
            cli_runs.append(cli_cpu(["run", *opts, program]))
            cli_recs.append(cli_cpu(["record", *opts, "-o", str(Path(tmp) / "cli.mp"), program]))
    med = statistics.median
    run_total = med(r[0] for r in runs)
    run_only = med(r[1] for r in runs)
    rec_total = med(r[0] for r in recs)
    rec_only = med(r[1] for r in recs)
    cli_run, cli_rec, cold, install = med(cli_runs), med(cli_recs), med(colds), med(installs)
    icount = runs[0][2]
    result = recs[0][2]
    assert result.icount == icount, "recording changed the run"
    print(f"{program} (harts {harts}): {icount:,} instructions, {result.events:,} events; "
          f"medians of {reps} runs")
    print(f"  run     {run_total:6.2f} s total  {run_only:6.2f} s in machine.run  "
          f"({icount / run_only / 1e6:.2f} MIPS)")
    print(f"  record  {rec_total:6.2f} s total  {rec_only:6.2f} s in machine.run  "
          f"({icount / rec_only / 1e6:.2f} MIPS)")
    print(f"  cli     run {cli_run:.2f} s   record {cli_rec:.2f} s   (CPU of the command; "
          f"fastest {min(cli_runs):.2f} / {min(cli_recs):.2f})")
    qemu = qemu_seconds(kernel, disk, bootargs, harts)
    cal_run = statistics.median(icount / r[1] / 1e6 / ref for r, ref in zip(runs, refs))
    cal_rec = statistics.median(icount / r[1] / 1e6 / ref for r, ref in zip(recs, refs))
    print(f"  reference loop {statistics.median(refs):.2f} M it/s; machine.run calibrated "
          f"{cal_run:.2f} (run) {cal_rec:.2f} (record)  (medians of {reps} rounds, reference before each)")
    if qemu is None:
        print("  QEMU: qemu-system-riscv64 not installed, no ratio")
    else:
        print(f"  QEMU   {qemu:.3f} s for the same kernel and disk: cli run {cli_run / qemu:.1f}x, "
              f"cli record {cli_rec / qemu:.1f}x QEMU (goal <= 8x)")
    print(f"  first record: empty code cache {cold:.2f} s = {cold / cli_rec:.2f}x a warm one (goal <= 3x); "
          f"all caches empty, as after installing, {install:.2f} s = {install / cli_rec:.2f}x")
    print(f"  overhead: cli {cli_rec / cli_run:.3f}x   total {rec_total / run_total:.3f}x   "
          f"run {rec_only / run_only:.3f}x   (goal <= 1.10x)")
    print(f"  bytes/event: {result.bytes_per_event:.2f} (goal <= 16); file {result.size:,} bytes, "
          f"header {result.header_size:,}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("programs", nargs="*", default=["forkexec", "bigfork"])
    ap.add_argument("--harts", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    for program in a.programs:
        bench(program, a.harts, a.reps)


if __name__ == "__main__":
    main()
