"""The kernel's C headers and rvtrace/fs/layout.py describe the same format.

mkfs (Python) writes the disk and the kernel (C) reads it, so every number
of the format must be the same on both sides. This reads the #defines out of
kernel_src/ and compares them; the struct sizes are checked by
_Static_assert in fs.h itself, at every kernel build.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rvtrace.fs import layout as L

KERNEL_SRC = Path(__file__).resolve().parents[2] / "kernel_src"


def defines(header: str) -> dict[str, str]:
    path = KERNEL_SRC / header
    if not path.exists():
        pytest.skip(f"{path} is not written yet")
    found = {}
    for line in path.read_text().splitlines():
        m = re.match(r"#define\s+(\w+)\s+(\S+)", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def test_fs_h_matches_layout():
    d = defines("fs.h")
    assert int(d["BSIZE"]) == L.BSIZE
    assert int(d["FSMAGIC"], 16) == L.FSMAGIC
    assert int(d["ROOTINO"]) == L.ROOTINO
    assert int(d["NDIRECT"]) == L.NDIRECT
    assert int(d["DIRSIZ"]) == L.DIRSIZ


def test_stat_h_types_match_layout():
    d = defines("stat.h")
    assert (int(d["T_DIR"]), int(d["T_FILE"]), int(d["T_DEVICE"])) == (L.T_DIR, L.T_FILE, L.T_DEVICE)


def test_param_h_defaults_match_mkfs():
    d = defines("param.h")
    assert int(d["FSSIZE"]) == L.DEFAULT_TOTAL_BLOCKS
    # LOGSIZE is (MAXOPBLOCKS*3): the default log region mkfs makes
    assert d["LOGSIZE"] == "(MAXOPBLOCKS*3)" and int(d["MAXOPBLOCKS"]) * 3 == L.DEFAULT_NLOG


def test_superblock_field_order_matches_fs_h():
    text = (KERNEL_SRC / "fs.h").read_text()
    body = re.search(r"struct superblock \{(.*?)\};", text, re.S).group(1)
    names = re.findall(r"uint (\w+);", body)
    assert names == [f.name for f in L.Superblock.__dataclass_fields__.values()]
