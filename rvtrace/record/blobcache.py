"""The trace header's compressed kernel and disk, kept between recordings.

Every trace embeds its kernel and disk image zlib-compressed, and compressing
the bundled pair takes about 0.05 s -- a tenth of a short recording -- for the
same bytes every time. So the compressed form is kept in the private cache
directory of record/kernelcache.py (`blob-*.zlib`), named by the SHA-256 of
the bytes it holds, the compression level and the zlib version, so a hit
gives exactly the bytes `zlib.compress` would.

A hit is believed only when the file passes every check: it is ours and not
too large, starts with the format line and the SHA-256 of the rest, and its
zlib stream ends with the Adler-32 of exactly the bytes being stored (zlib's
own trailer). Anything else -- missing, damaged, another version, a full disk
-- means compressing as before. Only the newest MAX_FILES are kept, and only
inputs of MIN_BYTES to MAX_BYTES are cached.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zlib
from pathlib import Path

from rvtrace.record.kernelcache import cache_dir, private_dir

MAGIC = b"rvtrace-blob-cache 1\n"
DIGEST = 32
MAX_FILES = 8                 # two per guest build (kernel and disk): a few builds back
MIN_BYTES = 64 << 10          # smaller inputs compress faster than a cache look-up
MAX_BYTES = 64 << 20          # larger ones are compressed each time: the cache stays small


def compressed(data: bytes, level: int) -> bytes:
    """zlib.compress(data, level), from the cache when it holds it."""
    if not MIN_BYTES <= len(data) <= MAX_BYTES:
        return zlib.compress(data, level)
    d = cache_dir()
    if not private_dir(d):
        return zlib.compress(data, level)
    key = hashlib.sha256(data).hexdigest()[:32]
    path = d / f"blob-{key}-{level}-{zlib.ZLIB_RUNTIME_VERSION}.zlib"
    blob = _load(path, data)
    if blob is not None:
        try:
            os.utime(path)    # recently used: pruned last
        except OSError:
            pass
    else:
        blob = zlib.compress(data, level)
        try:
            _store(d, path, blob)
        except OSError:       # a full or read-only disk: no cache, same bytes
            pass
    return blob


def _load(path: Path, data: bytes) -> bytes | None:
    try:
        st = os.stat(path, follow_symlinks=False)
        # zlib never makes a stream much larger than its input.
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() \
                or st.st_size > len(data) + len(data) // 100 + 1024:
            return None
        raw = path.read_bytes()
    except OSError:
        return None
    head, digest, blob = raw[:len(MAGIC)], raw[len(MAGIC):len(MAGIC) + DIGEST], raw[len(MAGIC) + DIGEST:]
    if head != MAGIC or hashlib.sha256(blob).digest() != digest:
        return None
    if len(blob) < 6 or blob[-4:] != zlib.adler32(data).to_bytes(4, "big"):
        return None           # not a stream of these bytes
    return blob


def _store(d: Path, path: Path, blob: bytes) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + hashlib.sha256(blob).digest() + blob)
        os.replace(tmp, path)     # atomic: a concurrent recording sees the old file or this one
    finally:
        tmp.unlink(missing_ok=True)
    files = sorted(d.glob("blob-*.zlib"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[MAX_FILES:]:
        old.unlink(missing_ok=True)
