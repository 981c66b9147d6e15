"""Wall time of `rvtrace explore` for a range of seeds, with --jobs 1 and --jobs 2.

    python bench/bench_explore.py [--seeds 0..99] [--harts 3] [--jobs 1,2] [PROGRAM]

Runs the command itself (a subprocess, as a user would) once per --jobs
value and prints its wall time, the seeds per second and the outcomes it
found. Wall time, not CPU time, is the figure here: parallel workers are
the point. On a shared machine the numbers move with the load; they are
figures to compare, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("program", nargs="?", default="forkexec")
    p.add_argument("--seeds", default="0..99")
    p.add_argument("--harts", type=int, default=3)
    p.add_argument("--jobs", default="1,2", help="comma-separated --jobs values to time")
    p.add_argument("--chaos", action="store_true")
    args = p.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print(f"rvtrace explore {args.program} --harts {args.harts} --seeds {args.seeds}"
          f"{' --chaos' if args.chaos else ''} (cores: {os.cpu_count()})")
    for jobs in (int(j) for j in args.jobs.split(",")):
        with tempfile.TemporaryDirectory() as out:
            cmd = [sys.executable, "-m", "rvtrace.cli", "explore", args.program, "--seeds", args.seeds,
                   "--harts", str(args.harts), "--jobs", str(jobs), "-o", out]
            if args.chaos:
                cmd.append("--chaos")
            start = time.perf_counter()
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if done.returncode != 0:
                print(f"  --jobs {jobs}: failed ({done.returncode}): {done.stderr.strip()[-300:]}")
                continue
            outcomes = json.loads((Path(out) / "outcomes.json").read_text())
            n = sum(len(o["seeds"]) for o in outcomes)
            print(f"  --jobs {jobs}: {wall:7.1f} s wall, {n / wall:5.2f} seeds/s, "
                  f"{len(outcomes)} distinct outputs")


if __name__ == "__main__":
    main()
