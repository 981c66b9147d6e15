"""Kernel introspection without its start-up cost, from a small on-disk cache.

Reading a kernel's symbol table and DWARF types with pyelftools takes about
0.3 s -- a third of a short program's whole run, paid by every recording.
What KernelImage learns from a given ELF never changes, so it is kept in a
pickle named by the hash of the ELF bytes (and of rvtrace/kernel/image.py,
whose code decides what is learnt) under ~/.cache/rvtrace (or
$XDG_CACHE_HOME/rvtrace, or $RVTRACE_CACHE). Any problem with the cache --
missing, unwritable, corrupt, from another version -- means: read the ELF.

A pickle runs code when loaded, so the cache is trusted only as far as it is
ours: the directory is created private (0700) and used only while it is
owned by this user and writable by nobody else; each file starts with a
format line and the sha256 of what follows, checked before unpickling; a
file too large is ignored, and only the newest MAX_FILES are kept.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

from rvtrace.files import cache_dir, private_dir, read_private, write_private
from rvtrace.kernel import image as image_module
from rvtrace.kernel.image import KernelImage

_SOURCE = Path(image_module.__file__)
MAGIC = b"rvtrace-symbol-cache 1\n"
MAX_FILES = 16               # kernels remembered; older ones are removed
MAX_FILE_BYTES = 32 << 20    # far above any kernel's symbols


def _key(data: bytes) -> str:
    h = hashlib.sha256(data)
    try:
        h.update(_SOURCE.read_bytes())
    except OSError:
        pass
    return h.hexdigest()[:24]


def _load(path: Path):
    """The cached state in `path`, or None when it is absent or fails any check."""
    body = read_private(path, MAGIC, MAX_FILE_BYTES)
    if body is None:
        return None
    try:
        state = pickle.loads(body)
    except Exception:
        return None
    return state if isinstance(state, dict) else None


def _store(path: Path, state: dict) -> None:
    write_private(path, MAGIC, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL), MAX_FILES)


def kernel_image(data: bytes) -> KernelImage:
    """KernelImage(data) with its symbols and DWARF types already read (from the cache if there)."""
    d = cache_dir()
    usable = private_dir(d)
    path = d / f"kernel-{_key(data)}.symbols"
    state = _load(path) if usable else None
    if state is not None:
        try:
            image = KernelImage.__new__(KernelImage)
            image.__dict__.update(state)
            image._data, image._elf = data, None     # pyelftools only if DWARF is asked for
            return image
        except Exception:      # an unusable entry: read the ELF itself
            pass
    image = KernelImage(data)        # raises UserError for a file that is not an RV64 ELF
    image.struct("proc")             # reads the DWARF types now, so they are cached too
    state = {k: v for k, v in image.__dict__.items() if k not in ("_data", "_elf", "_lines")}
    state["_lines"] = None
    if usable:
        try:
            _store(path, state)
        except Exception:      # a full or read-only disk: no cache, same answers
            pass
    return image
