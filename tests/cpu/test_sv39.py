"""Sv39: permissions, SUM/MXR/MPRV, A/D bits, superpages, faults, sfence.vma."""

import pytest
from cpuutil import RAM_BASE, RamBus, asm, code, make_hart

from rvtrace.cpu import csr as C

V, R, W, X, U, G, A, D = (1 << i for i in range(8))
TABLES = RAM_BASE + 0x100000         # page-table pages are allocated from here
CODE_VA = 0x400000                    # where the test code is mapped
DATA_VA = 0x600000
DATA_PA = RAM_BASE + 0x40000
HANDLER = RAM_BASE + 0x10000


class PageTables:
    def __init__(self, bus):
        self.bus = bus
        self.next = TABLES
        self.root = self._alloc()

    def _alloc(self):
        page, self.next = self.next, self.next + 0x1000
        return page

    def map(self, va, pa, flags, level=0):
        """Install a leaf at `level` (0: 4 KiB, 1: 2 MiB, 2: 1 GiB)."""
        table = self.root
        for lvl in (2, 1, 0):
            slot = table + 8 * ((va >> (12 + 9 * lvl)) & 511)
            if lvl == level:
                self.bus.put64(slot, ((pa >> 12) << 10) | flags | V)
                return slot
            pte = self.bus.get64(slot)
            if not pte & V:
                nxt = self._alloc()
                self.bus.put64(slot, ((nxt >> 12) << 10) | V)
                pte = self.bus.get64(slot)
            table = (pte >> 10) << 12

    @property
    def satp(self):
        return (8 << 60) | (self.root >> 12)


def paged_hart(words, priv, code_flags=R | X | A | D, user_code=True):
    bus = RamBus()
    pt = PageTables(bus)
    code_pa = RAM_BASE + 0x30000
    h = make_hart(words, at=code_pa, bus=bus)
    pt.map(CODE_VA, code_pa, code_flags | (U if user_code else 0))
    bus.put(HANDLER, code([asm("jal", rd=0, imm=0)]))
    h.mtvec = HANDLER                                 # M mode: physical
    h.write_csr(C.SATP, pt.satp)
    h.set_priv(priv)
    h.pc = CODE_VA
    return h, pt


def load_at(va, priv=0, flags=R | W | A | D | U, **kw):
    h, pt = paged_hart([asm("ld", rd=5, rs1=10, imm=0)], priv, **kw)
    if flags is not None:
        pt.map(DATA_VA, DATA_PA, flags)
    h.bus.put64(DATA_PA, 0x1234)
    h.x[10] = va
    h.run(1)
    return h, pt


def store_at(va, priv=0, flags=R | W | A | D | U, **kw):
    h, pt = paged_hart([asm("sd", rs1=10, rs2=11, imm=0)], priv, **kw)
    if flags is not None:
        pt.map(DATA_VA, DATA_PA, flags)
    h.x[10], h.x[11] = va, 0x55
    h.run(1)
    return h, pt


def test_user_load_and_store_through_a_4k_page():
    h, _ = load_at(DATA_VA + 8 - 8)
    assert h.x[5] == 0x1234 and h.mcause == 0
    h, _ = store_at(DATA_VA + 16)
    assert h.bus.get64(DATA_PA + 16) == 0x55


@pytest.mark.parametrize("flags,kind,cause", [
    (None, "load", 13), (None, "store", 15),
    (W | A | D | U, "load", 13),                   # W without R is reserved
    (R | A | D | U, "store", 15),                  # read-only
    (X | A | D | U, "load", 13),                   # execute-only without MXR
    (R | W | A | D, "load", 13),                   # supervisor page from U mode
])
def test_page_faults_have_cause_and_tval(flags, kind, cause):
    fn = load_at if kind == "load" else store_at
    h, _ = fn(DATA_VA + 0x10, flags=flags)
    assert (h.mcause, h.mtval, h.mepc) == (cause, DATA_VA + 0x10, CODE_VA)
    assert h.x[5] == 0


def test_instruction_page_faults():
    h, _ = paged_hart([asm("addi", rd=5, rs1=0, imm=1)], 0, code_flags=R | A | D)   # not executable
    h.run(1)
    assert (h.mcause, h.mtval, h.mepc) == (12, CODE_VA, CODE_VA)
    h, _ = paged_hart([asm("addi", rd=5, rs1=0, imm=1)], 1)                        # S fetching a U page
    h.run(1)
    assert (h.mcause, h.mtval) == (12, CODE_VA)
    h, _ = paged_hart([asm("jalr", rd=0, rs1=10, imm=0)], 0)
    h.x[10] = 0x7000000                                    # jump to nothing
    h.run(2)
    assert (h.mcause, h.mtval, h.mepc) == (12, 0x7000000, 0x7000000)


def test_non_canonical_address_faults():
    h, _ = load_at(1 << 40)
    assert (h.mcause, h.mtval) == (13, 1 << 40)


