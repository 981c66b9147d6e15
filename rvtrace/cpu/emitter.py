"""The emitter: Python source for a trace of decoded guest instructions.

A block's function looks like this:

    def blk(h, x, ram, R, W, left):  # hart, registers, RAM, read/write TLBs, budget
        r10 = x[10]; r11 = x[11]     # guest registers used, as locals
        try:
            ...one snippet per instruction...
        except BaseException:        # a trap or an MMIO exit: the registers so far
            x[10] = r10; x[11] = r11
            raise
        x[10] = r10; x[11] = r11
        h._left = left - n           # the budget after this block
        return <next pc>

What to emit for each instruction comes from the instruction table's
metadata (semantics.Sem: registers read, whether rd is written, whether the
hart is called, which inline fast path applies), never from its name.
A trace that ends by branching back to its start runs round after round in
one call, and a loop the accelerator recognises (accel.py) first runs as
many whole rounds as it can in bulk.
"""

from __future__ import annotations

import re
import struct

from rvtrace.cpu import accel
from rvtrace.cpu import decode as dec
from rvtrace.cpu.csr import MS_MXR, MS_SIE, MS_SUM, SSTATUS, SSTATUS_READABLE, SSTATUS_WRITABLE
from rvtrace.cpu.groups import DoublewordGroups
from rvtrace.cpu.semantics import RUNTIME, SEMANTICS
from rvtrace.cpu.signals import MmioExit, Resync, Trap

MAX_BLOCK = 32
M64 = (1 << 64) - 1

_LOADS = {  # (size, signed) -> how the fast path reads RAM at index `o + a`
    (1, False): "ram[o + a]",
    (1, True): "LB(ram, o + a)[0] & 0xFFFFFFFFFFFFFFFF",
    (2, False): "LHU(ram, o + a)[0]",
    (2, True): "LH(ram, o + a)[0] & 0xFFFFFFFFFFFFFFFF",
    (4, False): "LWU(ram, o + a)[0]",
    (4, True): "LW(ram, o + a)[0] & 0xFFFFFFFFFFFFFFFF",
    (8, False): "LD(ram, o + a)[0]",
}
_STORES = {
    1: "ram[o + a] = {v} & 0xFF",
    2: "SH(ram, o + a, {v} & 0xFFFF)",
    4: "SW(ram, o + a, {v} & 0xFFFFFFFF)",
    8: "SD(ram, o + a, {v})",
}

GLOBALS = {
    "LB": struct.Struct("<b").unpack_from, "LH": struct.Struct("<h").unpack_from,
    "LHU": struct.Struct("<H").unpack_from, "LW": struct.Struct("<i").unpack_from,
    "LWU": struct.Struct("<I").unpack_from, "LD": struct.Struct("<Q").unpack_from,
    "SH": struct.Struct("<H").pack_into, "SW": struct.Struct("<I").pack_into,
    "SD": struct.Struct("<Q").pack_into,
    "Resync": Resync, "MmioExit": MmioExit, "Trap": Trap, "PLAN": accel.Plan,
    **RUNTIME,
}


# --- snippet expansion ------------------------------------------------------------

_MACROS = {
    # low 32 bits, sign-extended, as an unsigned 64-bit value
    "SX32": "((({0}) + 0x80000000 & 0xFFFFFFFF) + 0xFFFFFFFF80000000 & 0xFFFFFFFFFFFFFFFF)",
    "S32": "((({0}) + 0x80000000 & 0xFFFFFFFF) - 0x80000000)",
    "S64": "((({0}) ^ 0x8000000000000000) - 0x8000000000000000)",
}
_MACRO_RE = re.compile(r"\b(SX32|S32|S64)\(")


def _expand_macros(code: str) -> str:
    while True:
        m = _MACRO_RE.search(code)
        if not m:
            return code
        depth, i = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(code[i], 0)
            i += 1
        inner = code[m.end():i - 1]
        code = code[:m.start()] + _MACROS[m.group(1)].format(inner) + code[i:]


def _constants(code: str) -> str:
    code = re.sub(r"\bM\b", "0xFFFFFFFFFFFFFFFF", code)
    return re.sub(r"\bS\b", "0x8000000000000000", code)


