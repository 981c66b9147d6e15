"""The first run after install against warm runs, for several cold-code thresholds.

    python bench/bench_cold.py [HOT ...] [--reps R]    (default: 0 2 4 8 16, R 3)

For each threshold (RVTRACE_HOT: runs of a block as pre-decoded steps before
it is translated; 0 translates at once) `rvtrace record forkexec` runs once
with an empty code cache, then twice more with what that run stored; R rounds,
the thresholds interleaved in each (this host's CPython speed varies from
process to process). Prints the medians of CPU seconds of the command (the
first run, the warm ones), their ratio, and how many blocks the store holds
translated and as stored decodes (blocks that never got hot). A higher
threshold makes the first run cheaper (fewer blocks compiled) and warm runs
dearer (more blocks run as steps); rvtrace/cpu/cold.py's HOT is chosen from
this table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibrate import child_cpu, reference_rate  # noqa: E402

from rvtrace.cpu import codestore  # noqa: E402


def stored(d: str) -> tuple[int, int]:
    """(translated blocks, stored decodes) in the code cache at d."""
    os.environ["RVTRACE_CODE_CACHE"] = d
    codestore._dir, codestore._packs_dir, codestore._indexes = False, False, None
    keys = codestore.stored_keys()
    return (sum(type(k[0]) is int for k in keys), sum(k[0] == "decoded" for k in keys))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("hot", nargs="*", default=["0", "2", "4", "8", "16"])
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    colds: dict = {h: [] for h in a.hot}
    warms: dict = {h: [] for h in a.hot}
    counts: dict = {}
    refs = []
    for _ in range(a.reps):
        refs.append(reference_rate(reps=1))
        for hot in a.hot:
            d = tempfile.mkdtemp()
            env = {**os.environ, "RVTRACE_CODE_CACHE": d, "RVTRACE_HOT": hot,
                   "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
            cmd = [sys.executable, "-m", "rvtrace.cli", "record", "forkexec", "-o", str(Path(d) / "x.mp")]
            colds[hot].append(child_cpu(cmd, env=env))
            warms[hot] += [child_cpu(cmd, env=env) for _ in range(2)]
            counts[hot] = stored(d)
            shutil.rmtree(d)
    med = statistics.median
    print(f"reference loop: {med(refs):.2f} M iterations/s; medians of {a.reps} rounds")
    for hot in a.hot:
        cold, warm = med(colds[hot]), med(warms[hot])
        print(f"HOT={hot:>3}: first run {cold:5.2f} s, warm {warm:5.2f} s, ratio {cold / warm:4.2f}, "
              f"{counts[hot][0]} blocks translated, {counts[hot][1]} stored as decodes")


if __name__ == "__main__":
    main()
