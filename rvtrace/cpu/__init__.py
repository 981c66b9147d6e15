"""The RISC-V hart: RV64IMAC + Zicsr + Zifencei + Sstc, M/S/U modes, Sv39.

`Hart` and `CodeCache` are the interface (docs/architecture.md, "The hart");
`BusError` is what a bus raises where nothing is mapped.

Where things are:
  encoding.py   the instruction table (bit patterns, fields, formats, RVC expansions)
  decode.py     the decoder generated from that table
  semantics.py  what each instruction does: one Python snippet per instruction
  translate.py  blocks of guest code -> compiled Python functions, built from:
    blockreader.py  which instructions make a block;  emitter.py  their Python source
    codecache.py    the blocks of one machine;  codestore.py  translations kept on disk
  hart.py       the Hart: state, run() and its dispatch loop
  csr.py        CSRs and their rules;  traps.py  traps, interrupts, xRET, wfi
  mmu.py        Sv39, the TLBs, and the slow path of loads/stores/atomics
  signals.py    the exceptions that carry control flow out of translated code
"""

__all__ = ["BusError", "CodeCache", "Hart", "Trap"]

_HOMES = {"BusError": "signals", "Trap": "signals", "CodeCache": "codecache", "Hart": "hart"}


def __getattr__(name):
    """Import on first use: what reads a trace needs arch.py's facts, not the hart
    (importing the hart builds the decoder and the cold-code factories)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'rvtrace.cpu' has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(f"rvtrace.cpu.{home}"), name)
