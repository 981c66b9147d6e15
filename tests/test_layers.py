"""DESIGN.md's rule, checked: a package imports only from the layers above it.

The order is docs/architecture.md's package list. A new package must be
added to LAYERS in its place, or this test names it.
"""

import re
from pathlib import Path

LAYERS = ["errors", "files", "fs", "guest", "cpu", "machine", "kernel", "trace", "record", "replay",
          "analysis", "debugger", "cli"]
ROOT = Path(__file__).resolve().parents[1] / "rvtrace"
IMPORT = re.compile(r"^\s*(?:from|import)\s+rvtrace\.(\w+)", re.M)


def layer_of(path: Path) -> str:
    first = path.relative_to(ROOT).parts[0]
    return first.removesuffix(".py")


def test_every_package_is_placed():
    packages = {layer_of(p) for p in ROOT.rglob("*.py")} - {"__init__", "__main__"}
    assert packages <= set(LAYERS), f"place these in LAYERS: {sorted(packages - set(LAYERS))}"


def test_imports_point_up_the_layers():
    rank = {name: i for i, name in enumerate(LAYERS)}
    wrong = []
    for path in ROOT.rglob("*.py"):
        me = layer_of(path)
        if me not in rank:
            continue
        for dep in IMPORT.findall(path.read_text()):
            if dep in rank and rank[dep] > rank[me]:
                wrong.append(f"{path.relative_to(ROOT.parent)} imports rvtrace.{dep}")
    assert not wrong, "imports from a lower layer:\n" + "\n".join(sorted(set(wrong)))
