"""What we ship holds no path of the machine it was made on.

Every committed file -- the sample trace included, and the kernel and disk image embedded
in it -- is searched for absolute paths under a home, a temporary directory or this
checkout: they leak the author's directory layout and mean nothing on a reader's machine.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Absolute paths under homes and temporary directories, on any system (the directory
# names are joined here so that this file does not match itself).
TREES = [b"/".join(parts) for parts in ([b"home"], [b"root"], [b"Users"], [b"tmp"], [b"var", b"tmp"],
                                         [b"var", b"folders"], [b"private", b"tmp"])]
NOT_INSIDE_A_WORD = rb"(?<![\w.~$-])"


def committed_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in out.decode().split("\0") if name]


def forbidden() -> re.Pattern:
    """Any path under TREES, this checkout, this user's home or this machine's temp directory."""
    local = {str(ROOT), str(Path.home()), tempfile.gettempdir()} - {"/", ""}
    alternatives = [b"/" + tree + rb"/[\w.+-]" for tree in TREES]
    alternatives += [re.escape(p.encode()) + rb"(?![\w.+-])" for p in local]
    return re.compile(NOT_INSIDE_A_WORD + b"(?:" + b"|".join(alternatives) + b")")


def contents(path: Path) -> list[tuple[str, bytes]]:
    """The file's bytes, and for a trace also its embedded kernel and disk image, inflated."""
    data = path.read_bytes()
    parts = [(str(path.relative_to(ROOT)), data)]
    if path.suffix == ".mp":
        from rvtrace.trace import read_header
        header = read_header(path)
        parts.append((f"{path.name}: embedded kernel", header.kernel_elf() or b""))
        parts.append((f"{path.name}: embedded disk image", header.disk_image() or b""))
    return parts


def test_no_committed_file_holds_a_host_path():
    pattern = forbidden()
    found = []
    for path in committed_files():
        if not path.is_file():
            continue
        for what, data in contents(path):
            for m in pattern.finditer(data):
                snippet = data[m.start():m.start() + 60].split(b"\0")[0]
                found.append(f"{what}: {snippet!r}")
                break
    assert not found, "absolute host paths in committed files:\n" + "\n".join(found)


def test_the_pattern_finds_what_it_should():
    pattern = forbidden()
    for text in (b"/" + b"home/alice/x", b"kernel /" + b"tmp/rvtrace-1/k.elf", b"/" + b"Users/bob/src",
                 str(ROOT / "build" / "guest").encode()):
        assert pattern.search(text), text
    for text in (b"kernel_src/proc.c", b"https://example.org/home/x", b"a/tmp/b", b"~/tmp/x"):
        assert not pattern.search(text), text


def test_docs_hold_only_documentation_of_rvtrace():
    assert not (ROOT / "docs" / "briefs").exists()
