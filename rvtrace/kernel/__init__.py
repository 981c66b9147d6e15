"""Guest-kernel introspection, from the kernel's ELF alone (no machine needed).

image.py    KernelImage: symbols, DWARF struct layouts and enums, source lines, backtraces
procs.py    ProcessView: current process per hart and the process table, over a memory reader
memory.py   Sv39 translation (kernel stacks live high) and page-fault resolution from PTEs
syscalls.py THE system call table (numbers, names, argument kinds) and its formatting
"""

from rvtrace.kernel.image import Frame, KernelImage, StructLayout
from rvtrace.kernel.procs import ProcessView, ProcInfo

__all__ = ["Frame", "KernelImage", "ProcInfo", "ProcessView", "StructLayout"]
