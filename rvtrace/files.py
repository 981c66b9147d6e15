"""Files rvtrace reads and writes for the user: only regular files, nothing lost.

Every input a user names (a trace, a kernel, a disk image, a command script)
must be a regular file: a FIFO with nobody behind it would hang the command
and /dev/zero or /proc/self/mem would fill the memory, so they are refused
with one line. Outputs are written beside their target under a temporary
name and renamed into place when complete; an existing target is kept as
NAME.old (as perf keeps perf.data.old), and an output that is one of the
run's inputs is refused before anything is written.

rvtrace's own caches (kernel symbols, compressed headers) live in a private
directory and are believed only as far as they are ours: see `read_private`.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from rvtrace.errors import UserError

# Host trees that hold no user files: never read or written as one.
SPECIAL_TREES = ("/proc", "/sys", "/dev")


def _special_tree(path: Path) -> bool:
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return False
    return any(real == t or real.startswith(t + "/") for t in SPECIAL_TREES)


def check_input(path, what: str) -> Path:
    """`path` if it names a readable regular file, else UserError saying what it is instead."""
    if path is None or str(path) == "":
        raise UserError(f"{what}: give a file name (an empty one was given)")
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UserError(f"{what} {path}: no such file") from None
    except OSError as exc:
        raise UserError(f"{what} {path}: cannot read it ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise UserError(f"{what} {path}: is a directory, not a file")
    if not stat.S_ISREG(st.st_mode) or _special_tree(path):
        raise UserError(f"{what} {path}: is {_kind(st.st_mode, path)}, not a regular file; "
                        "rvtrace reads only regular files")
    return path


def check_output(path, what: str, inputs=()) -> Path:
    """`path` if a file may be written there: not special, not one of `inputs` of the run."""
    if path is None or str(path) == "":
        raise UserError(f"{what}: give a file name (an empty one was given)")
    path = Path(path)
    if _special_tree(path) or path.exists() and not path.is_file():
        kind = "a directory" if path.is_dir() else _kind(os.stat(path).st_mode, path) \
            if path.exists() else "in a system directory"
        raise UserError(f"{what} {path}: is {kind}; rvtrace writes only regular files")
    for given in inputs:
        if given and _same_file(path, Path(given)):
            raise UserError(f"{what} {path}: is also an input of this run ({given}); "
                            "choose another name with -o")
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return os.path.realpath(a) == os.path.realpath(b)
    except (OSError, ValueError):
        return False


def _kind(mode: int, path: Path) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if _special_tree(path):
        return "a system file"
    return "not a regular file"


def partial_path(target: Path) -> Path:
    """Where an output is written until it is complete: beside `target`, named for it."""
    return target.with_name(f"{target.name}.{os.getpid()}.partial")


def old_path(target: Path) -> Path:
    return target.with_name(target.name + ".old")


def put_in_place(partial: Path, target: Path) -> Path | None:
    """Rename the finished `partial` to `target`, keeping an existing target as NAME.old.

    Returns the .old path when one was kept."""
    kept = None
    if target.exists():
        kept = old_path(target)
        os.replace(target, kept)
    os.replace(partial, target)
    return kept


# --- private cache files ---------------------------------------------------------------

def cache_dir() -> Path:
    """$RVTRACE_CACHE, else $XDG_CACHE_HOME/rvtrace, else ~/.cache/rvtrace."""
    if os.environ.get("RVTRACE_CACHE"):
        return Path(os.environ["RVTRACE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rvtrace"


def private_dir(d: Path) -> bool:
    """Create `d` private to this user if needed; True when it is safe to trust what is in it."""
    try:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.stat(d, follow_symlinks=False)
    except OSError:
        return False
    return (stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid()
            and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


DIGEST = 32


def read_private(path: Path, magic: bytes, max_bytes: int) -> bytes | None:
    """The body of a cache file written by write_private, or None unless it is a regular
    file of ours, at most max_bytes, starting with `magic` and the SHA-256 of the body."""
    try:
        st = os.stat(path, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_size > max_bytes:
            return None
        raw = path.read_bytes()
    except OSError:
        return None
    head, digest, body = raw[:len(magic)], raw[len(magic):len(magic) + DIGEST], raw[len(magic) + DIGEST:]
    if head != magic or hashlib.sha256(body).digest() != digest:
        return None
    return body


def write_private(path: Path, magic: bytes, body: bytes, keep: int) -> None:
    """Write a cache file atomically (a concurrent reader sees the old file or this one),
    then remove all but the `keep` newest files of its directory with its suffix.
    Raises OSError (a full or read-only disk)."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(magic + hashlib.sha256(body).digest() + body)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    files = sorted(path.parent.glob(f"*{path.suffix}"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[keep:]:
        old.unlink(missing_ok=True)
