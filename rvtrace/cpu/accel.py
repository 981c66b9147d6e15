"""Loop acceleration: tight loops run as one bulk operation, with every count exact.

A block that ends by branching back to its start (a loop, see emitter.py) is
examined once, when it is translated. If its body is made only of additions
of registers and constants (addi, add, sub, lui), at most one store, loads,
and branches, `plan()` describes it as plain data: each register's value in
round j is an affine function of j (induction registers add a constant each
round; invariants are not written), each access's address too. That covers
byte and word memset, memcpy/memmove loops, strlen-like scans and spin-waits
on a RAM word. Spin-waits of other shapes -- a sign extension of the loaded
word (xv6's `while(started == 0)`), an AMO that writes back what is there
(xv6's acquire() on a held lock) -- are planned by `spin_plan()` (below): a
round that leaves the registers as it found them and writes nothing new is
the same in every round, so one checked round stands for all of them.

At run time, at the top of a round, `bulk()` works out how many whole rounds
k can run without anything observable happening inside them, performs them
at once, and returns the registers and budget exactly as k rounds would have
left them. k is bounded by:
  - the budget: k rounds plus one more must fit (the machine caps budgets at
    the next timer deadline and device completion, and the replay's stop
    points are budgets, so no interrupt can become pending inside);
  - pages: every access of the k rounds stays in pages with the TLB entry of
    its first one (in the hart's read TLB for loads, write TLB for stores;
    with paging off, entries for the next pages are made as the first access
    to them would, Mmu.bare_fill). Pages
    that are MMIO, hold translated code or page tables, or are watched by
    the replay (data watch) never have TLB entries, so those accesses take
    the normal path; a TLB hit also means the A/D bits are already set;
  - the loop's own branches: no side exit is taken and the back branch is
    taken in every one of the k rounds;
  - overlap: the store's bytes and the loads' bytes of the k rounds are
    disjoint (else the order of rounds would matter), and no register wraps
    around 2**64 where that would break the affine form.
A block whose first pc is watched does not loop (each round must be seen),
and blocks stop before any other watched pc, so no bulk skips a watched pc.
If k is too small to be worth it, bulk() returns None and the round runs
normally. RVTRACE_ACCEL=off (or Hart.accel = False) turns it off.
"""

from __future__ import annotations

from rvtrace.cpu.semantics import RUNTIME, SEMANTICS

