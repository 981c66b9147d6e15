"""The replay's data-watch hook (CodeCache.set_data_watch): every store into a watched
page is announced before it happens, every load from it after, even in a hot loop."""

from cpuutil import RAM_BASE, asm, make_hart

DATA = RAM_BASE + 0x8000


def _loop_hart():
    # x10 = DATA; loop: ld x6, 0(x10); addi x6, x6, 1; sd x6, 0(x10); jal loop
    h = make_hart([asm("ld", rd=6, rs1=10, imm=0), asm("addi", rd=6, rs1=6, imm=1),
                   asm("sd", rs1=10, rs2=6, imm=0), asm("jal", rd=0, imm=-12)])
    h.x[10] = DATA
    return h


def test_every_load_and_store_in_a_loop_is_seen():
    h = _loop_hart()
    h.run(40)                                  # warm: translated, TLBs filled
    seen = []
    ram = h.bus.ram

    def on_store(page):
        seen.append(("s", page, ram[DATA - RAM_BASE]))     # before the store: the old value

    h.code_cache.set_data_watch(frozenset({DATA >> 12}), on_store=on_store,
                                on_load=lambda hart, pa, size: seen.append(("l", pa, size)))
    h.run(40)
    assert seen[:2] == [("l", DATA, 8), ("s", DATA >> 12, 10)]
    assert len(seen) == 20                     # 10 rounds: 10 loads, 10 stores, none missed
    h.code_cache.set_data_watch(frozenset())
    seen.clear()
    h.run(40)
    assert seen == [] and ram[DATA - RAM_BASE] == 30