def test_sum_lets_s_mode_touch_user_pages():
    h, _ = load_at(DATA_VA, priv=1, user_code=False)
    assert h.mcause == 13
    h, pt = paged_hart([asm("ld", rd=5, rs1=10, imm=0)], 1, user_code=False)
    pt.map(DATA_VA, DATA_PA, R | W | A | D | U)
    h.bus.put64(DATA_PA, 77)
    h.write_csr(C.SSTATUS, C.MS_SUM)
    h.x[10] = DATA_VA
    h.run(1)
    assert h.x[5] == 77 and h.mcause == 0


def test_mxr_makes_executable_pages_readable():
    h, pt = paged_hart([asm("ld", rd=5, rs1=10, imm=0)], 0)
    pt.map(DATA_VA, DATA_PA, X | A | D | U)
    h.bus.put64(DATA_PA, 99)
    h.mstatus |= C.MS_MXR
    h._select_context()
    h.x[10] = DATA_VA
    h.run(1)
    assert h.x[5] == 99 and h.mcause == 0


def test_mprv_translates_m_mode_data_with_mpp():
    bus = RamBus()
    pt = PageTables(bus)
    h = make_hart([asm("ld", rd=5, rs1=10, imm=0), asm("ld", rd=6, rs1=11, imm=0)], bus=bus)
    pt.map(DATA_VA, DATA_PA, R | A | D | U)
    bus.put64(DATA_PA, 0xAB)
    h.write_csr(C.SATP, pt.satp)
    h.write_csr(C.MSTATUS, C.MS_MPRV | (0 << C.MS_MPP_SHIFT))    # data as U
    h.x[10], h.x[11] = DATA_VA, DATA_PA
    h.mtvec = HANDLER
    bus.put(HANDLER, code([asm("jal", rd=0, imm=0)]))
    h.run(2)
    assert h.x[5] == 0xAB                                  # fetch stayed physical (M), data translated
    assert (h.mcause, h.mtval) == (13, DATA_PA)            # the physical address is not mapped


def test_accessed_and_dirty_bits_are_set():
    h, pt = paged_hart([asm("ld", rd=5, rs1=10, imm=0), asm("sd", rs1=10, rs2=5, imm=8)], 0)
    slot = pt.map(DATA_VA, DATA_PA, R | W | U)
    h.x[10] = DATA_VA
    h.run(1)
    assert h.bus.get64(slot) & (A | D) == A
    h.run(1)
    assert h.bus.get64(slot) & (A | D) == A | D


def test_superpages_2m_and_1g():
    h, pt = paged_hart([asm("ld", rd=5, rs1=10, imm=0), asm("ld", rd=6, rs1=11, imm=0)], 0)
    pt.map(0x40000000 * 3, RAM_BASE, R | A | D | U, level=2)                 # 1 GiB at 0xC0000000
    pt.map(0x200000 * 5, RAM_BASE + 0x200000, R | A | D | U, level=1)       # 2 MiB at 0xA00000
    h.bus.put64(RAM_BASE + 0x50008, 1)
    h.bus.put64(RAM_BASE + 0x200000 + 0x1F0008, 2)
    h.x[10], h.x[11] = 0xC0000000 + 0x50008, 0xA00000 + 0x1F0008
    h.run(2)
    assert (h.x[5], h.x[6], h.mcause) == (1, 2, 0)


def test_misaligned_superpage_faults():
    h, pt = paged_hart([asm("ld", rd=5, rs1=10, imm=0)], 0)
    pt.map(0xA00000, RAM_BASE + 0x1000, R | A | D | U, level=1)            # ppn not 2 MiB aligned
    h.x[10] = 0xA00000
    h.run(1)
    assert (h.mcause, h.mtval) == (13, 0xA00000)


def test_sfence_vma_after_changing_a_pte():
    words = [asm("ld", rd=5, rs1=10, imm=0), asm("ecall"), asm("ld", rd=6, rs1=10, imm=0)]
    h, pt = paged_hart(words, 0)
    slot = pt.map(DATA_VA, DATA_PA, R | A | D | U)
    h.bus.put64(DATA_PA, 1)
    h.bus.put64(DATA_PA + 0x1000, 2)
    # M handler: retarget the PTE, sfence, return past the ecall
    h.bus.put(HANDLER, code([
        asm("sd", rs1=12, rs2=13, imm=0),
        asm("sfence.vma"),
        asm("csrrs", rd=14, rs1=0, csr=C.MEPC), asm("addi", rd=14, rs1=14, imm=4),
        asm("csrrw", rd=0, rs1=14, csr=C.MEPC), asm("mret"),
    ]))
    h.x[10], h.x[12] = DATA_VA, slot
    h.x[13] = (((DATA_PA + 0x1000) >> 12) << 10) | R | A | D | U | V
    h.run(9)
    assert (h.x[5], h.x[6]) == (1, 2)


