"""The on-disk store of translations: found by what was translated, checked when loaded,
private to the user, bounded."""

import os
import time

import pytest
from cpuutil import asm, make_hart

from rvtrace.cpu import codestore, translate
from rvtrace.cpu.hart import Hart


def _unlook(monkeypatch):
    """Let the store's directory be looked up again."""
    monkeypatch.setattr(codestore, "_dir", False)
    monkeypatch.setattr(codestore, "_packs_dir", False)


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh store in tmp_path, and nothing remembered in this process."""
    d = tmp_path / "cache"
    monkeypatch.setenv("RVTRACE_CODE_CACHE", str(d))
    _unlook(monkeypatch)
    _new_process(monkeypatch)
    monkeypatch.setattr(translate, "stats", {"memory": 0, "disk": 0, "translated": 0, "cold": 0, "decoded": 0})
    monkeypatch.setattr(Hart, "hot_after", 0)                # translate at once (cold.py aside)
    yield codestore._cache_dir()
    _unlook(monkeypatch)            # let later tests look again


LOOP = [asm("addi", rd=5, rs1=5, imm=3), asm("xori", rd=6, rs1=5, imm=1), asm("jal", rd=0, imm=-8)]


def _run(words=LOOP, budget=100):
    h = make_hart(words)
    h.run(budget)
    return h


def _new_process(monkeypatch):
    """Nothing translated or read in this process."""
    monkeypatch.setattr(translate, "_variants", {})
    monkeypatch.setattr(translate, "_on_disk_looked", set())
    monkeypatch.setattr(translate, "_steps", {})
    monkeypatch.setattr(codestore, "_indexes", None)
    monkeypatch.setattr(codestore, "_packs", [])
    monkeypatch.setattr(codestore, "_written", {})
    monkeypatch.setattr(codestore, "_used", set())
    monkeypatch.setattr(codestore, "_pending", {})


def _forget(monkeypatch):
    """As the process ends (its pack written) and a new one starts: only the disk."""
    codestore.flush()
    _new_process(monkeypatch)


def test_a_warm_run_translates_nothing(store, monkeypatch):
    first = _run()
    assert translate.stats["translated"] >= 1
    _forget(monkeypatch)
    assert len(list((store / "packs").glob("*.pack"))) == 1              # one file for all the run translated
    monkeypatch.setattr(translate, "block_source", None)     # a warm run must not emit source
    monkeypatch.setattr(translate, "read_block", None)       # nor decode
    again = _run()
    assert translate.stats["disk"] >= 1
    assert again.x == first.x and again.pc == first.pc and again.instret == first.instret


def test_other_bytes_at_the_same_pc_are_translated_anew(store, monkeypatch):
    _run()
    _forget(monkeypatch)
    before = translate.stats["translated"]
    other = [asm("addi", rd=5, rs1=5, imm=7)] + LOOP[1:]
    h = _run(other, budget=3)
    assert translate.stats["translated"] > before
    assert h.x[5] == 7 and h.x[6] == 6


def _damage(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_damaged_entries_are_ignored(store, monkeypatch):
    first = _run()
    codestore.flush()
    (pack,) = (store / "packs").glob("*.pack")
    fd, base, index = codestore._read_index(pack)
    os.close(fd)
    for _, offset, length, _ in index.values():              # no entry matches its digest now
        _damage(pack, base + offset + length // 2)
    _forget(monkeypatch)
    before = translate.stats["translated"]
    again = _run()
    assert translate.stats["translated"] > before and again.x == first.x


def test_a_damaged_index_is_ignored(store, monkeypatch):
    _run()
    codestore.flush()
    (pack,) = (store / "packs").glob("*.pack")
    _damage(pack, codestore._HEAD.size + 3)
    assert codestore._read_index(pack) is None
    _forget(monkeypatch)
    before = translate.stats["translated"]
    _run()
    assert translate.stats["translated"] > before


def test_code_not_compiled_from_its_source_is_refused(store):
    src = "def f(a):\n    return a + 41\n"
    path = store / (codestore.source_hash(src) + ".code")
    codestore._write(path, (codestore.FORMAT, src, compile("def f(a):\n    return 0\n", "<x>", "exec")))
    scope = {}
    exec(codestore.compile_cached(src), scope)
    assert scope["f"](1) == 42                               # recompiled from the source
    scope = {}
    exec(codestore.compile_cached(src), scope)              # and now read back from disk
    assert scope["f"](2) == 43


def test_store_is_private(store):
    assert (codestore._pack_dir().stat().st_mode & 0o777) == 0o700
    assert (store.stat().st_mode & 0o777) == 0o700
    assert (store.parent.stat().st_mode & 0o777) == 0o700


def test_a_store_others_can_write_is_not_used(tmp_path, monkeypatch):
    d = tmp_path / "shared"
    d.mkdir(mode=0o777)
    os.chmod(d, 0o777)
    monkeypatch.setenv("RVTRACE_CODE_CACHE", str(d))
    _unlook(monkeypatch)
    assert codestore._cache_dir() is None
    _unlook(monkeypatch)


def test_prune_by_age_then_size(store):
    now = time.time()
    for i in range(10):
        f = store / f"{i:02d}.blk"
        f.write_bytes(b"x" * 1000)
        os.utime(f, (now - i * 3600, now - i * 3600))      # 00 newest ... 09 oldest
    old = store / "old.code"
    old.write_bytes(b"y")
    os.utime(old, (now - 40 * 86400, now - 40 * 86400))
    assert codestore.prune(store, max_bytes=5500, max_age_days=30) == 6
    assert sorted(f.name for f in store.iterdir() if f.suffix == ".blk") == [f"{i:02d}.blk" for i in range(5)]


def test_off_switch(monkeypatch):
    monkeypatch.setenv("RVTRACE_CODE_CACHE", "off")
    _unlook(monkeypatch)
    codestore.compile_cached("x = 1\n")
    assert codestore._cache_dir() is None
    _unlook(monkeypatch)            # let later tests look again


def test_a_block_cut_by_a_watch_is_used_only_where_it_would_be_cut(store):
    words = [asm("addi", rd=5, rs1=5, imm=1), asm("addi", rd=6, rs1=6, imm=1),
             asm("addi", rd=7, rs1=7, imm=1), asm("jal", rd=0, imm=-12)]
    seen = []
    for watch in ({0x8000_0008}, set(), {0x8000_0008}, {0x8000_0004}):
        h = make_hart(words)
        h.on_watch = lambda hart, pc: seen.append((pc, hart.instret))
        h.watch_pcs = watch
        h.run(20)
        assert (h.x[5], h.x[6], h.x[7], h.pc) == (5, 5, 5, 0x8000_0000)
    assert seen == [(0x8000_0008, 4 * i + 2) for i in range(5)] * 2 + \
        [(0x8000_0004, 4 * i + 1) for i in range(5)]


def _program(i):
    return [asm("addi", rd=5, rs1=5, imm=i)] + LOOP[1:]


def test_packs_are_merged_and_keep_what_they_held(store, monkeypatch):
    monkeypatch.setattr(codestore, "MAX_PACKS", 3)
    n = 5                                                     # < MAX_VARIANTS: all are kept
    for i in range(1, n + 1):                                 # a run per program, each its own pack
        _run(_program(i), budget=3)
        _forget(monkeypatch)
        assert 1 <= len(list((store / "packs").glob("*.pack"))) < codestore.MAX_PACKS
    monkeypatch.setattr(translate, "block_source", None)     # every program is found: none is translated
    monkeypatch.setattr(translate, "read_block", None)
    for i in range(1, n + 1):
        assert _run(_program(i), budget=3).x[5] == i


def test_a_pack_of_another_translator_is_ignored(store, monkeypatch):
    _run()
    codestore.flush()
    (pack,) = (store / "packs").glob("*.pack")
    fd, base, index = codestore._read_index(pack)
    entries = {k: (e[0], codestore._entry(fd, base, e)) for k, e in index.items()}
    os.close(fd)
    assert codestore._write_pack(pack, entries, tid="another")
    _forget(monkeypatch)
    before = translate.stats["translated"]
    _run()
    assert translate.stats["translated"] > before


def test_a_merged_pack_drops_old_entries_then_the_oldest_past_its_size(monkeypatch):
    now = 1e9
    day = 86400
    table = {("a",): (now - 40 * day, False, b"x" * 10),      # too old
             ("b",): (now - 40 * day, True, b"x" * 10),       # too old, but this run used it
             ("c",): (now - 2 * day, False, b"x" * 10),
             ("d",): (now - 1 * day, False, b"x" * 10)}
    assert set(codestore._bounded(table, now)) == {("b",), ("c",), ("d",)}
    monkeypatch.setattr(codestore, "MAX_PACK_BYTES", 25)
    assert set(codestore._bounded(table, now)) == {("b",), ("d",)}


def test_a_run_reads_only_the_entries_it_uses(store, monkeypatch):
    _run()
    for i in range(1, 4):                                     # other programs elsewhere in RAM
        make_hart(LOOP, at=0x8000_0000 + 0x1000 * i).run(3)
    _forget(monkeypatch)
    reads = []
    real = os.pread
    monkeypatch.setattr(codestore.os, "pread", lambda fd, n, off: (reads.append(n), real(fd, n, off))[1])
    _run(budget=3)
    (pack,) = (store / "packs").glob("*.pack")
    assert 0 < sum(reads) < pack.stat().st_size / 2


def test_a_block_that_stays_cold_is_not_decoded_again(store, monkeypatch):
    monkeypatch.setattr(Hart, "hot_after", 1000)             # never hot: runs as steps
    first = _run()
    assert translate.stats["cold"] >= 1 and translate.stats["translated"] == 0
    _forget(monkeypatch)
    monkeypatch.setattr(translate, "read_block", None)       # its stored decode is used
    again = _run()
    assert translate.stats["decoded"] >= 1
    assert again.x == first.x and again.pc == first.pc and again.instret == first.instret


def test_a_pack_is_written_under_a_temporary_name_and_renamed(store, monkeypatch):
    seen = []
    real = os.replace
    monkeypatch.setattr(codestore.os, "replace", lambda a, b: (seen.append((str(a), str(b))), real(a, b)))
    _run()
    codestore.flush()
    (pack,) = (store / "packs").glob("*.pack")
    assert seen == [(str(pack.with_suffix(f".{os.getpid()}.tmp")), str(pack))]


def test_prune_reaches_the_packs(store):
    pack = codestore._pack_dir() / "old.pack"
    pack.write_bytes(b"z")
    os.utime(pack, (time.time() - 40 * 86400,) * 2)
    assert codestore.prune(store) == 1 and not pack.exists()


def test_variants_written_side_by_side_are_all_found(store, monkeypatch):
    _run(_program(1), budget=3)                               # one process writes its pack
    _forget(monkeypatch)
    monkeypatch.setattr(codestore, "_indexes", [])            # another had listed the packs before that
    _run(_program(2), budget=3)                               # same key, other bytes: its pack holds only these
    _forget(monkeypatch)
    assert len(list((store / "packs").glob("*.pack"))) == 2
    monkeypatch.setattr(translate, "block_source", None)     # both are found: none is translated
    monkeypatch.setattr(translate, "read_block", None)
    for i in (1, 2):
        assert _run(_program(i), budget=3).x[5] == i
