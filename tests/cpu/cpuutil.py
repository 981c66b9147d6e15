"""Helpers for the CPU tests: an assembler driven by the encoding table, and a RAM bus."""

from __future__ import annotations

import struct

from rvtrace.cpu import BusError, CodeCache, Hart
from rvtrace.cpu.decode import C_TABLE, TABLE, Field

RAM_BASE = 0x8000_0000
M64 = (1 << 64) - 1
_BY_NAME = {e.name: e for e in TABLE}
_C_BY_NAME = {}
for _e in C_TABLE:
    _C_BY_NAME.setdefault(_e.name, _e)


def _place(field: Field, value: int) -> int:
    v = value - field.add
    assert v & ((1 << field.shift) - 1) == 0, f"{value} not a multiple of {1 << field.shift}"
    v = (v >> field.shift) & ((1 << field.width) - 1)
    word, pos = 0, field.width
    for hi, lo in field.ranges:
        n = hi - lo + 1
        pos -= n
        word |= ((v >> pos) & ((1 << n) - 1)) << lo
    return word


def asm(name: str, **ops) -> int:
    """Encode one instruction from its table line; operands by format name (rd, rs1, imm, ...)."""
    enc = _C_BY_NAME[name] if name.startswith("c.") else _BY_NAME[name]
    word = enc.match
    for op, field in enc.fmt.items():
        word |= _place(field, ops.get(op, 0))
    return word


class Device:
    """An MMIO device that records accesses (and can ask the bus to stop)."""

    def __init__(self):
        self.log = []
        self.value = 0x1122334455667788

    def read(self, off, size):
        self.log.append(("r", off, size))
        return self.value & ((1 << 8 * size) - 1)

    def write(self, off, size, value):
        self.log.append(("w", off, size, value))


class RamBus:
    """RAM at 0x80000000 plus one recording device at 0x10000000 (0x1000 bytes)."""

    DEV_BASE = 0x1000_0000

    def __init__(self, size=1 << 22):
        self.ram = bytearray(size)
        self.ram_base = RAM_BASE
        self.ram_size = size
        self.stop_requested = False
        self.dev = Device()
        self.stop_on_write = False

    def read(self, paddr, size):
        if self.DEV_BASE <= paddr < self.DEV_BASE + 0x1000:
            return self.dev.read(paddr - self.DEV_BASE, size)
        raise BusError(f"nothing at {paddr:#x}")

    def write(self, paddr, size, value):
        if self.DEV_BASE <= paddr < self.DEV_BASE + 0x1000:
            self.dev.write(paddr - self.DEV_BASE, size, value)
            if self.stop_on_write:
                self.stop_requested = True
            return
        raise BusError(f"nothing at {paddr:#x}")

    def put(self, paddr, data: bytes):
        off = paddr - self.ram_base
        self.ram[off:off + len(data)] = data

    def put64(self, paddr, value):
        struct.pack_into("<Q", self.ram, paddr - self.ram_base, value & M64)

    def get64(self, paddr):
        return struct.unpack_from("<Q", self.ram, paddr - self.ram_base)[0]


def code(words) -> bytes:
    """Machine code for a list of instruction words (compressed ones are 16-bit)."""
    out = b""
    for w in words:
        out += struct.pack("<H", w) if w & 3 != 3 else struct.pack("<I", w)
    return out


def make_hart(words=(), at=RAM_BASE, bus=None, hartid=0, cache=None):
    bus = bus or RamBus()
    bus.put(at, code(words))
    hart = Hart(hartid, bus, cache or CodeCache())
    hart.pc = at
    return hart


def run_words(words, regs=None, budget=None, **kw):
    """Run `words` followed by an ebreak; returns the hart stopped at the ebreak trap."""
    words = list(words) + [asm("ebreak")]
    hart = make_hart(words, **kw)
    hart.mtvec = RAM_BASE + 0x10000                   # handler: spin
    hart.bus.put(hart.mtvec, code([asm("jal", rd=0, imm=0)]))
    for r, v in (regs or {}).items():
        hart.x[r] = v & M64
    hart.run(budget if budget is not None else len(words) - 1)
    return hart
