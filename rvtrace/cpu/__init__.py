"""The RISC-V hart: RV64IMAC + Zicsr + Zifencei + Sstc, M/S/U modes, Sv39.

`Hart` and `CodeCache` are the interface (docs/architecture.md, "The hart");
`BusError` is what a bus raises where nothing is mapped.
"""

from rvtrace.cpu.signals import BusError, Trap
from rvtrace.cpu.translate import CodeCache
from rvtrace.cpu.hart import Hart

__all__ = ["BusError", "CodeCache", "Hart", "Trap"]