_PEEPHOLE = [   # adding zero to a register needs no wrap-around mask (mv, addi rd, rs, 0; jr / ret)
    (re.compile(r"\((r\d+) \+ \(0\)\) & 0xFFFFFFFFFFFFFFFF$"), r"\1"),
    (re.compile(r"\((r\d+) \+ \(0\)\) & 0xFFFFFFFFFFFFFFFE$"), r"\1 & 0xFFFFFFFFFFFFFFFE"),
    # Adding a constant, subtracting: wrap around only when the result left 0..2**64-1.
    # A comparison costs about half an `&` that allocates a new 64-bit int.
    # Two statements, the second one line: no conditional expression, walrus or jump
    # over its other arm on the common path (3 bytecodes of 11 fewer).
    (re.compile(r"^(\w+) = \((r\d+) \+ \((\d+)\)\) & 0xFFFFFFFFFFFFFFFF$"),
     lambda m: f"{m[1]} = {m[2]} + {m[3]}\nif {m[1]} > 0xFFFFFFFFFFFFFFFF: {m[1]} -= 0x10000000000000000"),
    (re.compile(r"^(\w+) = \((r\d+) \+ \(-(\d+)\)\) & 0xFFFFFFFFFFFFFFFF$"),
     lambda m: f"{m[1]} = {m[2]} - {m[3]}\nif {m[1]} < 0: {m[1]} += 0x10000000000000000"),
    (re.compile(r"^(\w+) = \((\w+) - (\w+)\) & 0xFFFFFFFFFFFFFFFF$"),
     lambda m: f"{m[1]} = {m[2]} - {m[3]}\nif {m[1]} < 0: {m[1]} += 0x10000000000000000"),
    (re.compile(r"\(0 \+ (r\d+)\) & 0xFFFFFFFFFFFFFFFF$"), r"\1"),
    (re.compile(r"\((r\d+) \+ 0\) & 0xFFFFFFFFFFFFFFFF$"), r"\1"),
]


_CONST_WRITE = re.compile(r"( *)(r\d+) = (0x[0-9a-fA-F]+|\d+)$")
_DEAD = re.compile(r"_ = (0x[0-9a-fA-F]+|\d+)$")


def _peephole(line: str) -> str:
    for pattern, repl in _PEEPHOLE:
        line = pattern.sub(repl, line)
    return line


def _reg(n: int) -> str:
    return f"r{n}" if n else "0"


class _Arm:
    """The state of an if/else while its sides are emitted (see _Emitter.add)."""

    def __init__(self, fall: int, taken: int, const: dict, start: int):
        self.fall, self.taken, self.start = fall, taken, start   # start: its first line
        self.fall_left, self.taken_left = fall, taken
        self.const = dict(const)              # what was known at the branch
        self.fall_const: dict = {}


