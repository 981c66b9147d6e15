"""The kernel symbol cache: private to the user, checked before it is believed, bounded."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from rvtrace.record import kernelcache
from rvtrace.trace import read_header

SAMPLE = Path(__file__).resolve().parents[2] / "traces" / "forkexec.mp"


@pytest.fixture(scope="module")
def kernel() -> bytes:
    return read_header(SAMPLE).kernel_elf()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("RVTRACE_CACHE", str(d))
    return d


def entries(d: Path) -> list[Path]:
    return sorted(d.glob("kernel-*.symbols"))


def test_the_cache_is_created_private_and_used(cache, kernel):
    first = kernelcache.kernel_image(kernel)
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700
    [entry] = entries(cache)
    assert stat.S_IMODE(os.stat(entry).st_mode) == 0o600
    assert entry.read_bytes().startswith(kernelcache.MAGIC)
    again = kernelcache.kernel_image(kernel)
    assert again.address_of("fork") == first.address_of("fork") is not None


def test_a_tampered_entry_is_not_believed(cache, kernel):
    kernelcache.kernel_image(kernel)
    [entry] = entries(cache)
    data = bytearray(entry.read_bytes())
    data[-10] ^= 0xFF                       # the digest no longer matches
    entry.write_bytes(bytes(data))
    assert kernelcache._load(entry) is None
    assert kernelcache.kernel_image(kernel).address_of("fork") is not None   # read from the ELF
    entry.write_bytes(b"cos\nsystem\n(S'echo owned'\ntR.")                  # a pickle, no header
    assert kernelcache._load(entry) is None


def test_a_directory_others_may_write_is_not_used(cache, kernel):
    cache.mkdir(mode=0o777)
    os.chmod(cache, 0o777)
    assert not kernelcache.private_dir(cache)
    kernelcache.kernel_image(kernel)
    assert entries(cache) == []


def test_the_cache_keeps_only_the_newest_entries(cache, kernel, monkeypatch):
    monkeypatch.setattr(kernelcache, "MAX_FILES", 2)
    assert kernelcache.private_dir(cache)
    for i in range(3):
        old = cache / f"kernel-old{i}.symbols"
        old.write_bytes(b"x")
        os.utime(old, (1000 + i, 1000 + i))
    kernelcache.kernel_image(kernel)
    names = [p.name for p in entries(cache)]
    assert len(names) == 2 and "kernel-old2.symbols" in names and "kernel-old0.symbols" not in names