M64 = (1 << 64) - 1
MIN_ROUNDS = 16          # below this, a call to bulk() costs more than it saves
stats = {"bulks": 0, "rounds": 0, "spins": 0}    # for tests and benchmarks (spins: SpinWait bulks)
_COND = {"beq": "eq", "bne": "ne", "blt": "lt", "bge": "ge", "bltu": "ltu", "bgeu": "geu"}
_NEGATE = {"eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "ltu": "geu", "geu": "ltu"}


# --- recognising a loop ------------------------------------------------------------------
#
# Symbolic values: ("aff", ((reg, coef), ...), add)  = sum(coef * reg at round start) + add
#                  ("mem", access index)             = what that load read this round

def _aff(terms: dict, add: int) -> tuple:
    return ("aff", tuple(sorted((r, c) for r, c in terms.items() if c)), add)


def _combine(a, b, sign: int):
    if a[0] != "aff" or b[0] != "aff":
        return None
    terms = dict(a[1])
    for r, c in b[1]:
        terms[r] = terms.get(r, 0) + sign * c
    return _aff(terms, a[2] + sign * b[2])


def plan(insns) -> tuple | None:
    """A bulk plan for the loop trace [(pc, bits, insn)] (its last instruction branches
    back to the first), or None if the body is not of the supported kind."""
    state: dict[int, tuple] = {}
    accesses, branches = [], []

    def val(r):
        if r == 0:
            return ("aff", (), 0)
        return state.get(r, ("aff", ((r, 1),), 0))

    last = len(insns) - 1
    for idx, (pc, bits, insn) in enumerate(insns):
        if insn is None:
            return None
        sem = SEMANTICS[insn.name]
        name = insn.name
        if sem.kind == "load" or sem.kind == "store":
            base = val(insn.rs1)
            if base[0] != "aff":
                return spin_plan(insns)
            if sem.kind == "load":
                accesses.append(("load", base, insn.imm, sem.size, sem.signed, None))
                if insn.rd:
                    state[insn.rd] = ("mem", len(accesses) - 1)
            else:
                accesses.append(("store", base, insn.imm, sem.size, False, val(insn.rs2)))
        elif sem.kind == "branch":
            cond = _COND[name]
            a, b = val(insn.rs1), val(insn.rs2)
            # what must hold for the loop to go on: the back branch taken, side exits not
            branches.append((cond if idx == last else _NEGATE[cond], a, b))
        elif sem.kind == "jump" and idx == last and not sem.reads and not insn.rd:
            pass                                # j back to the start: always taken
        elif name in ("addi", "add", "sub", "lui"):
            if name == "addi":
                v = _combine(val(insn.rs1), ("aff", (), insn.imm), 1)
            elif name == "lui":
                v = ("aff", (), insn.imm)
            else:
                v = _combine(val(insn.rs1), val(insn.rs2), 1 if name == "add" else -1)
            if v is None:
                return spin_plan(insns)
            if insn.rd:
                state[insn.rd] = v
        else:
            return spin_plan(insns)
    return _finish(len(insns), state, accesses, branches) or spin_plan(insns)


def _finish(n, state, accesses, branches):
    stores = [a for a in accesses if a[0] == "store"]
    if len(stores) > 1 and any(a[5][0] != "aff" for a in stores):
        return None                             # several stores: fills only (unrolled memset)
    step = {}                                   # induction register -> its per-round delta
    for r, v in state.items():
        if v[0] == "aff" and v[1] == ((r, 1),):
            step[r] = v[2]
    temps = [r for r in state if r not in step]

    def ok(v) -> bool:                          # depends only on inductions and invariants
        if v[0] == "mem":
            return True
        return all(r in step or r not in state for r, _ in v[1])

    syms = [a[1] for a in accesses] + [a[5] for a in stores] + [b[1] for b in branches] \
        + [b[2] for b in branches] + [state[r] for r in temps]
    if not all(ok(v) for v in syms):
        return None
    for a in stores:
        value = a[5]
        if value[0] == "mem":
            if accesses[value[1]][3] != a[3]:
                return None                     # a copy moves whole loaded values only
        elif _step(value, step) != 0:
            return None                         # a fill stores the same value every round
    regs = sorted({r for v in syms for r, _ in (v[1] if v[0] == "aff" else ())} | set(state))
    return (n, tuple(regs), tuple(sorted(step.items())), tuple(accesses), tuple(branches),
            tuple((r, state[r]) for r in temps))


def _step(v, step: dict) -> int:
    return sum(c * step.get(r, 0) for r, c in v[1])


# --- running k rounds at once ------------------------------------------------------------

def Plan(p):                                    # noqa: N802 (the name emitted blocks call)
    """A plan() prepared for running; the blocks make one of these when defined."""
    return SpinWait(p) if p[0] == "spin" else Rounds(p)


class Rounds:
    """An affine plan() prepared for running: registers by position, each affine
    value's per-round step worked out once."""
    __slots__ = ("n", "steps", "accesses", "branches", "ends", "nregs", "misses", "skip")

    def __init__(self, p):
        n, regs, steps, accesses, branches, temps = p
        pos = {r: i for i, r in enumerate(regs)}
        delta = dict(steps)

        def prep(v):
            if v is None or v[0] == "mem":
                return v
            return ("aff", tuple((pos[r], c) for r, c in v[1]), v[2], sum(c * delta.get(r, 0) for r, c in v[1]))

        self.n, self.nregs = n, len(regs)
        self.misses = self.skip = 0             # a loop that rarely has many rounds to do is
                                                # tried less often (either way is exact)
        self.steps = tuple((pos[r], d) for r, d in steps)
        self.accesses = tuple((kind, prep(base), imm, size, signed, prep(value))
                              for kind, base, imm, size, signed, value in accesses)
        self.branches = tuple((cond, prep(a), prep(b)) for cond, a, b in branches)
        self.ends = tuple((pos[r], prep(v)) for r, v in temps)

    def run(self, h, R, W, ram, left: int, vals: tuple):
        """Run as many whole rounds as is exact; (left, new register values) or None."""
        if self.skip:
            self.skip -= 1
            return None
        out = self._run(h, R, W, ram, left, vals)
        if out is None:
            self.misses += 1
            if self.misses >= 4:
                self.misses, self.skip = 0, 64
        else:
            self.misses = 0
        return out

    def _run(self, h, R, W, ram, left: int, vals: tuple):
        n = self.n
        k = (left - n) // n                     # one round must still fit after the bulk
        if k < MIN_ROUNDS:
            return None

        def at0(v):                             # (value in round 0, per-round step), unmasked
            t = v[1]
            if len(t) == 1:
                return t[0][1] * vals[t[0][0]] + v[2], v[3]
            return sum(c * vals[i] for i, c in t) + v[2], v[3]

        spans = []                              # per access: (ram index in round 0, step, size, signed)
        for kind, base, imm, size, signed, value in self.accesses:
            v0, s = at0(base)
            v0 &= M64
            if s > 0:                           # the base register must not wrap
                k = min(k, (M64 - v0) // s + 1)
            elif s < 0:
                k = min(k, v0 // -s + 1)
            a0 = v0 + imm
            o, k = _reach(h, kind == "store", W if kind == "store" else R, a0, s, size, k)
            if o is None:
                return None                     # MMIO, watched, code, not yet mapped: the normal path
            spans.append((o + a0, s, size, signed))
        if k < MIN_ROUNDS:
            return None
        for cond, a, b in self.branches:
            k = min(k, _first_failure(cond, a, b, k, at0, spans, ram))
            if k < MIN_ROUNDS:
                return None
        if not _disjoint(self.accesses, spans, k):
            return None
        stores = [(spans[i], a[5]) for i, a in enumerate(self.accesses) if a[0] == "store"]
        if len(stores) > 1:
            if not _uniform_fills(stores, k, at0, ram):
                return None
        elif stores:
            _store(ram, stores[0][0], stores[0][1], k, at0, spans)
        stats["bulks"] += 1
        stats["rounds"] += k
        out = list(vals)
        for i, d in self.steps:
            out[i] = (vals[i] + k * d) & M64
        for i, v in self.ends:
            out[i] = _value(v, k - 1, at0, spans, ram)
        return left - k * n, tuple(out)


def _reach(h, store: bool, tlb, a0: int, s: int, size: int, k: int):
    """(TLB delta of a0's page, rounds <= k whose accesses a0 + j*s all fall in pages
    with that same delta -- RAM contiguous with it -- without straddling a page).
    A later page not in the TLB yet is filled when that has no other effect
    (Mmu.bare_fill: no paging, RAM, not watched), as its first access would."""
    o = tlb.get(a0 >> 12)
    off = a0 & 0xFFF
    if o is None or off + size > 0x1000:
        return o, 0
    if s == 0:
        return o, k
    rounds = (0x1000 - size - off) // s + 1 if s > 0 else off // -s + 1
    if rounds >= k or 0x1000 % abs(s) or not (size == 1 or (a0 % size == 0 and s % size == 0)):
        return o, min(rounds, k)
    page, per_page, direction = a0 >> 12, 0x1000 // abs(s), 1 if s > 0 else -1
    while rounds < k:                           # every page holds the same number of rounds
        page += direction
        d = tlb.get(page)
        if d is None:
            d = h.bare_fill(page, store)
        if d != o:
            break
        rounds += per_page
    return o, min(rounds, k)


def _value(v, j, at0, spans, ram) -> int:
    """A symbolic value in round j, as the register would hold it."""
    if v[0] == "aff":
        v0, s = at0(v)
        return (v0 + j * s) & M64
    i0, s, size, signed = spans[v[1]]
    i = i0 + j * s
    x = int.from_bytes(ram[i:i + size], "little")
    if signed and x >> (8 * size - 1):
        x |= M64 ^ ((1 << 8 * size) - 1)
    return x


def _holds(cond, x, y) -> bool:
    if cond == "eq":
        return x == y
    if cond == "ne":
        return x != y
    if cond == "ltu":
        return x < y
    if cond == "geu":
        return x >= y
    x, y = x ^ (1 << 63), y ^ (1 << 63)          # signed as unsigned with the sign bit flipped
    return x < y if cond == "lt" else x >= y


def _first_failure(cond, a, b, k, at0, spans, ram) -> int:
    """The first round j < k in which (cond a b) does not hold; k if it holds in all."""
    def holds(j):
        return _holds(cond, _value(a, j, at0, spans, ram), _value(b, j, at0, spans, ram))

    if a[0] == "aff" and b[0] == "aff":
        (a0, sa), (b0, sb) = at0(a), at0(b)
        a0, b0 = a0 & M64, b0 & M64
        # both sides affine without wrapping: a condition flips at most once, (in)equality
        # holds at most at one round
        for v0, s in ((a0, sa), (b0, sb)):
            k = min(k, _no_wrap(v0, s, cond in ("lt", "ge")))
        if k <= 0:
            return 0
        if cond in ("eq", "ne"):
            d0, ds = a0 - b0, sa - sb
            if ds == 0:
                return k if holds(0) else 0
            if (-d0) % ds == 0 and 0 <= -d0 // ds < k:
                j = -d0 // ds                   # the one round where they are equal
                return j if cond == "ne" else (1 if j == 0 else 0)
            return k if cond == "ne" else 0
        if not holds(0):
            return 0
        lo, hi = 0, k                           # holds(lo); hi fails or is k
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if holds(mid):
                lo = mid
            else:
                hi = mid
        return hi
    # a loaded value: scan (bytes.find for a byte compared with a constant)
    steps = [at0(v)[1] if v[0] == "aff" else spans[v[1]][1] for v in (a, b)]
    if steps == [0, 0]:
        return k if holds(0) else 0             # nothing changes from round to round
    mem, other = (a, b) if a[0] == "mem" else (b, a)
    i0, s, size, signed = spans[mem[1]]
    if size == 1 and s == 1 and other[0] == "aff" and at0(other)[1] == 0 and cond in ("eq", "ne"):
        c = _value(other, 0, at0, spans, ram)
        if signed:
            byte = c if c < 0x80 else (c & 0xFF if c >= M64 - 0x7F else None)
        else:
            byte = c if c <= 0xFF else None
        if cond == "ne":                        # goes on while the byte differs
            j = -1 if byte is None else ram.find(bytes([byte]), i0, i0 + k)
            return k if j < 0 else j - i0
        if byte is None:
            return 0
        return next((j for j in range(k) if ram[i0 + j] != byte), k)
    for j in range(k):
        if not holds(j):
            return j
    return k


def _no_wrap(v0: int, s: int, signed: bool) -> int:
    """Rounds for which v0 + j*s stays inside one half (signed) or the whole unsigned range."""
    lo, hi = (0, 1 << 63) if signed and v0 < 1 << 63 else ((1 << 63, 1 << 64) if signed else (0, 1 << 64))
    if s > 0:
        return (hi - 1 - v0) // s + 1
    if s < 0:
        return (v0 - lo) // -s + 1
    return 1 << 62


def _disjoint(accesses, spans, k) -> bool:
    """The store's bytes over k rounds do not meet any load's bytes."""
    ranges = []
    for (kind, *_), (i0, s, size, _) in zip(accesses, spans):
        lo, hi = (i0, i0 + (k - 1) * s + size) if s >= 0 else (i0 + (k - 1) * s, i0 + size)
        ranges.append((kind, lo, hi))
    stores = [(lo, hi) for kind, lo, hi in ranges if kind == "store"]
    return all(hi <= slo or shi <= lo for slo, shi in stores for kind, lo, hi in ranges if kind == "load")


def _uniform_fills(stores, k, at0, ram) -> bool:
    """Several fill stores a round (an unrolled memset): done at once when every byte
    they write is the same, so the order of the stores cannot matter. False if not."""
    byte = None
    ranges = []
    for (i0, s, size, _), value in stores:
        pattern = (at0(value)[0] & ((1 << 8 * size) - 1)).to_bytes(size, "little")
        if pattern.count(pattern[0]) != size or byte not in (None, pattern[0]):
            return False
        byte = pattern[0]
        ranges.append((i0, s, size))
    merged = sorted((i0 if s >= 0 else i0 + (k - 1) * s, i0 + (k - 1) * s + size if s >= 0 else i0 + size)
                    for i0, s, size in ranges)
    steps = {s for _, s, _ in ranges}
    cover = sorted(i0 for i0, _, _ in ranges)
    size = ranges[0][2]
    if len(steps) == 1 and all(r[2] == size for r in ranges) \
            and [c - cover[0] for c in cover] == [size * i for i in range(len(cover))] \
            and abs(next(iter(steps))) == size * len(cover):
        lo, hi = merged[0][0], max(h for _, h in merged)       # together they tile one range
        ram[lo:hi] = bytes([byte]) * (hi - lo)
        return True
    for i0, s, size in ranges:
        for j in range(k):
            ram[i0 + j * s:i0 + j * s + size] = bytes([byte]) * size
    return True


def _store(ram, span, value, k, at0, spans) -> None:
    i0, s, size, _ = span
    if value[0] == "aff":                       # fill: the same bytes every round
        v0, _ = at0(value)
        pattern = (v0 & ((1 << 8 * size) - 1)).to_bytes(size, "little")
        if s == size or s == -size:
            lo = i0 if s > 0 else i0 + (k - 1) * s
            ram[lo:lo + k * size] = pattern * k
        elif s == 0:
            ram[i0:i0 + size] = pattern
        else:
            for j in range(k):
                ram[i0 + j * s:i0 + j * s + size] = pattern
        return
    li0, ls, lsize, _ = spans[value[1]]          # copy: the loaded bytes, round by round
    if s == ls and s in (size, -size):
        lo, llo = (i0, li0) if s > 0 else (i0 + (k - 1) * s, li0 + (k - 1) * s)
        ram[lo:lo + k * size] = ram[llo:llo + k * size]
    elif s == 0:
        j = k - 1
        ram[i0:i0 + size] = ram[li0 + j * ls:li0 + j * ls + size]
    else:
        for j in range(k):
            ram[i0 + j * s:i0 + j * s + size] = ram[li0 + j * ls:li0 + j * ls + size]


# --- spin-waits --------------------------------------------------------------------------
#
# A loop that only reads memory, computes from what it read and from registers, and
# writes nothing new (an AMO or a store that puts back the bytes already there: amoswap
# of 1 onto a held lock) cannot change anything another round would see: while this
# hart runs, no other party writes RAM (one hart runs at a time; devices write RAM
# only by DMA at the completions that end a budget). So if one round, run from the
# registers a round leaves, leaves them unchanged and goes round again, every later
# round does the same, and k rounds leave exactly what one round leaves.

_SPIN_NS = {
    "M": M64, "S": 1 << 63,
    "SX32": lambda e: ((e + 0x80000000 & 0xFFFFFFFF) + 0xFFFFFFFF80000000) & M64,
    "S32": lambda e: (e + 0x80000000 & 0xFFFFFFFF) - 0x80000000,
    "S64": lambda e: (e ^ (1 << 63)) - (1 << 63),
    **RUNTIME,
}


def spin_plan(insns) -> tuple | None:
    """A plan for a loop that waits on memory, or None. Its body: loads or AMOs, pure
    register operations, branches, and stores (which, as the AMOs, must turn out to
    write what is there); no register carries a value from one round into the next
    (each one the round reads, it has written first, or never writes). Loops that
    compute (a digit loop, a checksum) are left alone: they are not worth a try."""
    body, regs, written, read_first, waits = [], set(), set(), set(), False
    last = len(insns) - 1
    for idx, (pc, bits, insn) in enumerate(insns):
        if insn is None:
            return None
        sem = SEMANTICS[insn.name]
        pure_op = sem.kind == "op" and not sem.hart and sem.fast in ("fold", None)
        if not (sem.kind in ("load", "store", "branch") or sem.fast == "amo" or pure_op
                or (sem.kind == "jump" and idx == last and not sem.reads and not insn.rd)):
            return None
        waits = waits or sem.kind == "load" or sem.fast == "amo"
        read_first |= {getattr(insn, r) for r in sem.reads} - written
        if sem.writes_rd and insn.rd and sem.kind != "jump":
            written.add(insn.rd)
        if sem.kind != "jump":
            regs |= {r for r in (insn.rd, insn.rs1, insn.rs2) if r}
        body.append((insn.name, insn.rd, insn.rs1, insn.rs2, insn.imm, pc, insn.length, idx == last))
    if not waits or read_first & written:
        return None
    return ("spin", tuple(sorted(regs)), len(insns), tuple(body))


def _spin_round_source(regs, body) -> str:
    """Python source of `spin(ram, R, W, v)`: one round from register values v (in the
    order of regs) through the TLBs, returning the values it leaves, or None if the
    round would leave the loop, write something new, or need the hart's slow path."""
    names = "".join(f"r{r}, " for r in regs)
    out = ["def spin(ram, R, W, v):", f"    ({names}) = v"]
    for name, rd, rs1, rs2, imm, pc, length, last in body:
        sem = SEMANTICS[name]
        a, b, d = (f"r{rs1}" if rs1 else "0"), (f"r{rs2}" if rs2 else "0"), (f"r{rd}" if rd else "_")
        size, mask = sem.size, (1 << 8 * sem.size) - 1
        if sem.kind == "load":
            sign = ", signed=True" if sem.signed else ""
            out += [f"a = {a} + ({imm})", "o = R.get(a >> 12)",
                    f"if o is None or (a & 0xFFF) > {0x1000 - size}: return None",
                    f"{d} = int.from_bytes(ram[o + a:o + a + {size}], 'little'{sign}) & M"]
        elif sem.kind == "store":
            out += [f"a = {a} + ({imm})", "o = W.get(a >> 12)",
                    f"if o is None or (a & 0xFFF) > {0x1000 - size}: return None",
                    f"if int.from_bytes(ram[o + a:o + a + {size}], 'little') != {b} & {mask:#x}: return None"]
        elif sem.fast == "amo":
            result = "SX32(t)" if size == 4 else "t"
            out += [f"a = {a}", "o = W.get(a >> 12)", f"if o is None or a & {size - 1}: return None",
                    f"t = int.from_bytes(ram[o + a:o + a + {size}], 'little')",
                    f"if {sem.amo_fn}(t, {b} & {mask:#x}, {size}) & {mask:#x} != t: return None",
                    f"{d} = {result}"]
        elif sem.kind == "branch":
            cond = sem.code.format(rs1=a, rs2=b)
            out.append(f"if not ({cond}): return None" if last else f"if {cond}: return None")
        elif sem.kind == "op" and sem.code:
            out += sem.code.format(rd=d, rs1=a, rs2=b, imm=f"({imm})", pc=hex(pc),
                                   npc=hex((pc + length) & M64)).splitlines()
    out = out[:2] + ["    " + line for line in out[2:]]
    return "\n".join(out + [f"    return ({names})"]) + "\n"


class SpinWait:
    """A spin_plan() prepared for running: its round compiled once.

    Most entries into a spin loop leave after one round (acquire() finds the lock
    free), so a fresh entry is not tried: run() then returns the budget and registers
    unchanged, the round runs normally, and the next round's call -- the loop went
    round, something is being waited for -- tries."""
    __slots__ = ("n", "round", "misses", "skip", "hart", "next_left")

    def __init__(self, p):
        _, regs, self.n, body = p
        scope = dict(_SPIN_NS)
        exec(compile(_spin_round_source(regs, body), "<spin-wait>", "exec"), scope)
        self.round = scope["spin"]
        self.misses = self.skip = 0
        self.hart, self.next_left = None, None      # where the next round of this entry starts

    def run(self, h, R, W, ram, left: int, vals: tuple):
        """Run as many whole rounds as is exact; (left, new register values), or None:
        no bulk in this block call."""
        n = self.n
        if self.hart is not h or self.next_left != left:
            self.hart, self.next_left = h, left - n
            return left, vals                   # a fresh entry: nothing done, ask again
        self.hart = None
        if self.skip:                           # a loop that is rarely a spin: try less often
            self.skip -= 1
            return None
        k = (left - n) // n                     # one round must still fit after the bulk
        if k >= MIN_ROUNDS:
            once = self.round(ram, R, W, vals)
            # a turn that starts inside a spin starts at its fixed point: one round shows it
            if once is not None and (once == vals or self.round(ram, R, W, once) == once):
                self.misses = 0
                stats["bulks"] += 1
                stats["spins"] += 1
                stats["rounds"] += k
                return left - k * n, once
        self.misses += 1
        if self.misses >= 4:
            self.misses, self.skip = 0, 16
        return None
