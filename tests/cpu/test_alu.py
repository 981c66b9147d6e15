"""Integer instructions: edge cases of RV64I and M, run through the real translator."""

import pytest
from cpuutil import M64, asm, run_words

MIN64 = 1 << 63


def rr(name, a, b):
    """Run `name rd=x12, rs1=x10, rs2=x11` and return x12."""
    return run_words([asm(name, rd=12, rs1=10, rs2=11)], {10: a, 11: b}).x[12]


def ri(name, a, imm):
    return run_words([asm(name, rd=12, rs1=10, imm=imm)], {10: a}).x[12]


@pytest.mark.parametrize("name,a,b,want", [
    ("add", M64, 1, 0),
    ("add", MIN64 - 1, 1, MIN64),
    ("sub", 0, 1, M64),
    ("sll", 1, 63, MIN64),
    ("sll", 1, 64 + 3, 8),                      # only the low 6 bits of rs2 count
    ("srl", MIN64, 63, 1),
    ("sra", MIN64, 63, M64),
    ("sra", MIN64, 64 + 1, 0xC000000000000000),
    ("slt", M64, 0, 1),                         # -1 < 0
    ("sltu", M64, 0, 0),
    ("xor", 0xF0, 0xFF, 0x0F), ("or", 0xF0, 0x0F, 0xFF), ("and", 0xF0, 0x3C, 0x30),
    # W forms: 32-bit results, sign-extended
    ("addw", 0x7FFFFFFF, 1, 0xFFFFFFFF80000000),
    ("addw", 0xFFFFFFFF00000005, 0, 5),
    ("subw", 0, 1, M64),
    ("sllw", 1, 31, 0xFFFFFFFF80000000),
    ("sllw", 1, 32, 1),                         # shift amount is rs2 mod 32
    ("srlw", 0x80000000, 31, 1),
    ("srlw", 0xFFFFFFFF80000000, 0, 0xFFFFFFFF80000000),
    ("sraw", 0x80000000, 4, 0xFFFFFFFFF8000000),
    ("sraw", 0x80000000, 36, 0xFFFFFFFFF8000000),
    # M
    ("mul", M64, M64, 1),
    ("mulh", M64, M64, 0),                      # -1 * -1 = 1: high half 0
    ("mulh", MIN64, MIN64, 0x4000000000000000),
    ("mulh", MIN64, 1, M64),
    ("mulhu", M64, M64, M64 - 1),
    ("mulhsu", M64, M64, M64),                  # -1 * (2**64-1): high half -1
    ("mulhsu", 1, M64, 0),
    ("mulw", 0x10000, 0x10000, 0),
    ("mulw", 0x7FFFFFFF, 2, 0xFFFFFFFFFFFFFFFE),
    ("div", 7, M64, M64 - 6),                   # 7 / -1 = -7
    ("div", M64 - 6, 2, M64 - 2),               # -7 / 2 = -3 (toward zero)
    ("div", 5, 0, M64),                         # division by zero: -1
    ("div", MIN64, M64, MIN64),                 # overflow: the dividend
    ("divu", 5, 0, M64),
    ("divu", M64, 2, M64 >> 1),
    ("rem", M64 - 6, 2, M64),                   # -7 % 2 = -1 (sign of dividend)
    ("rem", 5, 0, 5),
    ("rem", MIN64, M64, 0),
    ("remu", 5, 0, 5),
    ("remu", M64, 10, 5),
    ("divw", 0x80000000, 0xFFFFFFFF, 0xFFFFFFFF80000000),   # overflow in 32 bits
    ("divw", 0x100000007, 0, M64),                          # upper bits ignored; /0 = -1
    ("divw", 0xFFFFFFF9, 2, M64 - 2),
    ("divuw", 0xFFFFFFFF, 1, M64),              # result 0xFFFFFFFF sign-extends
    ("divuw", 5, 0x100000000, M64),             # rs2's low 32 bits are 0: /0
    ("remw", 0x80000000, 0xFFFFFFFF, 0),
    ("remw", 0xFFFFFFF9, 2, M64),
    ("remw", 0x12345678, 0, 0x12345678),
    ("remuw", 0x80000005, 0, 0xFFFFFFFF80000005),
    ("remuw", 0xFFFFFFFF, 0x10, 15),
])
def test_register_register(name, a, b, want):
    assert rr(name, a, b) == want


