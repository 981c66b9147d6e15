"""The block translator and the one-instruction-at-a-time executor agree.

Random programs of ALU, M, W, compressed, load/store and forward-branch
instructions run twice from the same state: once as translated blocks
(`run(N)`), once stepped (`run(1)` N times: one-instruction blocks, no
constant folding, no side exits). Registers, memory and pc must match.
"""

from hypothesis import given, settings
from hypothesis import strategies as st
from cpuutil import RAM_BASE, RamBus, asm, code, make_hart

DATA = RAM_BASE + 0x8000          # x10 points here and is never written
REGS = [0, 1, 2, 3, 5, 8, 9, 11, 12, 15]
CREGS = [8, 9, 11, 12, 15]        # compressed 3-bit register fields

R_OPS = ["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and", "addw", "subw", "sllw",
         "srlw", "sraw", "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu", "mulw", "divw",
         "divuw", "remw", "remuw"]
I_OPS = ["addi", "slti", "sltiu", "xori", "ori", "andi", "addiw"]
SH_OPS = ["slli", "srli", "srai"]
SHW_OPS = ["slliw", "srliw", "sraiw"]
LOADS = ["lb", "lh", "lw", "ld", "lbu", "lhu", "lwu"]
STORES = ["sb", "sh", "sw", "sd"]

reg = st.sampled_from(REGS)
creg = st.sampled_from(CREGS)
imm12 = st.integers(-2048, 2047)
offset = st.integers(0, 2040)

insn = st.one_of(
    st.builds(lambda n, d, a, b: asm(n, rd=d, rs1=a, rs2=b), st.sampled_from(R_OPS), reg, reg, reg),
    st.builds(lambda n, d, a, i: asm(n, rd=d, rs1=a, imm=i), st.sampled_from(I_OPS), reg, reg, imm12),
    st.builds(lambda n, d, a, i: asm(n, rd=d, rs1=a, imm=i), st.sampled_from(SH_OPS), reg, reg,
              st.integers(0, 63)),
    st.builds(lambda n, d, a, i: asm(n, rd=d, rs1=a, imm=i), st.sampled_from(SHW_OPS), reg, reg,
              st.integers(0, 31)),
    st.builds(lambda d, i: asm("lui", rd=d, imm=i << 12), reg, st.integers(-(1 << 19), (1 << 19) - 1)),
    st.builds(lambda d, i: asm("auipc", rd=d, imm=i << 12), reg, st.integers(-8, 8)),
    st.builds(lambda n, d, o: asm(n, rd=d, rs1=10, imm=o), st.sampled_from(LOADS), reg, offset),
    st.builds(lambda n, s, o: asm(n, rs1=10, rs2=s, imm=o), st.sampled_from(STORES), reg, offset),
    st.builds(lambda d, i: asm("c.addi", rd=d, imm=i), st.sampled_from(REGS[1:]), st.integers(-32, 31)),
    st.builds(lambda d, i: asm("c.li", rd=d, imm=i), st.sampled_from(REGS[1:]), st.integers(-32, 31)),
    st.builds(lambda n, d, s: asm(n, rdp=d, rs2p=s), st.sampled_from(["c.sub", "c.xor", "c.or", "c.and",
                                                                      "c.subw", "c.addw"]), creg, creg),
    st.builds(lambda d, s: asm("c.add", rd=d, rs2=s), st.sampled_from(REGS[1:]), st.sampled_from(REGS[1:])),
    # forward branches over the next instruction: side exits of the trace
    st.builds(lambda n, a, b: asm(n, rs1=a, rs2=b, imm=8), st.sampled_from(
        ["beq", "bne", "blt", "bge", "bltu", "bgeu"]), reg, reg),
)


def _state(h):
    return list(h.x), h.pc, bytes(h.bus.ram[DATA - RAM_BASE:DATA - RAM_BASE + 4096])


def _fresh(words, seed_regs, data):
    bus = RamBus()
    bus.put(DATA, data)
    h = make_hart(words, bus=bus)
    for r, v in seed_regs.items():
        h.x[r] = v
    h.x[10] = DATA
    return h