def test_pte_store_is_seen_without_sfence():
    # our TLB follows page-table stores (allowed: it is never stale), so no sfence is needed
    words = [asm("ld", rd=5, rs1=10, imm=0), asm("ecall"), asm("ld", rd=6, rs1=10, imm=0)]
    h, pt = paged_hart(words, 0)
    slot = pt.map(DATA_VA, DATA_PA, R | A | D | U)
    h.bus.put64(DATA_PA, 1)
    h.bus.put(HANDLER, code([
        asm("sd", rs1=12, rs2=0, imm=0),                    # unmap the data page
        asm("csrrs", rd=14, rs1=0, csr=C.MEPC), asm("addi", rd=14, rs1=14, imm=4),
        asm("csrrw", rd=0, rs1=14, csr=C.MEPC), asm("mret"),
    ]))
    h.x[10], h.x[12] = DATA_VA, slot
    h.run(7)
    assert h.x[5] == 1
    assert (h.mcause, h.mtval, h.mepc) == (13, DATA_VA, CODE_VA + 8)


def test_writes_behind_the_harts_back_need_invalidate():
    h, pt = paged_hart([asm("ld", rd=5, rs1=10, imm=0)], 0)
    slot = pt.map(DATA_VA, DATA_PA, R | A | D | U)
    h.x[10] = DATA_VA
    h.run(1)
    h.bus.put64(slot, 0)                                    # as a DMA write would
    h.code_cache.invalidate(slot, 8)
    h.pc = CODE_VA
    h.run(1)
    assert (h.mcause, h.mtval) == (13, DATA_VA)


def test_satp_switch_keeps_each_address_space():
    h, pt = paged_hart([asm("ld", rd=5, rs1=10, imm=0)], 0)
    pt.map(DATA_VA, DATA_PA, R | A | D | U)
    h.bus.put64(DATA_PA, 1)
    other = PageTables(h.bus)
    other.next = pt.next                                    # allocate after the first tables
    other.root = other._alloc()
    other.map(CODE_VA, RAM_BASE + 0x30000, R | X | A | D | U)
    other.map(DATA_VA, DATA_PA + 0x1000, R | A | D | U)
    h.bus.put64(DATA_PA + 0x1000, 2)
    first = h.satp
    h.x[10] = DATA_VA
    for satp, want in ((first, 1), (other.satp, 2), (first, 1)):
        h.write_csr(C.SATP, satp)
        h.pc = CODE_VA
        h.run(1)
        assert h.x[5] == want


def test_user_store_to_code_page_then_execute():
    # a page mapped twice: writable data alias and executable code alias
    words = [asm("sw", rs1=10, rs2=11, imm=0), asm("fence.i"), asm("addi", rd=5, rs1=0, imm=1)]
    h, pt = paged_hart(words, 0)
    pt.map(DATA_VA, RAM_BASE + 0x30000, R | W | A | D | U)
    h.x[10], h.x[11] = DATA_VA + 8, asm("addi", rd=5, rs1=0, imm=7)
    h.run(3)
    assert h.x[5] == 7


def test_a_looping_block_sees_a_pte_it_rewrites():
    """A loop whose doubleword group passed its TLB check in one round, then remaps
    the group's page through a page-table store: the next round writes to the new
    page, as single steps do."""
    words = [
        asm("sd", rs1=10, rs2=5, imm=0),              # loop: a doubleword group off x10
        asm("sd", rs1=10, rs2=5, imm=8),
        asm("sd", rs1=12, rs2=11, imm=0),             # rewrite the leaf PTE of DATA_VA,
        asm("xor", rd=11, rs1=11, rs2=13),            # to the other page each round
        asm("sd", rs1=10, rs2=5, imm=16),             # through the new mapping (refills the TLB)
        asm("addi", rd=5, rs1=5, imm=1),
        asm("addi", rd=8, rs1=8, imm=-1),
        asm("bne", rs1=8, rs2=0, imm=-28),
        asm("jal", rd=0, imm=0),
    ]
    other_pa = DATA_PA + 0x1000
    results = []
    for stepped in (False, True):
        h, pt = paged_hart(words, 0)
        h.hot_after = 0
        slot = pt.map(DATA_VA, DATA_PA, R | W | A | D | U)
        pt.map(0x700000, slot & ~0xFFF, R | W | A | D | U)          # the leaf table, writable from U
        h.x[5], h.x[8], h.x[10] = 100, 6, DATA_VA
        h.x[11], h.x[12] = ((other_pa >> 12) << 10) | R | W | A | D | U | V, 0x700000 + (slot & 0xFFF)
        h.x[13] = ((other_pa ^ DATA_PA) >> 12) << 10
        n = 8 * 6
        done = sum(h.run(1) for _ in range(n)) if stepped else h.run(n)
        assert done == n
        results.append((list(h.x), h.pc, h.bus.get64(DATA_PA), h.bus.get64(other_pa)))
    assert results[0] == results[1]
    assert results[0][2:] == (104, 105)
    assert (h.bus.get64(DATA_PA + 16), h.bus.get64(other_pa + 16)) == (105, 104)
