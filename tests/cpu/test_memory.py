"""Loads, stores, misaligned accesses, MMIO, LR/SC and AMOs."""

import pytest
from cpuutil import M64, RAM_BASE, RamBus, asm, make_hart, run_words

DATA = RAM_BASE + 0x8000


def with_data(words, data: bytes, regs=None, **kw):
    bus = RamBus()
    bus.put(DATA, data)
    r = {10: DATA}
    r.update(regs or {})
    return run_words(words, r, bus=bus, **kw)


@pytest.mark.parametrize("name,want", [
    ("lb", 0xFFFFFFFFFFFFFF88), ("lbu", 0x88),
    ("lh", 0xFFFFFFFFFFFF8788), ("lhu", 0x8788),
    ("lw", 0xFFFFFFFF85868788), ("lwu", 0x85868788),
    ("ld", 0x8182838485868788),
])
def test_loads_sign_and_zero_extend(name, want):
    h = with_data([asm(name, rd=11, rs1=10, imm=0)], bytes.fromhex("8887868584838281"))
    assert h.x[11] == want


@pytest.mark.parametrize("name,size", [("sb", 1), ("sh", 2), ("sw", 4), ("sd", 8)])
def test_stores_write_only_their_size(name, size):
    h = with_data([asm(name, rs1=10, rs2=11, imm=8)], b"", {11: 0x1122334455667788})
    got = bytes(h.bus.ram[DATA - RAM_BASE + 8:DATA - RAM_BASE + 16])
    want = (0x1122334455667788).to_bytes(8, "little")[:size] + bytes(8 - size)
    assert got == want


def test_negative_offset_and_x0_destination_still_accesses():
    h = with_data([asm("ld", rd=11, rs1=10, imm=-8), asm("ld", rd=0, rs1=10, imm=0)],
                  b"", {10: DATA + 8})
    assert h.x[11] == 0 and h.x[0] == 0 and h.instret == 2


def test_misaligned_loads_and_stores_are_performed():
    data = bytes(range(16))
    h = with_data([asm("ld", rd=11, rs1=10, imm=3), asm("sw", rs1=10, rs2=12, imm=9)],
                  data, {12: 0xAABBCCDD})
    assert h.x[11] == int.from_bytes(data[3:11], "little")
    assert bytes(h.bus.ram[DATA - RAM_BASE + 9:DATA - RAM_BASE + 13]) == bytes.fromhex("ddccbbaa")


def test_access_crossing_a_page_boundary():
    page_end = RAM_BASE + 0x9000
    h = with_data([asm("sd", rs1=10, rs2=11, imm=0), asm("ld", rd=12, rs1=10, imm=0)],
                  b"", {10: page_end - 3, 11: 0x0102030405060708})
    assert h.x[12] == 0x0102030405060708


def test_unmapped_physical_address_is_an_access_fault():
    h = run_words([asm("ld", rd=11, rs1=10, imm=0)], {10: 0x4000}, budget=1)
    assert (h.mcause, h.mtval, h.mepc) == (5, 0x4000, RAM_BASE)
    assert h.instret == 1                        # the faulting load did not retire; the handler's jump did
    h = run_words([asm("sd", rs1=10, rs2=0, imm=0)], {10: 0x4000}, budget=1)
    assert (h.mcause, h.mtval) == (7, 0x4000)


def test_mmio_goes_through_the_bus_and_ends_the_block():
    bus = RamBus()
    bus.stop_on_write = True
    words = [asm("lw", rd=11, rs1=10, imm=4), asm("sd", rs1=10, rs2=11, imm=8),
             asm("addi", rd=12, rs1=0, imm=1)]
    h = run_words(words, {10: RamBus.DEV_BASE}, bus=bus, budget=3)
    assert bus.dev.log == [("r", 4, 4), ("w", 8, 8, 0x55667788)]
    assert h.x[11] == 0x55667788
    # the store asked the bus to stop: run() returned right after it
    assert h.instret == 2 and h.x[12] == 0 and h.pc == RAM_BASE + 8


