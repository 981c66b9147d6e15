"""The first run after install against warm runs, for several cold-code thresholds.

    python bench/bench_cold.py [HOT ...]        (default: 0 2 4 8 16)

For each threshold (RVTRACE_HOT: runs of a block as pre-decoded steps before
it is translated; 0 translates at once) `rvtrace record forkexec` runs once
with an empty code cache, then twice more with what that run stored. Prints
CPU seconds of the command (best of the two warm ones), their ratio and how
many translations were stored. A higher threshold makes the first run cheaper
(fewer blocks compiled) and warm runs dearer (blocks that never got hot run
as steps again); rvtrace/cpu/cold.py's HOT is chosen from this table.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibrate import child_cpu, reference_rate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv) -> None:
    print(f"reference loop: {reference_rate():.2f} M iterations/s")
    for hot in argv or ["0", "2", "4", "8", "16"]:
        d = tempfile.mkdtemp()
        env = {**os.environ, "RVTRACE_CODE_CACHE": d, "RVTRACE_HOT": hot,
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        cmd = [sys.executable, "-m", "rvtrace.cli", "record", "forkexec", "-o", str(Path(d) / "x.mp")]
        cold = child_cpu(cmd, env=env)
        warm = min(child_cpu(cmd, env=env) for _ in range(2))
        stored = len(os.listdir(Path(d) / sys.implementation.cache_tag))
        print(f"HOT={hot:>3}: first run {cold:5.2f} s, warm {warm:5.2f} s, ratio {cold / warm:4.2f}, "
              f"{stored} translations stored")
        shutil.rmtree(d)


if __name__ == "__main__":
    main(sys.argv[1:])
