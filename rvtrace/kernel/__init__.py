"""Guest-kernel introspection, from the kernel's ELF alone (no machine needed).

image.py    KernelImage: symbols, DWARF struct layouts and enums, source lines, backtraces
elfsyms.py  the ELF symbol table, read with struct (pyelftools is for DWARF)
procs.py    ProcessView: current process per hart and the process table, over a memory reader
memory.py   Sv39 translation (kernel stacks live high) and page-fault resolution from PTEs
syscalls.py THE system call table (numbers, names, argument kinds) and its formatting
"""

__all__ = ["Frame", "KernelImage", "ProcInfo", "ProcessView", "StructLayout"]

_HOMES = {"Frame": "image", "KernelImage": "image", "StructLayout": "image",
          "ProcInfo": "procs", "ProcessView": "procs"}


def __getattr__(name):
    """Import on first use: image.py brings pyelftools, which commands that only
    format syscalls (dump) do not need."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'rvtrace.kernel' has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(f"rvtrace.kernel.{home}"), name)