def test_lr_sc_success_and_failure():
    words = [
        asm("lr.w", rd=11, rs1=10),
        asm("sc.w", rd=12, rs1=10, rs2=13),      # succeeds: 0
        asm("sc.w", rd=14, rs1=10, rs2=13),      # no reservation any more: 1
    ]
    h = with_data(words, bytes.fromhex("feffffff"), {13: 7})
    assert h.x[11] == M64 - 1                    # lr.w sign-extends
    assert (h.x[12], h.x[14]) == (0, 1)
    assert h.bus.ram[DATA - RAM_BASE] == 7


def test_sc_without_lr_and_after_clear_reservation():
    h = with_data([asm("sc.d", rd=12, rs1=10, rs2=13)], b"", {13: 7})
    assert h.x[12] == 1 and h.bus.ram[DATA - RAM_BASE] == 0
    words = [asm("lr.d", rd=11, rs1=10), asm("sc.d", rd=12, rs1=10, rs2=13)]
    bus = RamBus()
    h = run_words(words, {10: DATA, 13: 9}, bus=bus, budget=1)
    h.clear_reservation()                        # another hart ran in between
    h.run(1)
    assert h.x[12] == 1 and bus.ram[DATA - RAM_BASE] == 0


@pytest.mark.parametrize("op,old,src,new", [
    ("swap", 5, 9, 9), ("add", 0xFFFFFFFF, 1, 0), ("xor", 0xF0, 0xFF, 0x0F),
    ("and", 0xF0, 0x3C, 0x30), ("or", 0xF0, 0x0F, 0xFF),
    ("min", 0xFFFFFFFF, 1, 0xFFFFFFFF), ("max", 0xFFFFFFFF, 1, 1),
    ("minu", 0xFFFFFFFF, 1, 1), ("maxu", 0xFFFFFFFF, 1, 0xFFFFFFFF),
])
def test_amo_w(op, old, src, new):
    h = with_data([asm(f"amo{op}.w", rd=11, rs1=10, rs2=12)], old.to_bytes(4, "little") + b"\xAA" * 4,
                  {12: src})
    sext = old | (0xFFFFFFFF00000000 if old >> 31 else 0)
    assert h.x[11] == sext                       # .w results sign-extend
    mem = bytes(h.bus.ram[DATA - RAM_BASE:DATA - RAM_BASE + 8])
    assert mem == new.to_bytes(4, "little") + b"\xAA" * 4


@pytest.mark.parametrize("op,old,src,new", [
    ("swap", 5, 9, 9), ("add", M64, 2, 1), ("xor", 3, 5, 6), ("and", 3, 5, 1), ("or", 3, 5, 7),
    ("min", M64, 1, M64), ("max", M64, 1, 1), ("minu", M64, 1, 1), ("maxu", M64, 1, M64),
])
def test_amo_d(op, old, src, new):
    h = with_data([asm(f"amo{op}.d", rd=11, rs1=10, rs2=12, aq=1, rl=1)], old.to_bytes(8, "little"),
                  {12: src})
    assert h.x[11] == old and h.bus.get64(DATA) == new


@pytest.mark.parametrize("name,cause", [("amoadd.w", 6), ("amoswap.d", 6), ("sc.w", 6), ("lr.d", 4)])
def test_misaligned_atomics_trap(name, cause):
    h = with_data([asm(name, rd=11, rs1=10, rs2=12)], b"", {10: DATA + 2}, budget=1)
    assert (h.mcause, h.mtval, h.mepc, h.x[11]) == (cause, DATA + 2, RAM_BASE, 0)
    assert h.pc == h.mtvec                       # the handler's first instruction retired, not the AMO