def _branch_padded(words: list) -> list:
    """The words with a 4-byte nop after each branch: the generated branches' imm=8 skips it."""
    program = []
    for w in words:
        program.append(w)
        if w & 0x7F == 0x63:
            program.append(asm("addi", rd=0, rs1=0, imm=0))
    return program


@settings(max_examples=60, deadline=None)
@given(st.lists(insn, min_size=1, max_size=40),
       st.dictionaries(st.sampled_from(REGS[1:]), st.integers(0, (1 << 64) - 1)),
       st.binary(min_size=256, max_size=256))
def test_blocks_and_single_steps_agree(words, seed_regs, data):
    program = _branch_padded(words)
    tail = RAM_BASE + len(code(program))
    spin = asm("jal", rd=0, imm=0)
    program.append(spin)
    n = len(program) - 1
    fast = _fresh(program, seed_regs, data)
    slow = _fresh(program, seed_regs, data)
    retired = fast.run(n)
    stepped = sum(slow.run(1) for _ in range(n))
    assert retired == stepped == n
    assert _state(fast) == _state(slow)
    assert fast.pc <= tail + 4


def _loop_program():
    # x5 counts down from 10; each round: a load, a store, an add, a side exit when x6 hits 7
    return [
        asm("ld", rd=7, rs1=10, imm=0),              # 0  loop:
        asm("add", rd=7, rs1=7, rs2=5),              # 4
        asm("sd", rs1=10, rs2=7, imm=0),             # 8
        asm("addi", rd=6, rs1=6, imm=1),             # 12
        asm("beq", rs1=6, rs2=8, imm=16),            # 16 side exit to 32 (x6 == 7)
        asm("addi", rd=5, rs1=5, imm=-1),            # 20
        asm("bne", rs1=5, rs2=0, imm=-24),           # 24 back to loop
        asm("jal", rd=0, imm=0),                     # 28 done: spin
        asm("addi", rd=9, rs1=9, imm=1),             # 32 exit path
        asm("jal", rd=0, imm=-32),                   # 36 back to loop
    ]


def test_looping_blocks_count_exactly_under_every_budget():
    words = _loop_program()
    ref = _fresh(words, {5: 10, 8: 7}, bytes(256))
    states = [_state(ref)]
    for _ in range(80):
        ref.run(1)
        states.append(_state(ref))
    for budget in (1, 2, 3, 5, 7, 13, 40, 80):
        h = _fresh(words, {5: 10, 8: 7}, bytes(256))
        done = 0
        while done < 80:
            step = min(budget, 80 - done)
            assert h.run(step) == step
            done += step
            assert _state(h) == states[done], (budget, done)


@settings(max_examples=60, deadline=None)
@given(st.lists(insn, min_size=1, max_size=40),
       st.dictionaries(st.sampled_from(REGS[1:]), st.integers(0, (1 << 64) - 1)),
       st.binary(min_size=256, max_size=256))
def test_cold_steps_and_translated_blocks_agree(words, seed_regs, data):
    """cold.py's pre-decoded steps do what the translation does."""
    program = _branch_padded(words)
    program.append(asm("jal", rd=0, imm=0))
    n = len(program) - 1
    cold, hot = _fresh(program, seed_regs, data), _fresh(program, seed_regs, data)
    cold.hot_after, hot.hot_after = 10 ** 9, 0
    assert cold.run(n) == hot.run(n) == n
    assert _state(cold) == _state(hot)


def test_a_cold_loop_turns_hot_and_counts_exactly():
    words = _loop_program()
    for hot_after in (10 ** 9, 1, 3, 0):
        h = _fresh(words, {5: 10, 8: 7}, bytes(256))
        h.hot_after = hot_after
        for _ in range(16):
            h.run(5)
        ref = _fresh(words, {5: 10, 8: 7}, bytes(256))
        for _ in range(80):
            ref.run(1)
        assert _state(h) == _state(ref) and h.instret == 80


def _length(word: int) -> int:
    return 4 if word & 3 == 3 else 2


