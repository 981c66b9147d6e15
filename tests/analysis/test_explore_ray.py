"""`explore --ray` on a local Ray instance gives what `--jobs` gives (skipped without ray)."""

import io
import json

import pytest

from rvtrace.analysis.explore import explore, parse_seeds

pytestmark = pytest.mark.slow


def test_ray_gives_the_same_outcomes_as_local_jobs(explored, forkexec3, tmp_path):
    pytest.importorskip("ray", reason="ray is not installed (pip install 'rvtrace[cluster]')")
    from conftest import SEEDS
    table = io.StringIO()
    explore(forkexec3, parse_seeds(SEEDS), tmp_path, ray="local", stream=table,
            metadata={"program": "forkexec", "args": []})
    assert json.loads((tmp_path / "outcomes.json").read_text()) == explored.outcomes
    for o in explored.outcomes:
        assert (tmp_path / o["trace"]).exists()
    assert table.getvalue().split("(")[0] == explored.table.split("(")[0]
