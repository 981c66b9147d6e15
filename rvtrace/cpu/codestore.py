"""Translations kept on disk, so the next run neither decodes, emits nor compiles them.

In $RVTRACE_CODE_CACHE, else ~/.cache/rvtrace/blocks, under a directory per
Python version (marshal's format is per version):

  packs/*.pack  what one process translated: for each key -- what was
                translated (virtual pc, privilege, paging mode, whether the
                block may loop) -- its variants, each holding the bytes it was
                made from (page offsets and contents, compared with RAM before
                use), its pcs, its Python source and the compiled code; for a
                block that never got hot, its decode (cold.py's step
                arguments) instead of code. The name starts with the
                translator's id (a hash of its sources) and the time. A
                directory of their own: listing it stays cheap.
  *.code        compiled code by the hash of its source (compile_cached).

A process reads the index of every pack of its translator at its first
lookup, and a key's entries (one read from the open pack each, checked
against the index's digest) only when a run asks for that key; processes
running side by side may each have written variants of the same key, so a
key's variants are combined from every pack that holds it. A process writes
what it translated as one new pack when a recording ends and at exit
(flush): a crash loses at most that run's new translations. Once there are
MAX_PACKS packs, the writer merges them all into its own pack and deletes
them, keeping entries used by the run or younger than MAX_AGE_DAYS, newest
first up to MAX_PACK_BYTES; so a run opens a few files, whatever the number
of runs before it, and reads what it uses.

Every file is written to a temporary name and renamed (concurrent runs never
see half a file; a pack merged away under a reader's feet stays readable to
the reader that opened it, or is not read), and is checked: a *.code file
starts with the SHA-256 of the rest, a pack with that of its index, and the
index holds a digest of every entry. A file or entry that does not match, is
of another format, translator or key, or whose code was not compiled from the
source it stores (the code's file name carries the source's hash) is ignored.
The directory is created private to the user (0700) and not used if it is
writable by others. The store is bounded: besides merging, once an hour at
most, a run that writes deletes files older than MAX_AGE_DAYS and then the
oldest until the total is under MAX_BYTES (old translators' packs go this
way). RVTRACE_CODE_CACHE=off turns it off. The store only ever saves time:
any file that cannot be read or written is simply not used.
"""

from __future__ import annotations

import atexit
import hashlib
import marshal
import os
import struct
import sys
import time
from pathlib import Path

from rvtrace.files import cache_dir, private_dir

FORMAT = 2                     # bump when what a variant holds changes
MAX_BYTES = 256 << 20
MAX_AGE_DAYS = 30
PRUNE_EVERY_S = 3600
MAX_VARIANTS = 8               # translations kept per key (the same pc in other programs)
PACK_FORMAT = "rvtrace-pack-2"
MAX_PACKS = 8                  # packs of one translator before they are merged into one
MAX_PACK_BYTES = 64 << 20      # what a merged pack keeps (every run reads all packs)
FLUSH_EVERY = 4096             # translations kept in memory before a pack is written anyway

_dir: Path | None | bool = False          # False: not looked up yet
_packs_dir: Path | None | bool = False
_pruned = False


def _cache_dir() -> Path | None:
    global _dir
    if _dir is False:
        env = os.environ.get("RVTRACE_CODE_CACHE", "")
        if env == "off":
            _dir = None
        else:
            # beside rvtrace's other caches (RVTRACE_CACHE moves them all) unless told otherwise
            base = Path(env) if env else cache_dir() / "blocks"
            path = base / sys.implementation.cache_tag
            ok = all(private_dir(p) for p in (base, path))
            _dir = path if ok else None
    return _dir


def _pack_dir() -> Path | None:
    """Where packs go: a directory of their own, so listing them is cheap beside
    many other files (the one-file-per-block store of earlier versions)."""
    global _packs_dir
    if _packs_dir is False:
        d = _cache_dir()
        _packs_dir = d / "packs" if d is not None and private_dir(d / "packs") else None
    return _packs_dir


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


def _write(path: Path, payload, prune: bool = True) -> bool:
    """Write a checked file under a temporary name and rename it; True if done."""
    body = marshal.dumps(payload)
    if not _atomic_write(path, hashlib.sha256(body).digest() + body):
        return False
    if prune:
        _maybe_prune(path.parent)
    return True


