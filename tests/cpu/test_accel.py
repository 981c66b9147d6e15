"""Loop acceleration (accel.py) retires exactly what plain execution retires.

Generated loops -- fills (memset), copies (memcpy/memmove, both directions),
byte scans (strlen) and spin-waits -- run on two harts from the same state,
one with acceleration and one without, in the same pieces of budget (the
machine's turns and the replay's stop points are budgets). After every piece
registers, pc, instret and all of RAM must be equal.
"""

from hypothesis import given, settings
from hypothesis import strategies as st
from cpuutil import RAM_BASE, RamBus, asm, code, make_hart
from test_sv39 import A, D, PageTables, R, U, W, X

from rvtrace.cpu import accel
from rvtrace.cpu import csr as C

DATA = RAM_BASE + 0x20000            # data pages for the loops (16 KiB)
HANDLER = RAM_BASE + 0x10000
P, Q, E, V, T = 10, 11, 12, 13, 14   # pointer, second pointer, end, value, temporary


def _hart(words, regs, data, accelerate, paged=False):
    bus = RamBus()
    bus.put(DATA, data)
    h = make_hart(list(words) + [asm("ebreak")], bus=bus)
    h.accel = accelerate
    bus.put(HANDLER, code([asm("jal", rd=0, imm=0)]))
    h.mtvec = HANDLER
    for r, v in regs.items():
        h.x[r] = v
    if paged:                          # U-mode, identity-mapped pages without A/D bits yet
        pt = PageTables(bus)
        for page in range(0, 0x8000, 0x1000):
            pt.map(RAM_BASE + page, RAM_BASE + page, R | X | U | A)
        for page in range(0x20000, 0x24000, 0x1000):
            pt.map(RAM_BASE + page, RAM_BASE + page, R | W | U)
        h.write_csr(C.SATP, pt.satp)
        h.set_priv(0)
    return h


def _state(h):
    return list(h.x), h.pc, h.instret, h.priv, bytes(h.bus.ram)


def assert_same(words, regs, data, budgets, paged=False, between=None):
    fast = _hart(words, regs, data, True, paged)
    slow = _hart(words, regs, data, False, paged)
    for i, budget in enumerate(budgets):
        if between is not None and i:
            between(fast), between(slow)
        assert fast.run(budget) == slow.run(budget)
        assert _state(fast) == _state(slow), f"after piece {i} ({budget})"
    return fast


budgets = st.lists(st.integers(1, 30_000), min_size=1, max_size=4)
size_of = {"sb": 1, "sh": 2, "sw": 4, "sd": 8, "lbu": 1, "lhu": 2, "lwu": 4, "ld": 8, "lb": 1, "lw": 4}


@settings(max_examples=60, deadline=None)
@given(store=st.sampled_from(["sb", "sh", "sw", "sd"]), down=st.booleans(), start=st.integers(0, 0x3000),
       count=st.integers(1, 3000), value=st.integers(0, (1 << 64) - 1), before=st.booleans(),
       compare=st.sampled_from(["bne", "bltu"]), budgets=budgets, paged=st.booleans())
def test_fill_loops(store, down, start, count, value, before, compare, budgets, paged):
    size = size_of[store]
    step = -size if down else size
    start -= start % size if start % 3 else 0              # mostly aligned, sometimes not
    first = DATA + start + (count * size if down else 0) - (size if down else 0)
    end = first + count * step
    if before:                                             # pointer moves before the store
        body = [asm("addi", rd=P, rs1=P, imm=step), asm(store, rs1=P, rs2=V, imm=-step)]
    else:
        body = [asm(store, rs1=P, rs2=V, imm=0), asm("addi", rd=P, rs1=P, imm=step)]
    if compare == "bltu" and not down:
        back = asm("bltu", rs1=P, rs2=E, imm=-8)
    else:
        back = asm("bne", rs1=P, rs2=E, imm=-8)
    assert_same(body + [back], {P: first, E: end, V: value}, bytes(range(256)) * 64, budgets, paged)