@pytest.mark.parametrize("name,a,imm,want", [
    ("addi", M64, 1, 0),
    ("addi", 0, -2048, M64 - 2047),
    ("slti", M64, 0, 1), ("slti", 0, -1, 0),
    ("sltiu", 0, -1, 1),                         # immediate sign-extends, then compares unsigned
    ("sltiu", M64, -1, 0),
    ("xori", 0, -1, M64), ("ori", 0x10, -16, M64 - 15), ("andi", M64, 0x7FF, 0x7FF),
    ("slli", 1, 63, MIN64), ("srli", MIN64, 63, 1), ("srai", MIN64, 1, 0xC000000000000000),
    ("addiw", 0x7FFFFFFF, 1, 0xFFFFFFFF80000000),
    ("addiw", 0xFFFFFFFF, 0, M64),              # sext.w
    ("slliw", 1, 31, 0xFFFFFFFF80000000),
    ("srliw", 0xFFFFFFFF, 31, 1),
    ("srliw", 0x80000000, 0, 0xFFFFFFFF80000000),
    ("sraiw", 0x80000000, 31, M64),
])
def test_register_immediate(name, a, imm, want):
    assert ri(name, a, imm) == want


def test_lui_auipc_and_x0():
    h = run_words([
        asm("lui", rd=5, imm=-4096),             # 0xFFFFF000 sign-extended
        asm("auipc", rd=6, imm=0x1000),
        asm("addi", rd=0, rs1=0, imm=5),         # writes to x0 vanish
        asm("add", rd=7, rs1=0, rs2=0),
    ])
    assert h.x[5] == M64 - 0xFFF
    assert h.x[6] == 0x80000004 + 0x1000
    assert h.x[0] == 0 and h.x[7] == 0


def test_branches_signed_and_unsigned():
    # x10 = -1, x11 = 1: blt taken, bltu not taken
    words = [
        asm("blt", rs1=10, rs2=11, imm=8),       # taken: skip next
        asm("addi", rd=12, rs1=0, imm=1),
        asm("bltu", rs1=10, rs2=11, imm=8),      # not taken
        asm("addi", rd=13, rs1=0, imm=1),
        asm("bge", rs1=10, rs2=11, imm=8),       # not taken
        asm("addi", rd=14, rs1=0, imm=1),
        asm("bgeu", rs1=10, rs2=11, imm=8),      # taken
        asm("addi", rd=15, rs1=0, imm=1),
    ]
    h = run_words(words, {10: M64, 11: 1}, budget=6)
    assert (h.x[12], h.x[13], h.x[14], h.x[15]) == (0, 1, 1, 0)


def test_jal_jalr_link_and_clear_bit0():
    words = [
        asm("jal", rd=1, imm=8),                 # 0x80000000 -> 0x80000008
        asm("addi", rd=10, rs1=0, imm=1),        # skipped
        asm("jalr", rd=5, rs1=6, imm=1),         # target (x6 + 1) & ~1
    ]
    h = run_words(words, {6: 0x80000100}, budget=2)
    assert h.x[1] == 0x80000004 and h.x[5] == 0x8000000C
    assert h.pc == 0x80000100 and h.x[10] == 0


def test_jalr_rd_equals_rs1():
    h = run_words([asm("jalr", rd=6, rs1=6, imm=0)], {6: 0x80000200}, budget=1)
    assert h.pc == 0x80000200 and h.x[6] == 0x80000004