class _Emitter(DoublewordGroups):
    """Generates the body of one block (a trace: see read_block)."""

    def __init__(self, symbolic_pc: bool = False, accelerate: bool = False, diamonds=None):
        # symbolic_pc: the code reads its pc from the parameter `pc` instead of
        # embedding it, so one compiled code object serves every address
        # (one-instruction steps, see translate_single).
        self.symbolic = symbolic_pc
        self.accelerate = accelerate              # loops recognised by accel.plan run in bulk
        self.insns: list = []
        self.plan = None                          # the accel.plan of a loop, if any
        self.lines: list[str] = []
        self.used: set[int] = set()
        self.written: list[int] = []              # in order of first write
        self.const: dict[int, int] = {}           # registers whose value is known here
        self.next_expr: str | None = None         # the last instruction's next-pc expression
        self.branch = None                        # (cond, target, fallthrough) of a final branch
        self.jump_target = None                   # target of a final jal
        self.exits: list[list[int]] = []          # registers written before each side exit
        self.kind = "fall"
        self.diamonds = diamonds or {}            # branch index -> (fall side, taken side) lengths
        self.arm: _Arm | None = None              # the if/else being emitted
        self.q = self.l = False                   # uses Q, L: RAM as doublewords, words (mmu.ram_words)
        self.groups: dict[int, tuple] = {}        # doubleword accesses sharing one check
        self._group_mark = 0
        self._group_fast: list[str] = []          # fast accesses under the open group's `else:`
        self._group_end = -1                      # len(self.lines) just after them
        self._next_group = 0
        self._checks: list[tuple] = []            # (group id, address, page-offset limit, kinds, base)

    def _src(self, r: int) -> str:
        if r == 0:
            return "0"
        if r in self.const:
            return hex(self.const[r])
        return f"r{r}"

    def snippet(self, insn: dec.Insn, pc: int, idx: int, sem, rd_name=None) -> list[str]:
        rd = insn.rd
        fields = {
            "rd": rd_name or (f"r{rd}" if rd else "_"),
            "rs1": self._src(insn.rs1), "rs2": self._src(insn.rs2),
            "imm": f"({insn.imm})", "csr": str(insn.csr), "idx": str(idx),
            "pc": self._pc(pc), "npc": self._pc(pc, insn.length),
            "rd_nonzero": str(rd != 0), "rs1_nonzero": str(insn.rs1 != 0),
            "imm_nonzero": str(insn.imm != 0), "bits": hex(insn.bits),
        }
        code = _constants(_expand_macros(sem.code.format(**fields)))
        # a constant written to x0 (the link of j and ret) is no work at all
        return [part for line in code.splitlines() if not _DEAD.match(line)
                for part in _peephole(line).split("\n")]

    def _pc(self, pc: int, plus: int = 0) -> str:
        """The expression for pc + plus (an address)."""
        if self.symbolic:
            return f"((pc + {plus}) & 0xFFFFFFFFFFFFFFFF)" if plus else "pc"
        return hex((pc + plus) & M64)

    def _write(self, r: int, value: int | None) -> None:
        if r == 0:
            return
        if r not in self.written:
            self.written.append(r)
        self.used.add(r)
        if value is None:
            self.const.pop(r, None)
        else:
            self.const[r] = value

    def writeback(self, regs=None) -> str:
        regs = self.written if regs is None else regs
        return "; ".join(f"x[{r}] = r{r}" for r in regs) or "pass"

    def add(self, insn: dec.Insn | None, bits: int, pc: int, idx: int, last: bool) -> None:
        arm = self.arm
        mark = len(self.lines)
        self._add(insn, bits, pc, idx, last)
        if arm is not None:
            self.lines[mark:] = ["    " + line for line in self.lines[mark:]]
            self._arm_step(arm)

    # An if/else (read_block's diamonds): the trace holds the branch, its
    # fall-through side (f instructions), then its taken side (t), then the code
    # where they meet. Every instruction keeps its index in the trace (traps and
    # MMIO exits find their pc as b.pcs[idx]), so the instructions retired
    # before index i are i minus the instructions of the side not run: the
    # side that runs adds the other side's length to `left`, and `left - idx`
    # stays the exact budget everywhere.
    #
    #     if not (cond):      # fall-through side
    #         ...
    #         left += t
    #     else:
    #         left += f
    #         ...
    def _arm_step(self, arm: _Arm) -> None:
        if arm.fall_left:
            arm.fall_left -= 1
            if arm.fall_left:
                return
            if arm.taken:
                self.lines.append(f"    left += {arm.taken}")
            elif len(self.lines) == arm.start:
                self.lines.append("    pass")               # a side that does nothing (nops)
            self.lines += ["else:", f"    left += {arm.fall}"]
            arm.fall_const, self.const = self.const, dict(arm.const)
            if arm.taken:
                return
        else:
            arm.taken_left -= 1
            if arm.taken_left:
                return
        # where the sides meet, a register is known only if both sides agree on it
        self.const = {r: v for r, v in arm.fall_const.items() if self.const.get(r) == v}
        self.arm = None

    def _add(self, insn: dec.Insn | None, bits: int, pc: int, idx: int, last: bool) -> None:
        self.insns.append((pc, bits, insn))
        if insn is None:
            self.lines += ["h._left = left", f"h.illegal({bits:#x}, {idx})"]
            self.kind = "trap"
            return
        sem = SEMANTICS[insn.name]
        self._note_reads(insn, sem)
        if sem.kind == "load":
            self._load(insn, sem, idx)
        elif sem.kind == "store":
            self._store(insn, sem, idx)
        elif sem.kind == "branch":
            self._branch(insn, sem, pc, idx, last)
        elif sem.fast == "amo":
            self._amo(insn, sem, idx)
        elif sem.kind == "op":
            self._op(insn, sem, pc, idx)
        elif sem.fast == "sstatus" and insn.csr == SSTATUS:
            self._sstatus(insn, sem, pc, idx)
        else:
            lines = self.snippet(insn, pc, idx, sem)
            if lines and lines[-1].startswith("return "):
                ret = lines.pop()[len("return "):]
                if not last and sem.kind == "jump" and not sem.hart:
                    lines = self._followed_jump(lines)
                if last:
                    self.next_expr = ret
                    if sem.link and not sem.reads and not self.symbolic:     # jal
                        self.jump_target = (pc + insn.imm) & M64
                    elif sem.kind == "jump" and insn.rs1 in self.const and not self.symbolic:
                        self.jump_target = (self.const[insn.rs1] + insn.imm) & M64 & ~1   # a known return
            if sem.hart:
                self.lines.append("h._left = left")
                if self.written:    # observers (on_xret, on_satp) must see current registers
                    self.lines.append(self.writeback())
            self.lines.extend(lines)
            if sem.writes_rd:
                link = (pc + insn.length) & M64 if sem.link and not self.symbolic else None
                self._write(insn.rd, link)
            if sem.kind == "csr":           # go on, unless the write needs a fresh look at the state
                self.lines.append(f"if h._resync: raise Resync({self._pc(pc, insn.length)})")
            elif last or sem.kind != "jump":
                self.kind = sem.kind

    @staticmethod
    def _followed_jump(lines: list[str]) -> list[str]:
        """A jump the trace follows: its target is known, so only the link write
        is left (none for a plain j)."""
        return [line for line in lines if not line.startswith(("t = ", "_ = "))]

    def _note_reads(self, insn, sem) -> None:
        for name in sem.reads:
            r = insn.rs1 if name == "rs1" else insn.rs2
            if r and r not in self.const:
                self.used.add(r)

    def _op(self, insn, sem, pc, idx) -> None:
        if not sem.code:
            return                                           # fence: nothing to do
        pure = sem.fast == "fold" and not (self.symbolic and sem.uses_pc)
        reads = [insn.rs1 if name == "rs1" else insn.rs2 for name in sem.reads]
        if pure and all(r == 0 or r in self.const for r in reads):
            scope = {}
            for line in self.snippet(insn, pc, idx, sem, rd_name="_v"):
                exec(line, dict(GLOBALS), scope)             # fold: every input is known
            if insn.rd:
                self.lines.append(f"r{insn.rd} = {scope['_v']:#x}")
                self._write(insn.rd, scope["_v"])
            return
        if not pure:
            self.lines.append("h._left = left")
        self.lines.extend(self.snippet(insn, pc, idx, sem))
        self._write(insn.rd, None)

    def _sstatus(self, insn, sem, pc, idx) -> None:
        """sstatus, inline: kernels read and write it around every lock.

        The fast path handles S/M mode when the write changes neither SUM/MXR
        (translation) nor turns SIE on (an interrupt could become takeable);
        everything else takes csr_op, the one full definition."""
        dest = f"r{insn.rd}" if insn.rd else "_"
        imm_form = sem.csr_imm
        v = str(insn.imm) if imm_form else self._src(insn.rs1)
        writes = sem.csr_op == "rw" or (insn.imm if imm_form else insn.rs1) != 0
        new = {"rw": v, "rs": f"t | {v}", "rc": f"t & ~{v}"}[sem.csr_op]
        slow = self.snippet(insn, pc, idx, sem)
        if not writes:
            self.lines += ["if h.priv:", f"    {dest} = h.mstatus & {SSTATUS_READABLE:#x}", "else:",
                           "    h._left = left"] + ["    " + line for line in slow]
        else:
            self.lines += [
                "t = h.mstatus",
                f"n = (t & {~SSTATUS_WRITABLE & M64:#x}) | (({new}) & {SSTATUS_WRITABLE:#x})",
                f"if h.priv and not (n ^ t) & {MS_SUM | MS_MXR:#x} and not n & ~t & {MS_SIE:#x}:",
                "    h.mstatus = n",
                f"    {dest} = t & {SSTATUS_READABLE:#x}",
                "else:",
                "    h._left = left",
            ] + ["    " + line for line in slow] + [
                f"    if h._resync: raise Resync({self._pc(pc, insn.length)})"]
        self._write(insn.rd, None)

    def _amo(self, insn, sem, idx) -> None:
        """An AMO: RAM through the write TLB inline, everything else via h.amo."""
        size = sem.size
        fn = sem.amo_fn
        dest = f"r{insn.rd}" if insn.rd else "_"
        src = self._src(insn.rs2)
        mask = "0xFFFFFFFF" if size == 4 else "0xFFFFFFFFFFFFFFFF"
        read = "LWU(ram, o + a)[0]" if size == 4 else "LD(ram, o + a)[0]"
        write = "SW" if size == 4 else "SD"
        result = "SX32(t)" if size == 4 else "t"
        self.lines += [
            f"a = {self._src(insn.rs1)}",
            "o = W.get(a >> 12)",
            f"if o is None or a & {size - 1}:",
            "    h._left = left",
            f"    {dest} = h.amo(a, {src}, {size}, {fn}, {idx})",
            "else:",
            f"    t = {read}",
            f"    {write}(ram, o + a, {fn}(t, {src} & {mask}, {size}) & {mask})",
            "    " + _constants(_expand_macros(f"{dest} = {result}")),
        ]
        self._write(insn.rd, None)

    def _branch(self, insn, sem, pc, idx, last) -> None:
        cond = self.snippet(insn, pc, idx, sem)[0]
        if idx in self.diamonds:
            self.lines.append(f"if not ({cond}):")
            self.arm = _Arm(*self.diamonds[idx], self.const, len(self.lines))
            return
        target = (pc + insn.imm) & M64
        fall = (pc + insn.length) & M64
        if last:
            self.next_expr = f"{self._pc(pc, insn.imm)} if {cond} else {self._pc(pc, insn.length)}"
            self.branch = None if self.symbolic else (cond, target, fall)
            self.kind = "branch"
            return
        self.exits.append(list(self.written))
        self.lines += [                                      # a side exit; the trace goes on
            f"if {cond}:",
            f"    @@WRITEBACK {len(self.exits) - 1}@@",
            f"    h._left = left - {idx + 1}",
            f"    return {target:#x}",
        ]

    def _address(self, insn) -> str:
        # No wrap-around mask: an address outside 0..2**64-1 misses the TLB and
        # the slow path (which masks) handles it.
        base = self._src(insn.rs1)
        if insn.rs1 == 0 or insn.rs1 in self.const:
            return f"a = {(int(base, 16) + insn.imm) & M64:#x}"
        return f"a = {base} + ({insn.imm})" if insn.imm else f"a = {base}"

    def _load(self, insn, sem, idx) -> None:
        size, signed = sem.size, sem.signed
        dest = f"r{insn.rd}" if insn.rd else "_"
        if size == 8:
            # doublewords and words through 64- and 32-bit views of RAM: an aligned
            # one never crosses a page; a misaligned one takes the slow path
            guard, fast = " or a & 7", "Q[(o + a) >> 3]"
            self.q = True
        elif size == 4:
            guard, fast = " or a & 3", "L[(o + a) >> 2]"
            if signed:
                fast = f"u if (u := {fast}) < 0x80000000 else u + 0xFFFFFFFF00000000"
            self.l = True
        else:
            guard = "" if size == 1 else f" or (a & 0xFFF) > {0x1000 - size}"
            fast = _LOADS[(size, signed)]
        self.lines += self._grouped(idx, f"{dest} = Q[qr + {{k}}]") + [
            self._address(insn),
            "o = R.get(a >> 12)",
            f"if o is None{guard}:",
            "    h._left = left",
            f"    {dest} = h.load(a & 0xFFFFFFFFFFFFFFFF, {size}, {signed}, {idx})",
            "    if h._exit: raise MmioExit()",
            "else:",
            f"    {dest} = {fast}",
        ]
        if idx in self.groups:
            self._indent_generic()
        self._write(insn.rd, None)

    def _store(self, insn, sem, idx) -> None:
        size = sem.size
        value = self._src(insn.rs2)
        if size == 8:
            guard, fast = " or a & 7", f"Q[(o + a) >> 3] = {value}"
            self.q = True
        elif size == 4:
            guard, fast = " or a & 3", f"L[(o + a) >> 2] = {value} & 0xFFFFFFFF"
            self.l = True
        else:
            guard = "" if size == 1 else f" or (a & 0xFFF) > {0x1000 - size}"
            fast = _STORES[size].format(v=value)
        self.lines += self._grouped(idx, f"Q[qw + {{k}}] = {value}") + [
            self._address(insn),
            "o = W.get(a >> 12)",
            f"if o is None{guard}:",
            "    h._left = left",
            f"    h.store(a & 0xFFFFFFFFFFFFFFFF, {size}, {value}, {idx})",
            "else:",
            "    " + fast,
        ]
        if idx in self.groups:
            self._indent_generic()

    def _loop_back(self, start: int) -> str | None:
        """If the trace ends by jumping back to its start, the condition for that."""
        if self.branch is not None and self.branch[1] == start:
            return self.branch[0]
        if self.kind == "jump" and self.jump_target == start:
            return "True"
        if self.kind == "jump" and self.jump_target is None and self.next_expr is not None:
            return f"{self.next_expr} == {start:#x}"     # an indirect jump, as a return to the start
        return None

    def _exit_pc(self) -> str:
        """Where a looping block goes when it does not go round again."""
        if self.branch is not None:
            return f"{self.branch[2]:#x}"
        if self.kind == "jump" and self.jump_target is None:
            return self.next_expr
        return "None"

    def _bulk(self, n: int) -> list[str]:
        """Lines that start a loop round by running as many rounds as accel.bulk can at once."""
        # (a trace with an if/else is not a straight-line loop body)
        p = self.plan = accel.plan(self.insns) if self.accelerate and not self.diamonds else None
        if p is None:
            return []
        regs = ", ".join(f"r{r}" for r in p[1]) + ("," if len(p[1]) == 1 else "")
        return [
            "_b = True",
            f"if _b and left >= {n * (accel.MIN_ROUNDS + 1)}:",
            f"    _t = _P.run(h, R, W, ram, left, ({regs}))",
            "    if _t is None:",
            "        _b = False",
            "    else:",
            f"        left, ({regs}) = _t",
        ]

    @staticmethod
    def _dead_constants(lines: list[str]) -> list[str]:
        """Drop `rN = <constant>` when the next line overwrites rN without reading it
        (auipc then the jalr's link: nothing between can see the first value)."""
        out = []
        for i, line in enumerate(lines):
            m = _CONST_WRITE.match(line)
            if m and i + 1 < len(lines):
                after = lines[i + 1]
                prefix = f"{m.group(1)}{m.group(2)} = "
                if after.startswith(prefix) and not re.search(rf"\b{m.group(2)}\b", after[len(prefix):]):
                    continue
            out.append(line)
        return out

    def source(self, name: str, n: int, start: int, fallthrough: int, may_loop: bool) -> str:
        self.lines = self._dead_constants(self.lines)
        load = "; ".join(["Q = h._ctx.q"] * self.q + ["L = h._ctx.l"] * self.l
                         + [f"r{r} = x[{r}]" for r in sorted(self.used)])
        back = self.writeback()
        loop = self._loop_back(start) if may_loop else None
        body = []
        forget = self._forget() if loop is not None else None
        for line in self.lines:
            pad = line[:len(line) - len(line.lstrip())]
            if line.strip().startswith("@@GROUP"):
                body += [pad + check for check in self._group_check(int(line.split()[1].rstrip("@")), bool(forget))]
                continue
            if forget and line.strip() == "h._left = left":
                body += [line, pad + forget]             # the hart may change the TLBs
                continue
            if line.strip().startswith("@@WRITEBACK"):
                k = int(line.split()[1].rstrip("@"))
                # in a loop every register may have changed in an earlier round
                line = line.replace(line.strip(), self.writeback(None if loop else self.exits[k]))
            body.append(line)
        if loop is not None:
            # A loop inside one Python call: round after round while the budget
            # holds a whole round (the dispatcher checked the first one).
            head = self._bulk(n)
            if forget:
                head = [h for line in head for h in ([line, "    " + forget] if "_P.run" in line else [line])]
            body = head[:1] + ["while True:"] + ["    " + line for line in head[1:] + body] + [
                f"    if {loop}:",
                f"        left -= {n}",
                f"        if left >= {n}:",
                "            continue",
                f"        _n = {start:#x}",
                "        break",
                f"    left -= {n}",
                f"    _n = {self._exit_pc()}",
                "    break",
            ]
        elif self.next_expr is not None:
            body.append(f"_n = {self.next_expr}")
        if not body:
            body = ["pass"]
        if forget:
            ranges = [f"l{c[0]} = 0" for c in self._checks if self._check_form(c[4])[0] != "count"]
            load = "; ".join(x for x in [forget] + ranges + [load] if x)
        extra = ", pc=0" if self.symbolic else ""
        if self.plan is not None:
            extra += f", _P=PLAN({self.plan!r})"         # prepared once, when the block is defined
        out = [f"def {name}(h, x, ram, R, W, left{extra}):"]
        if load:
            out.append("    " + load)
        out.append("    try:")
        out += ["        " + line for line in body]
        out += ["    except BaseException:", "        " + back, "        raise", "    " + back]
        if self.kind == "system":
            out.append("    raise Resync(_n)")
        elif self.kind == "trap":
            out.append("    raise AssertionError('unreachable: the instruction traps')")
        elif loop is not None:
            out.append("    h._left = left")
            out.append("    return _n")
        else:
            out.append(f"    h._left = left - {n}")
            if self.next_expr is not None:
                out.append("    return _n")
            elif self.symbolic:
                out.append(f"    return {self._pc(start, fallthrough - start)}")
            else:
                out.append(f"    return {fallthrough:#x}")
        return "\n".join(out) + "\n"