@settings(max_examples=50, deadline=None)
@given(load=st.sampled_from(["lbu", "lb", "lhu", "lw", "lwu", "ld"]), down=st.booleans(),
       src=st.integers(0, 0x1800), dst=st.integers(0, 0x1800), count=st.integers(1, 1500), budgets=budgets)
def test_copy_loops(load, down, src, dst, count, budgets):
    size = size_of[load]
    store = {1: "sb", 2: "sh", 4: "sw", 8: "sd"}[size]
    step = -size if down else size
    s0 = DATA + src + (count - 1) * size * down
    d0 = DATA + 0x1800 + dst + (count - 1) * size * down if dst % 2 else DATA + dst + (count - 1) * size * down
    body = [asm(load, rd=T, rs1=P, imm=0), asm(store, rs1=Q, rs2=T, imm=0),
            asm("addi", rd=P, rs1=P, imm=step), asm("addi", rd=Q, rs1=Q, imm=step),
            asm("bne", rs1=P, rs2=E, imm=-16)]
    data = bytes((i * 7 + 3) & 0xFF for i in range(0x4000))
    assert_same(body, {P: s0, Q: d0, E: s0 + count * step}, data, budgets)


@settings(max_examples=40, deadline=None)
@given(start=st.integers(0, 0x3000), zero_at=st.integers(0, 0x1000), budgets=budgets, signed=st.booleans())
def test_strlen_scans(start, zero_at, budgets, signed):
    # loop: lbu t,0(p); beqz t, out; addi p,p,1; j loop; out: (ebreak)
    body = [asm("lb" if signed else "lbu", rd=T, rs1=P, imm=0), asm("beq", rs1=T, rs2=0, imm=12),
            asm("addi", rd=P, rs1=P, imm=1), asm("jal", rd=0, imm=-12)]
    data = bytearray(b"\x80\x01" * 0x2000)
    if start + zero_at < len(data):
        data[start + zero_at] = 0
    assert_same(body, {P: DATA + start}, bytes(data), budgets)


@settings(max_examples=20, deadline=None)
@given(value=st.integers(0, 3), budgets=budgets)
def test_spin_waits(value, budgets):
    body = [asm("lw", rd=T, rs1=P, imm=0), asm("bne", rs1=T, rs2=0, imm=-4)]
    h = assert_same(body, {P: DATA + 8}, value.to_bytes(4, "little") * 4, budgets)
    if value:
        assert h.pc in (RAM_BASE, RAM_BASE + 4)            # still spinning


def _memset(n, value=0x41):
    """xv6's memset shape: sb / addi / bne, three instructions a byte."""
    words = [asm("sb", rs1=P, rs2=V, imm=0), asm("addi", rd=P, rs1=P, imm=1), asm("bne", rs1=P, rs2=E, imm=-8)]
    return words, {P: DATA, E: DATA + n, V: value}


def test_memset_runs_in_bulk_and_exactly():
    words, regs = _memset(0x4000)
    before = dict(accel.stats)
    h = assert_same(words, regs, b"", [100, 20_000, 5, 3 * 0x4000 - 20_105])
    assert h.pc == RAM_BASE + 12 and h.instret == 3 * 0x4000
    assert accel.stats["rounds"] - before["rounds"] > 0x3000   # most rounds ran in bulk


def test_interrupt_arriving_mid_loop():
    words, regs = _memset(0x4000)

    def raise_timer(h):
        h.mie = C.MTIP
        h.mstatus |= C.MS_MIE
        h.set_pending(C.MTIP, True)
    h = assert_same(words, regs, b"", [10_001, 5_000], between=raise_timer)
    assert h.pc == HANDLER and h.mcause == (1 << 63) | 7 and h.mepc == RAM_BASE + 4 * (10_001 % 3)


