"""Commands import only what they need (issue 11, "Fast start"), checked in fresh processes.

pyelftools is for DWARF (the symbol cache spares a recording of a known kernel),
capstone and prompt_toolkit for the debugger; a recording never reads a trace and a
dump never builds the decoder or writes one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "traces" / "forkexec.mp"
DEBUGGER_ONLY = ("capstone", "prompt_toolkit")

PROBE = """
import json, os, sys
from rvtrace.cli import main
out = sys.argv[1]
sys.stdout = open(os.devnull, "w")
try:
    code = main(sys.argv[2:])
except SystemExit as exc:          # --help
    code = exc.code
json.dump({"code": code, "modules": sorted(sys.modules)}, open(out, "w"))
"""


def loaded(tmp_path, *argv, env=None) -> set[str]:
    out = tmp_path / "modules.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    subprocess.run([sys.executable, "-c", PROBE, str(out), *argv], cwd=tmp_path, env=env, check=True,
                   stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    result = json.loads(out.read_text())
    assert result["code"] == 0, result["code"]
    return set(result["modules"]) | {m.split(".")[0] for m in result["modules"]}


def test_help_and_dump_load_neither_the_cpu_nor_pyelftools(tmp_path):
    for argv in (["--help"], ["dump", str(SAMPLE)]):
        mods = loaded(tmp_path, *argv)
        assert not mods & {"elftools", "rvtrace.cpu.hart", "rvtrace.trace.writer", *DEBUGGER_ONLY}, argv
    assert "msgpack" not in loaded(tmp_path, "--help")


def test_a_recording_of_a_known_kernel_loads_no_dwarf_reader_nor_trace_reader(tmp_path):
    env = {"RVTRACE_CACHE": str(tmp_path / "cache")}
    first = loaded(tmp_path, "record", "forkexec", "-o", "a.mp", env=env)
    assert "elftools" in first                      # a new kernel: its symbols and DWARF are read
    again = loaded(tmp_path, "record", "forkexec", "-o", "b.mp", env=env)
    assert "rvtrace.cpu.hart" in again              # it did run
    assert not again & {"elftools", "rvtrace.trace.reader", "rvtrace.trace.validate", *DEBUGGER_ONLY}
    # The guest build was found by its inputs' stat, not by hashing them (no zig version lookup).
    assert "importlib.metadata" not in again and "concurrent" not in again
    # The second took its compressed kernel and disk from the cache: the same header, byte for byte.
    assert first_record(tmp_path / "a.mp") == first_record(tmp_path / "b.mp")


def first_record(path: Path) -> bytes:
    import msgpack
    unpacker = msgpack.Unpacker(raw=True)
    unpacker.feed(path.read_bytes())
    next(unpacker)
    return path.read_bytes()[:unpacker.tell()]
