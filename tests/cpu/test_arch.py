"""rvtrace/cpu/arch.py: the one Sv39 walker agrees with the hart's own translation, on a RAM
bytearray, and the architecture numbers are written once."""

import pytest
from cpuutil import RAM_BASE, RamBus
from test_sv39 import DATA_PA, PageTables, paged_hart, A, D, R, U, W, X

from rvtrace.cpu import arch, csr, mmu, traps


def test_walker_matches_the_hart_on_4k_pages_superpages_and_holes():
    h, pt = paged_hart([], priv=1, user_code=False)     # S mode reads non-U pages: no permission gap
    pt.map(0x600000, DATA_PA, R | W | A | D)
    pt.map(0x40000000, RAM_BASE, R | W | A | D, level=2)          # a 1 GiB page
    pt.map(0x200000, RAM_BASE + 0x200000, R | A, level=1)          # a 2 MiB page
    read = arch.ram_reader(h.bus.ram, RAM_BASE)
    satp = h.satp
    for va in (0x600123, 0x40000000 + 0x12345, 0x200000 + 0x1ff00, 0x400010, 0x7000000, 1 << 40):
        assert arch.sv39_translate(read, satp, va) == h.debug_translate(va), hex(va)
    assert arch.sv39_translate(read, satp, 0x7000000) is None           # unmapped
    assert arch.sv39_translate(read, satp, 1 << 40) is None             # not canonical
    pte, level = arch.sv39_leaf(read, satp, 0x40001000)
    assert level == 2 and arch.pte_paddr(pte) == RAM_BASE


def test_walker_has_no_side_effects_and_bare_mode_is_identity():
    bus = RamBus()
    pt = PageTables(bus)
    slot = pt.map(0x5000, DATA_PA, R | W | U)                          # A and D clear
    before = bytes(bus.ram)
    read = arch.ram_reader(bus.ram, RAM_BASE)
    assert arch.sv39_translate(read, pt.satp, 0x5008) == DATA_PA + 8
    assert bytes(bus.ram) == before and not bus.get64(slot) & (A | D)
    assert arch.sv39_translate(read, 0, 0x1234) == 0x1234
    assert arch.sv39_translate(lambda a, n: None, pt.satp, 0x5000) is None     # unreadable table


def test_the_hart_takes_its_numbers_from_arch():
    assert csr.SATP is arch.SATP and csr.MSTATUS == arch.CSR_NUMBERS["mstatus"]
    assert mmu.PAGE_FAULT == arch.PAGE_FAULT_CAUSES and mmu.PTE_W == arch.PTE_W
    assert traps.INTERRUPT == arch.INTERRUPT
    assert arch.ABI_NAMES[arch.REG_A0] == "a0" and arch.REGISTER_NUMBER["fp"] == arch.REG_FP
    assert arch.cause_name(arch.CAUSE_STORE_PAGE_FAULT) == "store/AMO page fault"
    assert arch.cause_name(arch.INTERRUPT | 5) == "interrupt 5"


@pytest.mark.parametrize("root", [RAM_BASE + 0x1000, RAM_BASE + 0x123000])
def test_make_satp_names_its_root(root):
    s = arch.make_satp(root)
    assert arch.satp_mode(s) == arch.SATP_MODE_SV39 and arch.satp_root(s) == root