def _atomic_write(path: Path, data: bytes) -> bool:
    """Write under a temporary name and rename: concurrent runs never see half a file.
    False (and nothing left behind) on a full or read-only disk."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
        return False
    return True


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


# --- block translations by what was translated, in packs ---------------------------------

_translator_id: str | None = None


def translator_id() -> str:
    """A hash of the cpu package's source (every module: a list of the translator's own
    would go stale when one is added): translations of another version are not used."""
    global _translator_id
    if _translator_id is None:
        h = hashlib.sha256(str(FORMAT).encode())
        for path in sorted(Path(__file__).parent.glob("*.py")):
            try:
                h.update(path.name.encode() + path.read_bytes())
            except OSError:
                h.update(path.name.encode())
        _translator_id = h.hexdigest()[:16]
    return _translator_id


# What this process knows of the packs: their indexes, newest first. A pack is read up
# to its index at the first lookup; a key's marshalled variants are read (os.pread on
# the pack kept open: a pack merged away meanwhile stays readable), checked and
# unmarshalled only when a run asks for that key, so the cost of a run follows what
# it runs, not what the store holds.
_indexes: list[tuple[int, int, dict]] | None = None     # (open pack, where entries start, index)
_packs: list[Path] = []             # the packs the indexes were read from
_written: dict = {}                 # key -> (stamp, bytes) this process wrote
_used: set = set()                  # keys this process found in the packs
_pending: dict = {}                 # key -> variants translated by this process, not yet written
_flush_registered = False

_MAGIC = b"rvtpack1"
_HEAD = struct.Struct("<8sQ32s")     # magic, index length, SHA-256 of the index


def _pack_paths(d: Path) -> list[Path]:
    try:
        names = [e.name for e in os.scandir(d) if e.name.endswith(".pack")]
    except OSError:
        return []
    prefix = translator_id() + "-"
    return [d / n for n in sorted(names) if n.startswith(prefix)]


def _write_pack(path: Path, entries: dict, tid: str | None = None) -> bool:
    """Write {key: (stamp, bytes)} as a pack: a checked index of (stamp, offset, length,
    digest) per key, then the entries; under a temporary name, renamed. True if done."""
    index, blobs, offset = {}, [], 0
    for key, (stamp, data) in entries.items():
        index[key] = (stamp, offset, len(data), hashlib.sha256(data).digest()[:16])
        blobs.append(data)
        offset += len(data)
    head = marshal.dumps((PACK_FORMAT, tid or translator_id(), index))
    body = _HEAD.pack(_MAGIC, len(head), hashlib.sha256(head).digest()) + head + b"".join(blobs)
    return _atomic_write(path, body)


def _read_index(path: Path) -> tuple[int, int, dict] | None:
    """(open file, where its entries start, {key: (stamp, offset, length, digest)}) of a
    pack of this translator whose index is intact; None otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        magic, n, digest = _HEAD.unpack(os.pread(fd, _HEAD.size, 0))
        head = os.pread(fd, n, _HEAD.size)
        if magic == _MAGIC and len(head) == n and hashlib.sha256(head).digest() == digest:
            payload = marshal.loads(head)
            if type(payload) is tuple and len(payload) == 3 and payload[0] == PACK_FORMAT \
                    and payload[1] == translator_id() and type(payload[2]) is dict:
                return fd, _HEAD.size + n, payload[2]
    except (OSError, struct.error, EOFError, ValueError, TypeError):
        pass
    os.close(fd)
    return None


def _load_indexes() -> list:
    """The indexes of every pack of this translator, read once per process, newest first
    (their names start with the time): a key's newest variants come first."""
    global _indexes, _packs
    if _indexes is None:
        d = _pack_dir()
        _packs = _pack_paths(d) if d is not None else []
        _indexes = [found for found in map(_read_index, reversed(_packs)) if found is not None]
    return _indexes


def stored_keys() -> set:
    """Every key the store holds for this translator (for benchmarks and tests)."""
    return {key for _, _, index in _load_indexes() for key in index} | set(_written)


def _entry(fd: int, base: int, e) -> bytes | None:
    """An index entry's marshalled variants, read and checked against its digest; None if damaged."""
    if type(e) is not tuple or len(e) != 4 or type(e[1]) is not int or type(e[2]) is not int:
        return None
    try:
        data = os.pread(fd, e[2], base + e[1])
    except (OSError, ValueError, OverflowError):
        return None
    if len(data) != e[2] or hashlib.sha256(data).digest()[:16] != e[3]:
        return None
    return data


def _found(key) -> list[bytes]:
    """Every stored entry of key, newest first: packs written side by side by
    concurrent processes may each hold variants of the same key."""
    out = [_written[key][1]] if key in _written else []
    for fd, base, index in _load_indexes():
        e = index.get(key)
        if e is not None:
            _used.add(key)
            data = _entry(fd, base, e)
            if data is not None:
                out.append(data)
    return out


def _unpack(key, data: bytes) -> list:
    try:
        payload = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return []
    if type(payload) is not tuple or len(payload) != 2 or payload[0] != key:
        return []
    return _variants_ok(key, payload[1])


