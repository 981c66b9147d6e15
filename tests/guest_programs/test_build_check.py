"""The guest build's quick check: a build is reused from `last-build` only while no input changed."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from rvtrace.guest import build

HOUR_AGO = time.time() - 3600


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A throwaway repo (copies of kernel_src/ and user_src/, dated an hour ago) whose
    builders only count their calls and write placeholder artifacts. The copies' ctime is
    now, so the racy-edit guard is off here unless a test sets it."""
    for name in ("kernel_src", "user_src"):
        shutil.copytree(build.REPO_ROOT / name, tmp_path / name)
    for path in tmp_path.rglob("*"):
        os.utime(path, (HOUR_AGO, HOUR_AGO))
    monkeypatch.setattr(build, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(build, "RACY_SECONDS", -1.0)
    monkeypatch.setattr(build, "KERNEL_SRC", tmp_path / "kernel_src")
    monkeypatch.setattr(build, "USER_SRC", tmp_path / "user_src")
    calls = []

    def artifact(name):
        calls.append(name)
        path = build.build_dir() / name
        path.write_bytes(b"built")
        return path
    monkeypatch.setattr(build, "build_kernel", lambda force=False: artifact("kernel-x.elf"))
    monkeypatch.setattr(build, "build_programs", lambda force=False: {"echo": artifact("user-echo-x.elf")})
    monkeypatch.setattr(build, "build_disk", lambda progs, force=False: artifact("fs-x.img"))
    return tmp_path, calls


def test_an_unchanged_tree_is_not_hashed_again(tree):
    _, calls = tree
    first = build.build_all()
    assert len(calls) == 3
    assert build.build_all() == first
    assert len(calls) == 3


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(tree):
    root, calls = tree
    build.build_all()
    src = root / "user_src" / "echo.c"
    text = src.read_bytes()
    src.write_bytes(text.replace(b"e", b"E", 1))        # same size
    os.utime(src, (HOUR_AGO, HOUR_AGO))                 # and the same mtime: only ctime tells
    build.build_all()
    assert len(calls) == 6


@pytest.mark.parametrize("change", ["add", "remove", "kernel"])
def test_added_removed_and_kernel_files_count(tree, change):
    root, calls = tree
    build.build_all()
    if change == "add":
        (root / "user_src" / "new.c").write_text("int main(void) { return 0; }\n")
    elif change == "remove":
        (root / "user_src" / "cat.c").unlink()
    else:
        (root / "kernel_src" / "main.c").write_text("/* edited */\n", encoding="ascii")
    build.build_all()
    assert len(calls) == 6


def test_a_build_right_after_an_edit_is_not_remembered(tree, monkeypatch):
    root, calls = tree
    monkeypatch.setattr(build, "RACY_SECONDS", 60.0)
    (root / "user_src" / "echo.c").write_text("int main(void) { return 1; }\n")   # changed just now
    build.build_all()
    build.build_all()
    assert len(calls) == 6              # within RACY_SECONDS of the edit: hashed again
    monkeypatch.setattr(build, "RACY_SECONDS", -1.0)
    build.build_all()
    build.build_all()
    assert len(calls) == 9              # remembered once the edit is old enough


def test_a_missing_artifact_or_a_damaged_record_means_building(tree):
    _, calls = tree
    first = build.build_all()
    first.disk.unlink()
    build.build_all()
    assert len(calls) == 6
    (build.build_dir() / build.LAST_BUILD).write_text("signature x\nkernel ../../etc/passwd\n")
    build.build_all()
    assert len(calls) == 9
    assert build.build_all(force=True) == first and len(calls) == 12
