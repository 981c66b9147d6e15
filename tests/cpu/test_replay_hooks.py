"""The cpu's hooks for replay searches: data watch (loads and stores of some pages reported, the
TLB fast path never skipping them) and the activity log (what ran, what was touched)."""

import struct

from cpuutil import RAM_BASE, RamBus, asm, code
from rvtrace.cpu import CodeCache, Hart
from rvtrace.cpu.codecache import CODE_LINE, Activity

DATA = RAM_BASE + 0x8000
PAGE = DATA >> 12


def loop_hart():
    """A loop storing a counter to DATA and loading it back, forever (same block every time)."""
    bus = RamBus()
    words = [asm("addi", rd=10, rs1=0, imm=0)]
    bus.put(RAM_BASE + 0x100, struct.pack("<Q", DATA))
    words += [asm("auipc", rd=5, imm=0), asm("ld", rd=5, rs1=5, imm=0xFC)]     # t0 = DATA
    loop = [asm("addi", rd=10, rs1=10, imm=1), asm("sd", rs1=5, rs2=10, imm=0),
            asm("ld", rd=11, rs1=5, imm=0), asm("jal", rd=0, imm=-12)]
    bus.put(RAM_BASE, code(words + loop))
    hart = Hart(0, bus, CodeCache())
    hart.pc = RAM_BASE
    return hart


def test_stores_and_loads_of_watched_pages_are_reported_every_time():
    h = loop_hart()
    h.run(50)                                   # warm: translated, TLB entries made
    stores, loads = [], []

    def on_store(ppage):
        stores.append((ppage, struct.unpack_from("<Q", h.ram, DATA - RAM_BASE)[0]))

    h.code_cache.set_data_watch(frozenset({PAGE}), on_store=on_store,
                                on_load=lambda hart, pa, size: loads.append((pa, size)))
    before = struct.unpack_from("<Q", h.ram, DATA - RAM_BASE)[0]
    h.run(40)                                   # ten rounds of the loop
    assert len(stores) == 10 and len(loads) == 10
    assert stores[0] == (PAGE, before)          # called before the store is done
    assert loads[0] == (DATA, 8)
    h.code_cache.set_data_watch(frozenset())    # removed: silent again
    h.run(40)
    assert len(stores) == 10 and len(loads) == 10


def test_dma_writes_into_a_watched_page_are_reported_before():
    cache = CodeCache()
    seen = []
    bus = RamBus()
    Hart(0, bus, cache)
    cache.set_data_watch(frozenset({PAGE}), on_store=lambda p: seen.append(bus.ram[DATA - RAM_BASE]))
    bus.ram[DATA - RAM_BASE] = 7
    cache.invalidate(DATA, 16)                  # what bus.dma_write calls, before writing
    assert seen == [7]


def test_the_activity_log_notes_code_and_pages_once_tlbs_are_empty():
    h = loop_hart()
    h.run(50)
    h.flush_tlb()
    h.code_cache.activity = act = Activity()
    h.run(20)
    assert (RAM_BASE + 0xC) >> CODE_LINE in act.ran      # the loop's code
    assert PAGE in act.written and PAGE in act.read
    assert (RAM_BASE + 0x100) >> 12 not in act.read      # only loaded before the log began