def _combined(key, blobs: list[bytes]) -> list:
    """The variants of several entries of key, newest first, each once, at most MAX_VARIANTS."""
    if len(blobs) == 1:
        return _unpack(key, blobs[0])
    out, seen = [], set()
    for data in blobs:
        for v in _unpack(key, data):
            ident = (v[0], v[1], v[5])              # its bytes, length and where a watch cut it
            if ident not in seen:
                seen.add(ident)
                out.append(v)
    return out[:MAX_VARIANTS]


def _variants_ok(key, variants) -> list:
    """The well-formed variants: code compiled from the source stored beside it, or for
    a ("decoded", ...) key, plain values (cold.args_ok checks what they say)."""
    decoded = key[0] == "decoded"
    out = []
    for v in variants if type(variants) is list else ():
        if type(v) is not tuple or len(v) != 6 or type(v[3]) is not str:
            continue
        if type(v[4]) is tuple if decoded else _code_ok(v[4], v[3]):
            out.append(v)
    return out


def load_variants(key: tuple) -> list:
    """[(segments, n, pcs, src, code, cut)] stored for `key`, each checked; [] if none."""
    if key in _pending:
        return list(_pending[key])
    return _combined(key, _found(key))


def save_variants(key: tuple, variants: list) -> None:
    """Keep [(segments, n, pcs, src, code, cut)] for `key` (the newest first; at most
    MAX_VARIANTS); written in this process's pack by flush(), at exit at the latest."""
    global _flush_registered
    if _pack_dir() is None:
        return
    _pending[key] = variants[:MAX_VARIANTS]
    if not _flush_registered:
        _flush_registered = True
        atexit.register(flush)
    if len(_pending) >= FLUSH_EVERY:
        flush()


def flush() -> None:
    """Write what this process translated as one new pack (a temporary name renamed,
    so nobody reads half a pack). With MAX_PACKS packs or more, merge them all into
    this one instead, dropping entries past the bounds."""
    d = _pack_dir()
    if d is None or not _pending:
        return
    now = time.time()
    indexes = _load_indexes()
    entries = {key: (now, marshal.dumps((key, variants))) for key, variants in _pending.items()}
    merged: list[Path] = []
    if len(_packs) + 1 >= MAX_PACKS:
        merged = list(_packs)
        known: dict = {}
        for fd, base, index in reversed(indexes):          # oldest first: newer ones override
            for key, e in index.items():
                if key in known:                           # in several packs: their variants combined
                    known[key] = (now, key in _used, marshal.dumps((key, _combined(key, _found(key)))))
                elif key not in _written:
                    known[key] = (e[0] if type(e) is tuple and e else 0, key in _used, (fd, base, e))
        for key, (stamp, data) in _written.items():
            known.setdefault(key, (stamp, True, data))
        entries = {**_bounded({k: v for k, v in known.items() if k not in entries}, now), **entries}
    name = f"{translator_id()}-{time.time_ns():x}-{os.getpid()}.pack"
    if not _write_pack(d / name, entries):
        return
    _written.update(entries)
    _pending.clear()
    for path in merged:                     # a reader that opened them keeps them; others skip them
        try:
            path.unlink()
        except OSError:
            pass
    _packs[:] = [p for p in _packs if p not in merged] + [d / name]
    _maybe_prune(d.parent)


def _bounded(known: dict, now: float) -> dict:
    """Of {key: (stamp, used, bytes or (pack, base, index entry))}, the {key: (stamp, bytes)}
    a merged pack keeps: entries used by this process or younger than MAX_AGE_DAYS, the
    newest first until MAX_PACK_BYTES; damaged ones dropped."""
    live = []
    for key, (stamp, used, source) in known.items():
        stamp = now if used else stamp
        if type(stamp) in (int, float) and now - stamp <= MAX_AGE_DAYS * 86400:
            live.append((stamp, key, source))
    live.sort(key=lambda e: e[0], reverse=True)
    out, total = {}, 0
    for stamp, key, source in live:
        data = source if type(source) is bytes else _entry(*source)
        if data is None:
            continue
        total += len(data)
        if total > MAX_PACK_BYTES:
            break
        out[key] = (stamp, data)
    return out


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
    """Delete files (in d and its packs/) older than max_age_days, then the oldest until
    under max_bytes; how many went."""
    files = []
    now = time.time()
    entries = []
    for folder in (d, d / "packs"):
        try:
            entries += list(os.scandir(folder))
        except OSError:
            pass
    for e in entries:
        if e.name.endswith((".pack", ".blk", ".code", ".tmp")):
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
