"""Compiled block code kept on disk, so the next run need not compile it again.

compile() is the dearest step of translation (about a millisecond a block):
a short program spends most of its time there. The same kernel and programs
produce the same block sources run after run, so their compiled code objects
are stored by the hash of their source (marshal format, per Python version).

Where: $RVTRACE_CODE_CACHE, else ~/.cache/rvtrace/blocks/<python tag>;
RVTRACE_CODE_CACHE=off turns it off. A file that cannot be read or written is
simply ignored: the cache only ever saves time.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from pathlib import Path

_dir: Path | None | bool = False          # False: not looked up yet


def _cache_dir() -> Path | None:
    global _dir
    if _dir is False:
        env = os.environ.get("RVTRACE_CODE_CACHE", "")
        if env == "off":
            _dir = None
        else:
            base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") \
                / "rvtrace" / "blocks"
            _dir = base / sys.implementation.cache_tag
            try:
                _dir.mkdir(parents=True, exist_ok=True)
            except OSError:
                _dir = None
    return _dir


def _path(src: str) -> Path | None:
    d = _cache_dir()
    return None if d is None else d / (hashlib.sha256(src.encode()).hexdigest()[:40] + ".code")


def compile_cached(src: str, filename: str):
    """The module code object for `src`, from disk if it was compiled before."""
    path = _path(src)
    if path is not None:
        try:
            return marshal.loads(path.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            pass
    code = compile(src, filename, "exec")
    if path is not None:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            tmp.write_bytes(marshal.dumps(code))
            os.replace(tmp, path)               # atomic: concurrent runs never see half a file
        except OSError:
            pass
    return code
