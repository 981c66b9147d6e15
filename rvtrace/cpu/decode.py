"""The decoder, generated from the encoding table in `encoding.py`.

`decode(bits)` turns an instruction word into an `Insn` (name, operands,
length) or None for an illegal word. Compressed words decode to the 32-bit
instruction they expand to; `Insn.cname` keeps the compressed mnemonic for
people. Nothing here knows what an instruction does (see `semantics.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rvtrace.cpu import encoding


# --- fields ------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """An operand assembled from bit ranges: see the FIELDS language in encoding.py."""
    ranges: tuple[tuple[int, int], ...]
    signed: bool = False
    shift: int = 0
    add: int = 0

    @property
    def width(self) -> int:
        return sum(hi - lo + 1 for hi, lo in self.ranges)

    def extract(self, word: int) -> int:
        value = 0
        for hi, lo in self.ranges:
            n = hi - lo + 1
            value = (value << n) | ((word >> lo) & ((1 << n) - 1))
        if self.signed and value >> (self.width - 1):
            value -= 1 << self.width
        return (value << self.shift) + self.add


def parse_field(text: str) -> Field:
    ranges, signed, shift, add = [], False, 0, 0
    for tok in text.split():
        if tok == "s":
            signed = True
        elif tok.startswith("<<"):
            shift = int(tok[2:])
        elif tok.startswith("+"):
            add = int(tok[1:])
        else:
            hi, lo = tok.split(":")
            ranges.append((int(hi), int(lo)))
    return Field(tuple(ranges), signed, shift, add)


def _parse_table(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            rows.append(line)
    return rows


FIELDS: dict[str, Field] = {}
for _row in _parse_table(encoding.FIELDS):
    _name, _spec = _row.split(None, 1)
    FIELDS[_name] = parse_field(_spec)


def _parse_formats(text: str) -> dict[str, dict[str, Field]]:
    formats = {}
    for row in _parse_table(text):
        name, _, rest = row.partition(":")
        ops = {}
        for item in rest.split():
            op, fname = item.split("=")
            ops[op] = FIELDS[fname]
        formats[name.strip()] = ops
    return formats


FORMATS = _parse_formats(encoding.FORMATS)
C_FORMATS = _parse_formats(encoding.C_FORMATS)


# --- instructions --------------------------------------------------------------

@dataclass(frozen=True)
class Encoding:
    """One line of the instruction table."""
    name: str                     # the mnemonic (compressed lines: "c.add")
    mask: int                     # which bits are fixed
    match: int                    # their values
    length: int                   # 4 or 2 bytes
    fmt: dict[str, Field]
    constraints: tuple[tuple[str, int], ...] = ()   # (operand, value it must not have)
    expands_to: str | None = None                   # compressed: the 32-bit name
    expansion: tuple[tuple[str, str], ...] = ()     # (32-bit operand, compressed operand or number)


def _pattern(bits: str) -> tuple[int, int, int]:
    bits = bits.replace(" ", "")
    if len(bits) not in (16, 32) or set(bits) - set("01."):
        raise ValueError(f"bad instruction pattern {bits!r}")
    mask = int("".join("0" if b == "." else "1" for b in bits), 2)
    match = int(bits.replace(".", "0"), 2)
    return mask, match, len(bits) // 8


_ROW = re.compile(r"^(\S+)\s+([01. ]+?)\s+([A-Z][A-Z0-9_]*)\s*(.*)$")


def _parse_instructions(text: str, formats, compressed: bool) -> list[Encoding]:
    table = []
    for row in _parse_table(text):
        m = _ROW.match(row)
        if not m:
            raise ValueError(f"bad instruction line {row!r}")
        name, bits, fmt, rest = m.groups()
        mask, match, length = _pattern(bits)
        rest, _, expansion = rest.partition("=>")
        constraints = []
        for c in rest.split():
            op, value = c.split("!=")
            constraints.append((op, int(value)))
        expands_to, pairs = None, []
        if compressed:
            words = expansion.split()
            expands_to = words[0]
            pairs = [tuple(w.split("=")) for w in words[1:]]
        table.append(Encoding(name, mask, match, length, formats[fmt], tuple(constraints),
                              expands_to, tuple(pairs)))
    return table


TABLE = _parse_instructions(encoding.INSTRUCTIONS, FORMATS, compressed=False)
C_TABLE = _parse_instructions(encoding.C_INSTRUCTIONS, C_FORMATS, compressed=True)
NAMES = frozenset(e.name for e in TABLE)


class Insn:
    """A decoded instruction: the 32-bit operation, its operands, its size."""
    __slots__ = ("name", "cname", "bits", "length", "rd", "rs1", "rs2", "imm", "csr",
                 "pred", "succ", "fm", "aq", "rl")

    def __init__(self, name, bits, length, ops, cname=None):
        self.name = name
        self.cname = cname or name
        self.bits = bits
        self.length = length
        self.rd = ops.get("rd", 0)
        self.rs1 = ops.get("rs1", 0)
        self.rs2 = ops.get("rs2", 0)
        self.imm = ops.get("imm", 0)
        self.csr = ops.get("csr", 0)
        self.pred = ops.get("pred", 0)
        self.succ = ops.get("succ", 0)
        self.fm = ops.get("fm", 0)
        self.aq = ops.get("aq", 0)
        self.rl = ops.get("rl", 0)

    def operands(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("rd", "rs1", "rs2", "imm", "csr")}

    def __repr__(self):
        ops = " ".join(f"{k}={v}" for k, v in self.operands().items() if v)
        return f"<{self.cname} {ops}>"


def _index(table, key_fn):
    """Group table lines by the bits that every line of a group fixes (faster lookups)."""
    groups: dict[int, list[Encoding]] = {}
    for enc in table:
        groups.setdefault(key_fn(enc.match), []).append(enc)
    return groups


_OPCODE = lambda w: w & 0x7F                          # noqa: E731 - all 32-bit lines fix it
_C_KEY = lambda w: (w & 3) | ((w >> 11) & 0x1C)       # noqa: E731 - quadrant + funct3
_BY_OPCODE = _index(TABLE, _OPCODE)
_BY_C_KEY = _index(C_TABLE, _C_KEY)


def _operands(enc: Encoding, word: int) -> dict[str, int] | None:
    ops = {op: f.extract(word) for op, f in enc.fmt.items()}
    for op, bad in enc.constraints:
        if ops[op] == bad:
            return None
    return ops


def decode(bits: int) -> Insn | None:
    """Decode one instruction word (a compressed one in the low 16 bits); None if illegal."""
    if bits & 3 != 3:
        return decode_compressed(bits & 0xFFFF)
    bits &= 0xFFFFFFFF
    for enc in _BY_OPCODE.get(bits & 0x7F, ()):
        if bits & enc.mask == enc.match:
            ops = _operands(enc, bits)
            return None if ops is None else Insn(enc.name, bits, 4, ops)
    return None


def decode_compressed(bits: int) -> Insn | None:
    for enc in _BY_C_KEY.get(_C_KEY(bits), ()):
        if bits & enc.mask == enc.match:
            cops = _operands(enc, bits)
            if cops is None:
                return None
            ops = {op: (int(src) if src.isdigit() else cops[src]) for op, src in enc.expansion}
            return Insn(enc.expands_to, bits, 2, ops, cname=enc.name)
    return None


def length_of(first_halfword: int) -> int:
    """Instruction length in bytes from its first 16 bits (RV64GC: 2 or 4)."""
    return 4 if first_halfword & 3 == 3 else 2