def _if_else(branch: str, a: int, b: int, fall: list[int], taken: list[int]) -> list[int]:
    """`branch a, b` to the taken side; the fall-through side ends with a j over it
    (no j when the taken side is empty: an if without else)."""
    fall_bytes = sum(map(_length, fall)) + (4 if taken else 0)
    out = [asm(branch, rs1=a, rs2=b, imm=4 + fall_bytes), *fall]
    if taken:
        out.append(asm("jal", rd=0, imm=4 + sum(map(_length, taken))))
    return out + taken


straight = st.lists(insn.filter(lambda w: w & 0x7F != 0x63), min_size=0, max_size=5)
if_else = st.builds(_if_else, st.sampled_from(["beq", "bne", "blt", "bge", "bltu", "bgeu"]), reg, reg,
                    straight.filter(bool), straight)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(insn.filter(lambda w: w & 0x7F != 0x63).map(lambda w: [w]), if_else),
                min_size=1, max_size=12),
       st.dictionaries(st.sampled_from(REGS[1:]), st.integers(0, (1 << 64) - 1)),
       st.binary(min_size=256, max_size=256), st.sampled_from([1, 2, 3, 5, 8, 1000]))
def test_if_else_blocks_agree_with_steps_under_every_budget(parts, seed_regs, data, budget):
    """Both sides of a branch that meet again run inside one block (an if/else);
    state and count equal single-stepping however the budget cuts the run."""
    program = [w for part in parts for w in part]
    program.append(asm("jal", rd=0, imm=0))
    stepped = _fresh(program, seed_regs, data)
    n = 0
    while stepped.pc != RAM_BASE + sum(map(_length, program[:-1])):
        assert stepped.run(1) == 1 and n < len(program)
        n += 1
    for hot_after in (0, 10 ** 9):
        h = _fresh(program, seed_regs, data)
        h.hot_after = hot_after
        done = 0
        while done < n:
            done += h.run(min(budget, n - done))
        assert _state(h) == _state(stepped) and h.instret == n


def test_an_else_placed_before_the_branch_runs_in_the_block():
    """gcc's layout: the taken side sits before the branch and falls into the join,
    the fall-through side jumps back to it. A loop round holds both sides."""
    words = [
        asm("addi", rd=9, rs1=9, imm=3),             # 0  taken side: x9 += 3
        asm("add", rd=7, rs1=7, rs2=9),              # 4  join: x7 += x9
        asm("addi", rd=5, rs1=5, imm=-1),            # 8
        asm("beq", rs1=5, rs2=0, imm=24),            # 12 done -> 36
        asm("andi", rd=6, rs1=5, imm=1),             # 16 loop start (entered at 16)
        asm("bne", rs1=6, rs2=0, imm=-20),           # 20 odd: taken side at 0
        asm("addi", rd=9, rs1=9, imm=-1),            # 24 fall side: x9 -= 1
        asm("jal", rd=0, imm=-24),                   # 28 to the join at 4
        asm("jal", rd=0, imm=0),                     # 32
        asm("jal", rd=0, imm=0),                     # 36 done: spin
    ]
    ref = _fresh(words, {5: 40}, bytes(256))
    ref.pc = RAM_BASE + 16
    states = [_state(ref)]
    while ref.pc != RAM_BASE + 36:
        assert ref.run(1) == 1 and len(states) < 400
        states.append(_state(ref))
    total = len(states) - 1
    for budget in (1, 2, 3, 4, 7, 13, 1000):
        h = _fresh(words, {5: 40}, bytes(256))
        h.pc, h.hot_after = RAM_BASE + 16, 0
        done = 0
        while done < total:
            step = min(budget, total - done)
            assert h.run(step) == step
            done += step
            assert _state(h) == states[done], (budget, done)
    assert any("else:" in b.source for b in h.code_cache.blocks.values())


doubleword = st.builds(lambda n, r, o: asm(n, rd=r, rs1=2, imm=o) if n == "ld" else asm(n, rs1=2, rs2=r, imm=o),
                       st.sampled_from(["ld", "sd"]), st.sampled_from([1, 3, 5, 8, 9]),
                       st.sampled_from([-16, -8, 0, 8, 16, 24]))