def test_store_to_translated_code_is_seen():
    # the loop body patches the instruction it will run next time round
    target = RAM_BASE + 12
    words = [
        asm("addi", rd=11, rs1=11, imm=1),       # 0: counter
        asm("sw", rs1=10, rs2=12, imm=0),        # 4: overwrite insn at 12
        asm("fence.i"),                          # 8
        asm("addi", rd=13, rs1=0, imm=1),        # 12: becomes addi x13, x0, 2
        asm("beq", rs1=11, rs2=14, imm=8),       # 16: second time round: out
        asm("jal", rd=0, imm=-20),               # 20
    ]
    new = asm("addi", rd=13, rs1=0, imm=2)
    h = run_words(words, {10: target, 12: new, 14: 2}, budget=11)
    assert h.x[13] == 2


def test_store_without_fence_i_still_invalidates():
    words = [
        asm("sw", rs1=10, rs2=12, imm=0),        # patch the instruction at 8
        asm("jal", rd=0, imm=4),                 # a new block starts at 8
        asm("addi", rd=13, rs1=0, imm=1),
    ]
    bus = RamBus()
    h = run_words(words[2:], bus=bus, at=RAM_BASE + 8, budget=1)   # translate it first
    assert h.x[13] == 1
    h.x[13] = 0
    bus.put(RAM_BASE, b"".join(w.to_bytes(4, "little") for w in words[:2]))
    h.pc = RAM_BASE
    h.x[10], h.x[12] = RAM_BASE + 8, asm("addi", rd=13, rs1=0, imm=3)
    h.run(3)
    assert h.x[13] == 3


def test_dma_invalidate_drops_translations():
    bus = RamBus()
    h = run_words([asm("addi", rd=13, rs1=0, imm=1)], bus=bus, budget=1)
    bus.put(RAM_BASE, asm("addi", rd=13, rs1=0, imm=5).to_bytes(4, "little"))
    h.code_cache.invalidate(RAM_BASE, 4)
    h.pc = RAM_BASE
    h.run(1)
    assert h.x[13] == 5


@pytest.mark.parametrize("sfx,size", [("w", 4), ("d", 8)])
@pytest.mark.parametrize("op", ["swap", "add", "xor", "and", "or", "min", "max", "minu", "maxu"])
def test_amo_fast_path_matches_slow_path(op, sfx, size):
    # the first AMO misses the write TLB (slow path), the store fills it, the second AMO hits it
    words = [asm(f"amo{op}.{sfx}", rd=11, rs1=10, rs2=12), asm("sd", rs1=10, rs2=0, imm=64),
             asm(f"amo{op}.{sfx}", rd=13, rs1=14, rs2=12)]
    old = 0x80000000FFFFFFF0
    data = old.to_bytes(8, "little") + bytes(8) + old.to_bytes(8, "little")
    h = with_data(words, data, {12: 0x7FFFFFFF00000011, 14: DATA + 16}, budget=3)
    assert h.instret == 3
    assert h.x[11] == h.x[13]
    assert h.bus.ram[DATA - RAM_BASE:DATA - RAM_BASE + 8] == h.bus.ram[DATA - RAM_BASE + 16:DATA - RAM_BASE + 24]


def test_store_by_another_hart_drops_translated_code():
    from rvtrace.cpu import CodeCache, Hart
    bus = RamBus()
    cache = CodeCache()
    a = make_hart([asm("addi", rd=13, rs1=0, imm=1), asm("jal", rd=0, imm=-4)], bus=bus, cache=cache)
    b = Hart(1, bus, cache)
    a.run(4)                                     # a translated and ran the loop
    assert a.x[13] == 1
    b.pc = RAM_BASE + 0x100
    bus.put(b.pc, asm("sw", rs1=10, rs2=11, imm=0).to_bytes(4, "little"))
    b.x[10], b.x[11] = RAM_BASE, asm("addi", rd=13, rs1=0, imm=9)
    b.run(1)                                     # b patches a's code
    a.run(2)
    assert a.x[13] == 9
