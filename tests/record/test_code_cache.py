"""The code cache shared by recordings: `explore`'s worker processes each leave their
translations as a pack, and later runs of the same seeds translate nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rvtrace(*argv, cache):
    env = {**os.environ, "RVTRACE_CODE_CACHE": str(cache),
           "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "rvtrace.cli", *argv], env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_explore_workers_leave_packs_later_runs_use(tmp_path):
    cache = tmp_path / "code"

    def explore(out):
        done = rvtrace("explore", "forkexec", "--seeds", "0..1", "--jobs", "2", "-o", str(tmp_path / out),
                       cache=cache)
        assert done.returncode == 0, done.stderr
    explore("runs")
    packs = cache / sys.implementation.cache_tag / "packs"
    written = sorted(packs.glob("*.pack"))
    assert written                                          # the workers never exit normally: record() wrote them
    assert not list(packs.glob("*.tmp"))
    explore("again")
    assert sorted(packs.glob("*.pack")) == written          # nothing new translated, so nothing written