def test_watched_pc_inside_a_memset_sees_every_round():
    words, regs = _memset(0x800)
    seen = {}
    for accelerate in (True, False):
        h = _hart(words, regs, b"", accelerate)
        log = seen[accelerate] = []
        h.on_watch = lambda hart, pc, log=log: log.append((pc, hart.instret, hart.x[P]))
        h.watch_pcs = {RAM_BASE + 4}                         # the addi
        h.run(3 * 0x800)
    assert seen[True] == seen[False] and len(seen[True]) == 0x800


def test_data_watch_inside_a_memset_sees_every_store():
    words, regs = _memset(0x3000)
    seen = {}
    for accelerate in (True, False):
        h = _hart(words, regs, b"", accelerate)
        h.run(40)
        log = seen[accelerate] = []
        h.code_cache.set_data_watch(frozenset({(DATA >> 12) + 1}),
                                    on_store=lambda page, h=h, log=log: log.append((page, h.instret)))
        h.run(0x3000 * 3 - 40)
        assert h.pc == RAM_BASE + 12
    assert seen[True] == seen[False] and len(seen[True]) == 0x1000


def test_switch_off():
    words, regs = _memset(0x1000)
    before = accel.stats["rounds"]
    h = _hart(words, regs, b"", False)
    h.run(0x3000)
    assert accel.stats["rounds"] == before and h.pc == RAM_BASE + 12


@settings(max_examples=30, deadline=None)
@given(value=st.sampled_from([0, 0x4141414141414141, 0x0102030405060708]), unroll=st.integers(2, 8),
       count=st.integers(1, 200), gap=st.booleans(), budgets=budgets)
def test_unrolled_fills(value, unroll, count, gap, budgets):
    # the bundled kernel's page clearing: unroll x sd per round, pointer += 8 * unroll
    stride = 8 * unroll + (8 if gap else 0)
    body = [asm("sd", rs1=P, rs2=V, imm=8 * i) for i in range(unroll)]
    body += [asm("addi", rd=P, rs1=P, imm=stride), asm("bltu", rs1=P, rs2=E, imm=-4 * (unroll + 1))]
    assert_same(body, {P: DATA, E: DATA + count * stride, V: value}, b"\x55" * 0x4000, budgets)


# --- spin-waits that plain affine plans do not cover (spin_plan) ----------------------------

C_ = 15                                # a register carried from round to round


def spins(P=P, Q=Q, V=V, T=T):         # noqa: N803 (registers, as above)
    return {
        # xv6's main(): while(started == 0) ;  -- lw, sext.w, beqz
        "xv6-started": [asm("lw", rd=T, rs1=P, imm=0), asm("addiw", rd=T, rs1=T, imm=0),
                        asm("beq", rs1=T, rs2=0, imm=-8)],
        # xv6's acquire(): mv, amoswap.w, sext.w, bnez (a held lock gets 1 written over 1)
        "amoswap-acquire": [asm("addi", rd=Q, rs1=V, imm=0), asm("amoswap.w", rd=Q, rs1=P, rs2=Q),
                            asm("addiw", rd=Q, rs1=Q, imm=0), asm("bne", rs1=Q, rs2=0, imm=-12)],
        "amoor-doubleword": [asm("amoor.d", rd=T, rs1=P, rs2=V), asm("andi", rd=T, rs1=T, imm=1),
                             asm("bne", rs1=T, rs2=0, imm=-8)],
        # a side exit, and the back jump a j
        "side-exit": [asm("lw", rd=T, rs1=P, imm=0), asm("andi", rd=T, rs1=T, imm=2),
                      asm("bne", rs1=T, rs2=0, imm=8), asm("jal", rd=0, imm=-12)],
        # a store in the loop: exact only while it writes what is there
        "store-and-poll": [asm("sw", rs1=Q, rs2=V, imm=0), asm("lw", rd=T, rs1=P, imm=0),
                           asm("addiw", rd=T, rs1=T, imm=0), asm("beq", rs1=T, rs2=0, imm=-12)],
        # a register carried from round to round: not taken for a spin (it would settle after 64)
        "settling": [asm("lw", rd=T, rs1=P, imm=0), asm("slli", rd=C_, rs1=C_, imm=1),
                     asm("addiw", rd=T, rs1=T, imm=0), asm("beq", rs1=T, rs2=0, imm=-12)],
    }


