"""The decoder agrees with capstone: legal or not, mnemonic, operands.

Normalisation (capstone 5 quirks, documented here once):
- capstone prints pseudo-instructions (`mv`, `ret`, `csrr`, `beqz`, `jalr zero`);
  its `insn_name()` still names the real instruction, so we compare that name and
  compare operands only when the print is not an alias (same mnemonic, and
  no fewer operands than the format has).
- x0 and the immediate 0 are often implicit in capstone's operand lists
  (`c.j`, `c.jr`, `c.beqz`), so both are left out of the comparison; registers
  and immediates are compared as sets (compressed forms list them in their own
  order, e.g. `c.sdsp ra, 8(sp)` gives ra, 8, sp).
- lui/auipc/c.lui: capstone gives the 20-bit upper immediate, we the value.
- F and D instructions (and their compressed loads/stores) are decoded by
  capstone but illegal for us by design (rvtrace has no FPU).
- capstone refuses compressed HINT encodings the specification defines as
  legal no-ops (c.li/c.lui/c.mv/c.add/c.slli with rd=x0, c.addi with rd=x0 or
  imm=0 it calls c.nop); we accept them. Those are allowed to differ.
- capstone accepts some encodings the specification reserves (c.lui with
  immediate 0, ...); QEMU and we treat them as illegal.
- capstone rejects reserved fields in fence/fence.i that the specification
  says implementations must ignore; we accept them.
"""

import struct

import capstone
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rvtrace.cpu.decode import C_TABLE, TABLE, decode

MD = capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV64 | capstone.CS_MODE_RISCVC)
MD.detail = True

FP_NAMES = ("f", "c.f")
# legal for capstone, not implemented here: no hypervisor, no N extension, no debug mode
UNSUPPORTED = {"uret", "dret", "hfence.vvma", "hfence.gvma",
               "c.unimp", "unimp"}                 # the defined-illegal all-zero / csrrw cycle words


def capstone_decode(word: int, length: int):
    data = struct.pack("<I", word) if length == 4 else struct.pack("<H", word)
    insns = list(MD.disasm(data, 0x1000))
    if not insns or insns[0].size != length:
        return None
    return insns[0]


def _split_name(cs_name: str):
    aq = rl = 0
    for sfx in (".aqrl", ".aq", ".rl"):
        if cs_name.endswith(sfx):
            aq, rl = "aq" in sfx, "rl" in sfx
            cs_name = cs_name[: -len(sfx)]
            break
    return cs_name, int(aq), int(rl)


def _capstone_operands(ci):
    regs, imms = set(), set()
    for op in ci.operands:
        if op.type == capstone.riscv.RISCV_OP_REG:
            regs.add(op.value.reg - 1)                  # capstone numbers x0 as 1
        elif op.type == capstone.riscv.RISCV_OP_IMM:
            imms.add(op.value.imm)
        elif op.type == capstone.riscv.RISCV_OP_MEM:
            regs.add(op.value.mem.base - 1)
            imms.add(op.value.mem.disp)
    return regs - {0}, imms - {0}


def _our_operands(insn, fmt_ops):
    regs = {getattr(insn, r) for r in ("rd", "rs1", "rs2") if r in fmt_ops}
    imms = {insn.imm} if "imm" in fmt_ops else set()
    if "csr" in fmt_ops:
        imms.add(insn.csr)
    if insn.cname in ("lui", "auipc", "c.lui"):
        imms = {(insn.imm >> 12) & 0xFFFFF}
    return regs - {0}, imms - {0}


_FMT = {e.name: set(e.fmt) for e in TABLE}
_C_EXPANDS = {e.name: e for e in C_TABLE}


def _expected_ops(insn):
    if insn.cname in _C_EXPANDS:     # only operands encoded in the word, not fixed by the expansion
        return {op for op, src in _C_EXPANDS[insn.cname].expansion if not src.isdigit()}
    return _FMT[insn.name]


def _count(ci) -> int:
    return sum(2 if op.type == capstone.riscv.RISCV_OP_MEM else 1 for op in ci.operands)


def _explicit(insn) -> int:
    """How many operands the instruction's own format has (compressed: its short form)."""
    if insn.cname in _C_EXPANDS:
        return len(_C_EXPANDS[insn.cname].fmt)
    return len(_FMT[insn.name])


def _reserved(word: int, length: int) -> bool:
    """The word matches a table line but a field has a value the spec reserves."""
    for enc in (C_TABLE if length == 2 else TABLE):
        if word & enc.mask == enc.match and enc.constraints:
            ops = {op: f.extract(word) for op, f in enc.fmt.items()}
            if any(ops[op] == bad for op, bad in enc.constraints):
                return True
    return False


def _allowed_difference(word, length, ours, cs) -> bool:
    if ours is None and cs is not None and _reserved(word, length):
        return True                                      # capstone accepts e.g. c.lui rd, 0
    if cs is not None and (cs.insn_name().startswith(FP_NAMES) and not cs.insn_name().startswith("fence")):
        return ours is None
    if cs is not None and cs.insn_name() in UNSUPPORTED:
        return ours is None
    if cs is None and ours is not None:
        if length == 2 and ours.cname in ("c.li", "c.lui", "c.mv", "c.add", "c.slli", "c.addi") \
                and ours.rd == 0:
            return True                                  # HINTs
        if ours.name in ("fence", "fence.tso", "fence.i"):
            return True                                  # reserved fields we ignore
    return False


def check(word: int, length: int):
    ours = decode(word)
    cs = capstone_decode(word, length)
    if _allowed_difference(word, length, ours, cs):
        return
    assert (ours is None) == (cs is None), f"{word:#x}: ours {ours}, capstone {cs and cs.mnemonic}"
    if ours is None:
        return
    cs_name, aq, rl = _split_name(cs.insn_name())
    if cs_name == "c.nop" and ours.cname in ("c.nop", "c.addi"):
        return                                            # capstone's name for c.addi x0 / imm 0 HINTs
    assert ours.cname == cs_name, f"{word:#x}: ours {ours}, capstone {cs.mnemonic} {cs.op_str}"
    assert (ours.aq, ours.rl) == (aq, rl)
    if cs.mnemonic.split(".aq")[0].split(".rl")[0] != cs_name or _count(cs) < _explicit(ours):
        return                                            # printed as an alias: operands differ
    (our_regs, our_imms), (cs_regs, cs_imms) = _our_operands(ours, _expected_ops(ours)), _capstone_operands(cs)
    if length == 2:                   # capstone lists the implicit sp of c.*sp forms; we do not
        our_regs, cs_regs = our_regs - {2}, cs_regs - {2}
    assert (our_regs, our_imms) == (cs_regs, cs_imms), f"{word:#x}: ours {ours}, capstone {cs.mnemonic} {cs.op_str}"


def _table_word(draw_line, noise):
    enc = draw_line
    return (enc.match | (noise & ~enc.mask)) & 0xFFFFFFFF


@settings(max_examples=1500, deadline=None)
@given(st.integers(0, 0xFFFFFFFF).map(lambda w: w | 3))
def test_random_32bit_words(word):
    check(word, 4)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(TABLE), st.integers(0, 0xFFFFFFFF))
def test_32bit_words_near_the_table(enc, noise):
    check(_table_word(enc, noise), 4)


@settings(max_examples=1500, deadline=None)
@given(st.integers(0, 0xFFFF).filter(lambda w: w & 3 != 3))
def test_random_compressed_words(word):
    check(word, 2)


@pytest.mark.slow
def test_every_compressed_word():
    for word in range(0x10000):
        if word & 3 != 3:
            check(word, 2)
