"""The header's compressed kernel and disk: cached privately, checked before use, the same bytes."""

from __future__ import annotations

import os
import random
import zlib

import pytest

from rvtrace.files import write_private
from rvtrace.record import blobcache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("RVTRACE_CACHE", str(d))
    return d


def payload(seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.choice(b"abcdefgh\0\0\0\0") for _ in range(200_000))


def entries(d):
    return sorted(d.glob("blob-*.zlib"))


def test_a_hit_gives_the_bytes_zlib_gives(cache, monkeypatch):
    data = payload(1)
    assert blobcache.compressed(data, 6) == zlib.compress(data, 6)
    [entry] = entries(cache)
    assert entry.stat().st_mode & 0o777 == 0o600
    monkeypatch.setattr(blobcache.zlib, "compress", lambda *a: pytest.fail("compressed again"))
    assert zlib.decompress(blobcache.compressed(data, 6)) == data


def test_a_damaged_or_foreign_entry_is_not_believed(cache):
    data, other = payload(1), payload(2)
    blobcache.compressed(data, 6)
    [entry] = entries(cache)
    raw = bytearray(entry.read_bytes())
    raw[-100] ^= 0xFF                                    # the digest no longer matches
    entry.write_bytes(bytes(raw))
    assert blobcache.compressed(data, 6) == zlib.compress(data, 6)
    # A well-formed entry holding another file's stream under this name: zlib's trailer tells.
    write_private(entry, blobcache.MAGIC, zlib.compress(other, 6), blobcache.MAX_FILES)
    assert blobcache._load(entry, data) is None
    assert blobcache.compressed(data, 6) == zlib.compress(data, 6)


def test_a_directory_others_may_write_is_not_used(cache):
    cache.mkdir(mode=0o777)
    os.chmod(cache, 0o777)
    data = payload(3)
    assert blobcache.compressed(data, 6) == zlib.compress(data, 6)
    assert entries(cache) == []


def test_only_the_newest_entries_are_kept(cache, monkeypatch):
    monkeypatch.setattr(blobcache, "MAX_FILES", 2)
    for seed in range(3):
        blobcache.compressed(payload(seed), 6)
    assert len(entries(cache)) == 2