base_step = st.builds(lambda i: asm("addi", rd=2, rs1=2, imm=i), st.sampled_from([-16, -4, 8, 2040]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(doubleword, doubleword, base_step,   # other instructions leave the base (x2) alone
                          insn.filter(lambda w: w & 0x7F != 0x63 and (w >> 7) & 31 != 2)),
                min_size=2, max_size=16),
       st.sampled_from([0, 8, 4, 16, 4080, 4088, 4092]), st.binary(min_size=256, max_size=256),
       st.sampled_from([1, 3, 1000]))
def test_doubleword_groups_agree_with_steps(words, base, data, budget):
    """Doublewords off one base register share one page-and-alignment check: with a
    base that is misaligned, or whose accesses straddle a page, each takes its
    own path. State and count equal single-stepping."""
    program = words + [asm("jal", rd=0, imm=0)]
    n = len(words)

    def state(h):
        lo = DATA - RAM_BASE - 4096
        return list(h.x), h.pc, bytes(h.bus.ram[lo:lo + 3 * 4096])
    harts = []
    for hot_after in (None, 0):
        h = _fresh(program, {2: DATA + base}, data)
        if hot_after is None:
            done = sum(h.run(1) for _ in range(n))
        else:
            h.hot_after = hot_after
            done = 0
            while done < n:
                done += h.run(min(budget, n - done))
        assert done == n
        harts.append(h)
    assert state(harts[0]) == state(harts[1])


def _array_walk(stride: int, by_register: bool) -> list[int]:
    """A loop whose doubleword group's base walks an array (x10 += stride, an immediate
    or x7), 40 rounds."""
    return [
        asm("ld", rd=6, rs1=10, imm=0),              # 0
        asm("addi", rd=6, rs1=6, imm=1),             # 4
        asm("sd", rs1=10, rs2=6, imm=0),             # 8
        asm("sd", rs1=10, rs2=5, imm=8),             # 12
        asm("add", rd=10, rs1=10, rs2=7) if by_register else asm("addi", rd=10, rs1=10, imm=stride),  # 16
        asm("addi", rd=5, rs1=5, imm=-1),            # 20
        asm("bne", rs1=5, rs2=0, imm=-24),           # 24 back to 0
        asm("jal", rd=0, imm=0),                     # 28 done: spin
    ]


def test_a_walking_group_base_checks_each_page_it_enters():
    """A looping block remembers what its group check found in a page (the rounds
    left there for a base stepped by a multiple of 8, else the range of bases
    that pass); the base leaving that page (into a page stores must not reach
    directly: one the replay watches), or leaving alignment, takes the full check
    again. State, the watch's calls and every count equal single-stepping."""
    for stride, by_register in ((8, False), (4, False), (-8, False), (16, False), (8, True), (4, True)):
        start = DATA - 20 * stride                   # the walk crosses into the watched page
        results = []
        for budget in (None, 1000, 7, 3):
            h = _fresh(_array_walk(stride, by_register), {5: 40, 6: 0, 7: stride}, bytes(256))
            h.x[10] = start
            seen = []
            h.code_cache.set_data_watch(frozenset({DATA >> 12}), on_store=lambda page: seen.append(page))
            done = 0
            while done < 7 * 40:
                done += h.run(1 if budget is None else min(budget, 7 * 40 - done))
            lo = start - RAM_BASE - 4096
            results.append((list(h.x), h.pc, bytes(h.bus.ram[lo:lo + 3 * 4096]), len(seen)))
            if budget == 1000:
                # the check's form: rounds left in the page, a range of bases, the same base
                form = "== c0" if by_register else "l0 <= " if stride % 8 else "if k0:"
                assert any(form in b.source for b in h.code_cache.blocks.values())
        assert all(r == results[0] for r in results), stride
        into_watched = sum(DATA >> 12 in ((a + off) >> 12, (a + off + 7) >> 12)
                           for a in range(start, start + 40 * stride, stride) for off in (0, 8))
        assert results[0][3] == into_watched > 0