SPINS = spins()


@settings(max_examples=50, deadline=None)
@given(shape=st.sampled_from(sorted(SPINS)), word=st.sampled_from([0, 1, 2, 3, 1 << 32]),
       value=st.sampled_from([0, 1, 2]), same=st.booleans(), budgets=budgets,
       irq=st.booleans())
def test_spin_shapes(shape, word, value, same, budgets, irq):
    data = word.to_bytes(8, "little") + (value if same else 7).to_bytes(4, "little")

    def raise_timer(h):                # an interrupt due between two pieces: mid-spin
        h.mie = C.MTIP
        h.mstatus |= C.MS_MIE
        h.set_pending(C.MTIP, True)
    assert_same(SPINS[shape], {P: DATA, Q: DATA + 8, V: value, C_: 0xF0}, data, budgets,
                between=raise_timer if irq else None)


def test_xv6_spins_run_in_bulk():
    # other registers than above: blocks of their own, whose tries are not rationed yet
    fresh = spins(P=5, Q=6, V=7, T=9)
    for shape, data, regs in (("xv6-started", b"\0" * 8, {5: DATA}),
                              ("amoswap-acquire", b"\1" + b"\0" * 7, {5: DATA, 7: 1})):
        before = accel.stats["rounds"]
        # the first piece fills the TLB and makes the block hot; later ones spin in bulk
        h = assert_same(fresh[shape], regs, data, [30_000, 30_000, 29_999])
        n = len(fresh[shape])
        assert h.instret == 89_999 and RAM_BASE <= h.pc < RAM_BASE + 4 * n, shape
        assert accel.stats["rounds"] - before > 50_000 // n, shape     # nearly all in bulk


def test_spin_on_a_free_lock_takes_it_once():
    h = assert_same(SPINS["amoswap-acquire"], {P: DATA, V: 1}, b"\0" * 8, [5_000])
    assert h.mepc == RAM_BASE + 16 and h.bus.ram[DATA - RAM_BASE] == 1     # left, to the ebreak


def test_data_watch_on_a_spun_word_sees_every_load():
    seen = {}
    words = spins(P=5, Q=6, V=7, T=9)["amoswap-acquire"]
    for accelerate in (True, False):
        h = _hart(words, {5: DATA, 7: 1}, b"\1" + b"\0" * 7, accelerate)
        h.run(20_000)                                       # hot, TLB filled
        log = seen[accelerate] = []
        h.code_cache.set_data_watch(frozenset({DATA >> 12}),
                                    on_store=lambda page, h=h, log=log: log.append(("store", h.instret)),
                                    on_load=lambda hart, paddr, size, log=log: log.append(("load", hart.instret)))
        h.run(4_000)
        assert h.instret == 24_000
    assert seen[True] == seen[False] and len(seen[True]) == 2 * 1_000      # each amoswap: load and store


def test_loops_that_compute_are_not_taken_for_spins():
    from rvtrace.cpu.decode import decode

    def planned(words):
        return accel.plan([(RAM_BASE + 4 * i, w, decode(w)) for i, w in enumerate(words)])
    assert planned(SPINS["xv6-started"])[0] == "spin"
    assert planned(SPINS["amoswap-acquire"])[0] == "spin"
    assert planned(SPINS["settling"]) is None                     # a register carried over
    digits = [asm("divu", rd=P, rs1=P, rs2=V), asm("bne", rs1=P, rs2=0, imm=-4)]
    assert planned(digits) is None                                 # no memory waited on
