"""Three corners of the privileged specification the official RV64 ISA tests
probe: a write to minstret/mcycle replaces that instruction's own increment,
a misaligned superpage is a page fault of the access type, and the debug
trigger CSRs describe a hart with no triggers."""

import pytest
from cpuutil import RAM_BASE, asm, make_hart
from test_sv39 import A, D, R, U, W, X, paged_hart

from rvtrace.cpu import csr as C

HANDLER_M = RAM_BASE + 0x10000


def csrr(n, rd):
    return asm("csrrs", rd=rd, rs1=0, csr=n)


# --- minstret / mcycle -------------------------------------------------------------------

@pytest.mark.parametrize("counter, user_view", [(C.MINSTRET, C.INSTRET), (C.MCYCLE, C.CYCLE)])
def test_counter_write_suppresses_its_own_increment(counter, user_view):
    h = make_hart([
        asm("csrrwi", rd=0, imm=0, csr=counter),          # the write retires, but counts nothing
        csrr(counter, 5),                                 # reads 0
        csrr(counter, 6),                                 # one instruction later: 1
        asm("addi", rd=7, rs1=0, imm=40),
        asm("csrrw", rd=0, rs1=7, csr=counter),           # write 40 ...
        csrr(user_view, 8),                               # ... and the next read sees exactly 40
        asm("csrrs", rd=9, rs1=0, csr=counter),
    ])
    h.mcounteren = 7
    h.run(7)
    assert (h.x[5], h.x[6], h.x[8], h.x[9]) == (0, 1, 40, 41)


def test_counter_read_write_returns_the_old_value_and_keeps_counting_after():
    h = make_hart([asm("addi", rd=0, rs1=0, imm=0)] * 3 + [
        asm("csrrwi", rd=5, imm=7, csr=C.MINSTRET),       # old value: 3 retired before it
        asm("addi", rd=0, rs1=0, imm=0),
        csrr(C.MINSTRET, 6),
    ])
    h.run(6)
    assert (h.x[5], h.x[6]) == (3, 8)
    assert h.read_csr(C.MINSTRET) == 9


# --- misaligned superpages ----------------------------------------------------------------

SUPER = {1: 0x200000, 2: 0x40000000}


@pytest.mark.parametrize("level", [1, 2])
@pytest.mark.parametrize("access, cause", [("load", 13), ("store", 15), ("fetch", 12)])
def test_misaligned_superpage_is_a_page_fault_of_the_access(level, access, cause):
    va = 3 * SUPER[level]
    target = va + 0x1238
    if access == "fetch":
        h, pt = paged_hart([asm("jalr", rd=0, rs1=10, imm=0)], 0)
    elif access == "load":
        h, pt = paged_hart([asm("ld", rd=5, rs1=10, imm=0)], 0)
    else:
        h, pt = paged_hart([asm("sd", rs1=10, rs2=10, imm=0)], 0)
    pt.map(va, RAM_BASE + 0x1000, R | W | X | A | D | U, level=level)   # ppn not aligned
    h.x[10] = target
    h.run(2)
    assert (h.mcause, h.mtval) == (cause, target)
    assert h.bus.get64(RAM_BASE + 0x1000 + 0x1238) == 0                  # nothing was stored


@pytest.mark.parametrize("level", [1, 2])
def test_aligned_superpage_of_the_same_shape_works(level):
    va = 3 * SUPER[level]
    h, pt = paged_hart([asm("sd", rs1=10, rs2=11, imm=0)], 0)
    pt.map(va, RAM_BASE if level == 2 else RAM_BASE + SUPER[1], R | W | A | D | U, level=level)
    h.x[10], h.x[11] = va + 0x1238, 0x77
    h.run(1)
    assert h.mcause == 0
    assert h.bus.get64((RAM_BASE if level == 2 else RAM_BASE + SUPER[1]) + 0x1238) == 0x77


# --- debug trigger CSRs ---------------------------------------------------------------------

TSELECT, TDATA1, TDATA2, TDATA3, TINFO, TCONTROL = 0x7A0, 0x7A1, 0x7A2, 0x7A3, 0x7A4, 0x7A5


def test_trigger_csrs_describe_a_hart_with_no_triggers():
    h = make_hart([
        asm("csrrwi", rd=0, imm=0, csr=TSELECT),
        csrr(TSELECT, 5),                  # tselect 0 is the only value it holds
        csrr(TDATA1, 6),                   # type 0: no trigger at this index
        csrr(TINFO, 7),                    # info bit 0 (type 0 only): none exist
        asm("csrrwi", rd=0, imm=3, csr=TSELECT),
        csrr(TSELECT, 8),                  # an index with no trigger is not kept
        asm("addi", rd=9, rs1=0, imm=-1),
        asm("csrrw", rd=0, rs1=9, csr=TDATA1),   # writes do not create a trigger
        csrr(TDATA1, 10),
        csrr(TDATA2, 11), csrr(TDATA3, 12), csrr(TCONTROL, 13),
    ])
    h.mtvec = HANDLER_M
    for r in range(5, 14):
        h.x[r] = 0x5A
    h.run(12)
    assert h.mcause == 0, "a trigger CSR raised a trap"
    assert [h.x[r] for r in (5, 6, 7, 8, 10)] == [0, 0, 1, 0, 0]
    assert h.x[11] == 0 and h.x[12] == 0 and h.x[13] == 0


def test_trigger_csrs_are_machine_mode_only():
    h = make_hart([csrr(TSELECT, 5)])
    h.mtvec = HANDLER_M
    h.set_priv(1)
    h.run(1)
    assert h.mcause == 2
