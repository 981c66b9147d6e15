"""Compressed instructions expand to the right 32-bit instructions.

Each pair below is written by hand from the RVC chapter: the 16-bit word (as
hex, independently of our encoder) and the instruction it must behave as.
"""

import pytest
from cpuutil import RAM_BASE, asm, run_words

from rvtrace.cpu.decode import decode

PAIRS = [
    (0x0040, ("addi", dict(rd=8, rs1=2, imm=4))),            # c.addi4spn s0, sp, 4
    (0x4110, ("lw", dict(rd=12, rs1=10, imm=0))),            # c.lw a2, 0(a0)
    (0x6510, ("ld", dict(rd=12, rs1=10, imm=8))),            # c.ld a2, 8(a0)
    (0xC110, ("sw", dict(rs1=10, rs2=12, imm=0))),           # c.sw a2, 0(a0)
    (0xE510, ("sd", dict(rs1=10, rs2=12, imm=8))),           # c.sd a2, 8(a0)
    (0x0001, ("addi", dict(rd=0, rs1=0, imm=0))),            # c.nop
    (0x157D, ("addi", dict(rd=10, rs1=10, imm=-1))),         # c.addi a0, -1
    (0x2505, ("addiw", dict(rd=10, rs1=10, imm=1))),         # c.addiw a0, 1
    (0x557D, ("addi", dict(rd=10, rs1=0, imm=-1))),          # c.li a0, -1
    (0x7179, ("addi", dict(rd=2, rs1=2, imm=-48))),          # c.addi16sp sp, -48
    (0x7579, ("lui", dict(rd=10, imm=-0x2000 & ~0xFFF))),    # c.lui a0, 0xffffe
    (0x8105, ("srli", dict(rd=10, rs1=10, imm=1))),          # c.srli a0, 1
    (0x9501, ("srai", dict(rd=10, rs1=10, imm=32))),         # c.srai a0, 32
    (0x897D, ("andi", dict(rd=10, rs1=10, imm=31))),         # c.andi a0, 31
    (0x8D0D, ("sub", dict(rd=10, rs1=10, rs2=11))),          # c.sub a0, a1
    (0x8D2D, ("xor", dict(rd=10, rs1=10, rs2=11))),          # c.xor
    (0x8D4D, ("or", dict(rd=10, rs1=10, rs2=11))),           # c.or
    (0x8D6D, ("and", dict(rd=10, rs1=10, rs2=11))),          # c.and
    (0x9D0D, ("subw", dict(rd=10, rs1=10, rs2=11))),         # c.subw
    (0x9D2D, ("addw", dict(rd=10, rs1=10, rs2=11))),         # c.addw
    (0xA011, ("jal", dict(rd=0, imm=4))),                    # c.j +4
    (0xC111, ("beq", dict(rs1=10, rs2=0, imm=4))),           # c.beqz a0, +4
    (0xE111, ("bne", dict(rs1=10, rs2=0, imm=4))),           # c.bnez a0, +4
    (0x050E, ("slli", dict(rd=10, rs1=10, imm=3))),          # c.slli a0, 3
    (0x4532, ("lw", dict(rd=10, rs1=2, imm=12))),            # c.lwsp a0, 12(sp)
    (0x6522, ("ld", dict(rd=10, rs1=2, imm=8))),             # c.ldsp a0, 8(sp)
    (0x8502, ("jalr", dict(rd=0, rs1=10, imm=0))),           # c.jr a0
    (0x852E, ("add", dict(rd=10, rs1=0, rs2=11))),           # c.mv a0, a1
    (0x9002, ("ebreak", {})),                                # c.ebreak
    (0x9502, ("jalr", dict(rd=1, rs1=10, imm=0))),           # c.jalr a0
    (0x952E, ("add", dict(rd=10, rs1=10, rs2=11))),          # c.add a0, a1
    (0xC62A, ("sw", dict(rs1=2, rs2=10, imm=12))),           # c.swsp a0, 12(sp)
    (0xE42A, ("sd", dict(rs1=2, rs2=10, imm=8))),            # c.sdsp a0, 8(sp)
]


@pytest.mark.parametrize("half,expect", PAIRS, ids=[f"{p[0]:04x}" for p in PAIRS])
def test_expansion_decodes_like_the_32bit_form(half, expect):
    name, ops = expect
    c, full = decode(half), decode(asm(name, **ops))
    assert c is not None and c.length == 2 and full.length == 4
    assert (c.name, c.operands()) == (full.name, full.operands())


@pytest.mark.parametrize("half,expect", [p for p in PAIRS if p[1][0] not in ("ebreak", "jalr", "jal")],
                         ids=[f"{p[0]:04x}" for p in PAIRS if p[1][0] not in ("ebreak", "jalr", "jal")])
def test_expansion_runs_like_the_32bit_form(half, expect):
    name, ops = expect
    regs = {2: RAM_BASE + 0x8000, 10: RAM_BASE + 0x8100, 11: 0x8000000000000003, 12: 0x1234}
    a = run_words([half], regs, budget=1)
    b = run_words([asm(name, **ops)], regs, budget=1)
    assert a.x == b.x
    assert a.pc == b.pc or (a.pc, b.pc) == (RAM_BASE + 2, RAM_BASE + 4)   # taken branch, or next insn
    data = slice(0x8000, 0x9000)
    assert a.bus.ram[data] == b.bus.ram[data]


@pytest.mark.parametrize("half", [0x0000, 0x6001 | (2 << 7), 0x6081 & ~0x107C, 0x4002, 0x6002, 0x8002, 0x2001,
                                  0x9C41, 0x9C61, 0x0001 | (0 << 12)])
def test_reserved_compressed_encodings(half):
    # all-zero; c.addi16sp 0; c.lui ra, 0; c.lwsp x0; c.ldsp x0; c.jr x0; c.addiw x0; reserved CA ops
    if half == 0x0001:
        assert decode(half) is not None                      # c.nop is fine
    else:
        assert decode(half) is None, hex(half)
