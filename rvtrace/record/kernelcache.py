"""Kernel introspection without its start-up cost, from a small on-disk cache.

Reading a kernel's symbol table and DWARF types with pyelftools takes about
0.3 s -- a third of a short program's whole run, paid by every recording.
What KernelImage learns from a given ELF never changes, so it is kept in a
pickle named by the hash of the ELF bytes (and of rvtrace/kernel/image.py,
whose code decides what is learnt) under ~/.cache/rvtrace (or
$XDG_CACHE_HOME/rvtrace, or $RVTRACE_CACHE). Any problem with the cache --
missing, unwritable, corrupt, from another version -- means: read the ELF.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from pathlib import Path

from elftools.elf.elffile import ELFFile

from rvtrace.kernel import image as image_module
from rvtrace.kernel.image import KernelImage

_SOURCE = Path(image_module.__file__)


def cache_dir() -> Path:
    if os.environ.get("RVTRACE_CACHE"):
        return Path(os.environ["RVTRACE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rvtrace"


def _key(data: bytes) -> str:
    h = hashlib.sha256(data)
    try:
        h.update(_SOURCE.read_bytes())
    except OSError:
        pass
    return h.hexdigest()[:24]


def kernel_image(data: bytes) -> KernelImage:
    """KernelImage(data) with its symbols and DWARF types already read (from the cache if there)."""
    path = cache_dir() / f"kernel-{_key(data)}.pickle"
    try:
        with open(path, "rb") as f:
            state = pickle.load(f)
        image = KernelImage.__new__(KernelImage)
        image.__dict__.update(state)
        image.elf = ELFFile(io.BytesIO(data))
        return image
    except Exception:      # no cache (or an unusable one): read the ELF itself
        pass
    image = KernelImage(data)        # raises UserError for a file that is not an RV64 ELF
    image.struct("proc")             # reads the DWARF types now, so they are cached too
    state = {k: v for k, v in image.__dict__.items() if k not in ("elf", "_lines")}
    state["_lines"] = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except Exception:      # a read-only home: no cache, same answers
        pass
    return image
