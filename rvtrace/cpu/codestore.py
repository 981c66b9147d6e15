"""Translations kept on disk, so the next run neither decodes, emits nor compiles them.

Two kinds of files, in $RVTRACE_CODE_CACHE, else ~/.cache/rvtrace/blocks,
under a directory per Python version (marshal's format is per version):

  *.blk    the translations of one block start: the key says what was
           translated (virtual pc, privilege, paging mode, whether the block
           may loop); each variant holds the bytes it was made from (page
           offsets and contents, compared with RAM before use), its pcs, its
           Python source and the compiled code. A run finds the file by the
           key alone, so a warm run never decodes or emits a block.
  *.code   compiled code by the hash of its source (one-instruction steps
           and blocks built while pcs are watched).

Every file is written to a temporary name and renamed (concurrent runs never
see half a file), and starts with the SHA-256 of the rest: a file that does
not match, is of another format or key, or whose code was not compiled from
the source it stores (the code's file name carries the source's hash) is
ignored. The directory is created private to the user (0700) and not used
if it is writable by others. The store is bounded: once an hour at most, a
run that writes deletes files older than MAX_AGE_DAYS and then the oldest
until the total is under MAX_BYTES. RVTRACE_CODE_CACHE=off turns it off.
The store only ever saves time: any file that cannot be read or written is
simply not used.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
import sys
import time
from pathlib import Path

FORMAT = 2                     # bump when what a variant holds changes
MAX_BYTES = 256 << 20
MAX_AGE_DAYS = 30
PRUNE_EVERY_S = 3600
MAX_VARIANTS = 8               # translations kept per key (the same pc in other programs)

_dir: Path | None | bool = False          # False: not looked up yet
_pruned = False


def _private_dir(path: Path) -> bool:
    """Create `path` (0700) if needed; True if it is ours and not writable by others."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = path.stat()
    except OSError:
        return False
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return False
    return not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _cache_dir() -> Path | None:
    global _dir
    if _dir is False:
        env = os.environ.get("RVTRACE_CODE_CACHE", "")
        if env == "off":
            _dir = None
        else:
            base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") \
                / "rvtrace" / "blocks"
            path = base / sys.implementation.cache_tag
            ok = all(_private_dir(p) for p in (base, path))
            _dir = path if ok else None
    return _dir


def source_hash(src: str) -> str:
    return hashlib.sha256(src.encode()).hexdigest()[:32]


def code_name(src: str) -> str:
    """The file name compiled code is given: it carries its source's hash."""
    return f"<rvtrace {source_hash(src)}>"


def _read(path: Path):
    """The payload of a checked file, or None."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) < 32 or hashlib.sha256(data[32:]).digest() != data[:32]:
        return None
    try:
        return marshal.loads(data[32:])
    except (EOFError, ValueError, TypeError):
        return None


def _write(path: Path, payload) -> None:
    body = marshal.dumps(payload)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_bytes(hashlib.sha256(body).digest() + body)
        os.replace(tmp, path)               # atomic: concurrent runs never see half a file
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
        return
    _maybe_prune(path.parent)


def _code_ok(code, src) -> bool:
    return type(code) is type(_code_ok.__code__) and code.co_filename == code_name(src)


# --- compiled code by source ---------------------------------------------------

def compile_cached(src: str, filename: str | None = None):
    """The module code object for `src`, from disk if it was compiled before."""
    d = _cache_dir()
    path = None if d is None else d / (source_hash(src) + ".code")
    if path is not None:
        payload = _read(path)
        if type(payload) is tuple and len(payload) == 3 and payload[0] == FORMAT \
                and payload[1] == src and _code_ok(payload[2], src):
            return payload[2]
    code = compile(src, code_name(src), "exec")
    if path is not None:
        _write(path, (FORMAT, src, code))
    return code


# --- block translations by what was translated ---------------------------------------

_TRANSLATOR_FILES = ("blockreader.py", "emitter.py", "accel.py", "semantics.py", "csr.py", "decode.py", "mmu.py",
                     "encoding.py", "translate.py", "codestore.py")
_translator_id: str | None = None


def translator_id() -> str:
    """A hash of the translator's own source: translations of another version are not used."""
    global _translator_id
    if _translator_id is None:
        h = hashlib.sha256(str(FORMAT).encode())
        here = Path(__file__).parent
        for name in _TRANSLATOR_FILES:
            try:
                h.update((here / name).read_bytes())
            except OSError:
                h.update(name.encode())
        _translator_id = h.hexdigest()[:16]
    return _translator_id


def _key_path(key: tuple) -> Path | None:
    d = _cache_dir()
    if d is None:
        return None
    return d / (hashlib.sha256(repr((translator_id(), key)).encode()).hexdigest()[:32] + ".blk")


def load_variants(key: tuple) -> list:
    """[(segments, n, pcs, src, code, cut)] stored for `key`, each checked; [] if none."""
    path = _key_path(key)
    if path is None:
        return []
    payload = _read(path)
    if type(payload) is not tuple or len(payload) != 3 or payload[0] != translator_id() or payload[1] != key:
        return []
    out = []
    for v in payload[2] if type(payload[2]) is list else ():
        if type(v) is tuple and len(v) == 6 and type(v[3]) is str and _code_ok(v[4], v[3]):
            out.append(v)
    return out


def save_variants(key: tuple, variants: list) -> None:
    """Store [(segments, n, pcs, src, code, cut)] for `key` (the newest first; at most MAX_VARIANTS)."""
    path = _key_path(key)
    if path is not None:
        _write(path, (translator_id(), key, variants[:MAX_VARIANTS]))


# --- bounds ----------------------------------------------------------------------------

def _maybe_prune(d: Path) -> None:
    """At most once per process and once per PRUNE_EVERY_S: keep the store bounded."""
    global _pruned
    if _pruned:
        return
    _pruned = True
    stamp = d / "pruned"
    try:
        if time.time() - stamp.stat().st_mtime < PRUNE_EVERY_S:
            return
    except OSError:
        pass
    try:
        stamp.touch()
    except OSError:
        return
    prune(d)


def prune(d: Path, max_bytes: int = MAX_BYTES, max_age_days: float = MAX_AGE_DAYS) -> int:
    """Delete files older than max_age_days, then the oldest until under max_bytes; how many went."""
    files = []
    now = time.time()
    try:
        entries = list(os.scandir(d))
    except OSError:
        return 0
    for e in entries:
        if e.name.endswith((".blk", ".code", ".tmp")):
            try:
                st = e.stat()
            except OSError:
                continue
            files.append((st.st_mtime, st.st_size, e.path))
    files.sort()
    total = sum(size for _, size, _ in files)
    removed = 0
    for mtime, size, path in files:
        if now - mtime <= max_age_days * 86400 and total <= max_bytes:
            break
        try:
            os.unlink(path)
        except OSError:
            continue
        total -= size
        removed += 1
    return removed
