"""The encoding table is consistent: every line decodes to itself and has semantics."""

from rvtrace.cpu.decode import C_TABLE, TABLE, decode
from rvtrace.cpu.semantics import SEMANTICS


def test_every_instruction_has_semantics():
    assert {e.name for e in TABLE} == set(SEMANTICS)
    assert {e.expands_to for e in C_TABLE} <= set(SEMANTICS)


def test_every_line_decodes_to_itself():
    for enc in TABLE:
        insn = decode(enc.match)
        assert insn is not None and insn.name == enc.name, enc.name
    for enc in C_TABLE:
        word = enc.match
        for field in enc.fmt.values():                 # non-zero operands: no HINT or reserved form
            word |= 1 << field.ranges[-1][1]
        insn = decode(word)
        assert insn is not None and insn.cname == enc.name, (enc.name, hex(word))


def test_overlapping_lines_are_special_cases_listed_first():
    # when a word can match two 32-bit lines, the first must be a special case of the second
    for i, a in enumerate(TABLE):
        for b in TABLE[i + 1:]:
            both = a.mask & b.mask
            if a.match & both == b.match & both:
                assert a.mask & b.mask == b.mask and a.mask != b.mask, (a.name, b.name)
