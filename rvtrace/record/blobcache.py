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
import zlib
from pathlib import Path

from rvtrace.files import cache_dir, private_dir, read_private, write_private

MAGIC = b"rvtrace-blob-cache 1\n"
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
            write_private(path, MAGIC, blob, MAX_FILES)
        except OSError:       # a full or read-only disk: no cache, same bytes
            pass
    return blob


def _load(path: Path, data: bytes) -> bytes | None:
    # zlib never makes a stream much larger than its input.
    blob = read_private(path, MAGIC, len(data) + len(data) // 100 + 1024 + len(MAGIC) + 32)
    if blob is None or len(blob) < 6 or blob[-4:] != zlib.adler32(data).to_bytes(4, "big"):
        return None           # not a stream of these bytes
    return blob
