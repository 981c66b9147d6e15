"""The block translator: basic blocks of guest code become Python functions.

A block is a run of instructions inside one page that ends at a branch, jump,
system instruction, trap, the page end or `MAX_BLOCK` instructions. Its
function is generated from the snippets in `semantics.py`:

    def blk(h, x, ram, R, W):        # hart, registers, RAM, read/write TLBs
        r10 = x[10]; r11 = x[11]     # guest registers used, as locals
        try:
            ...one snippet per instruction...
        except BaseException:        # a trap or an MMIO exit: the registers so far
            x[10] = r10; x[11] = r11
            raise
        x[10] = r10; x[11] = r11
        return <next pc>

The same generator with one-instruction blocks is the step-by-step executor
(used when the budget ends inside a block, and by the debugger's stepi).

Translations live in the `CodeCache`, shared by the harts of one machine and
keyed by (virtual pc, physical pc): the code embeds virtual pcs (auipc, link
registers, trap pcs), the physical address says which bytes were translated.
Stores to pages holding translations, DMA writes and fence.i drop them.
Compiled code is also kept by source text, in memory and on disk
(codestore.py), since compile() is the dearest step.
"""

from __future__ import annotations

import re
import struct
import types

from rvtrace.cpu import decode as dec
from rvtrace.cpu.codestore import compile_cached
from rvtrace.cpu.csr import MS_MXR, MS_SIE, MS_SUM, SSTATUS, SSTATUS_READABLE, SSTATUS_WRITABLE
from rvtrace.cpu.semantics import RUNTIME, SEMANTICS
from rvtrace.cpu.signals import MmioExit, Resync, Trap

MAX_BLOCK = 32
CODE_LINE = 6                   # Activity notes the code that ran by 64-byte lines
M64 = (1 << 64) - 1
TERMINATORS = {"branch", "jump", "system", "trap"}

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
    "Resync": Resync, "MmioExit": MmioExit, "Trap": Trap,
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


_PEEPHOLE = [   # adding zero to a register needs no wrap-around mask (mv, addi rd, rs, 0)
    (re.compile(r"\((r\d+) \+ \(0\)\) & 0xFFFFFFFFFFFFFFFF$"), r"\1"),
    (re.compile(r"\(0 \+ (r\d+)\) & 0xFFFFFFFFFFFFFFFF$"), r"\1"),
    (re.compile(r"\((r\d+) \+ 0\) & 0xFFFFFFFFFFFFFFFF$"), r"\1"),
]


def _peephole(line: str) -> str:
    for pattern, repl in _PEEPHOLE:
        line = pattern.sub(repl, line)
    return line


def _reg(n: int) -> str:
    return f"r{n}" if n else "0"


class _Emitter:
    """Generates the body of one block (a trace: see read_block)."""

    def __init__(self, symbolic_pc: bool = False):
        # symbolic_pc: the code reads its pc from the parameter `pc` instead of
        # embedding it, so one compiled code object serves every address
        # (one-instruction steps, see translate_single).
        self.symbolic = symbolic_pc
        self.lines: list[str] = []
        self.used: set[int] = set()
        self.written: list[int] = []              # in order of first write
        self.const: dict[int, int] = {}           # registers whose value is known here
        self.next_expr: str | None = None         # the last instruction's next-pc expression
        self.branch = None                        # (cond, target, fallthrough) of a final branch
        self.jump_target = None                   # target of a final jal
        self.exits: list[list[int]] = []          # registers written before each side exit
        self.kind = "fall"

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
        return [_peephole(line) for line in code.splitlines()]

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
        elif sem.kind == "op" and insn.name.startswith("amo"):
            self._amo(insn, sem, idx)
        elif sem.kind == "op":
            self._op(insn, sem, pc, idx)
        elif sem.kind == "csr" and insn.csr == SSTATUS:
            self._sstatus(insn, sem, pc, idx)
        else:
            lines = self.snippet(insn, pc, idx, sem)
            if lines and lines[-1].startswith("return "):
                ret = lines.pop()[len("return "):]
                if last:
                    self.next_expr = ret
                    if insn.name == "jal" and not self.symbolic:
                        self.jump_target = (pc + insn.imm) & M64
            if "h." in sem.code:
                self.lines.append("h._left = left")
                if self.written:    # observers (on_xret, on_satp) must see current registers
                    self.lines.append(self.writeback())
            self.lines.extend(lines)
            if "{rd}" in sem.code:
                link = (pc + insn.length) & M64 if insn.name in ("jal", "jalr") and not self.symbolic else None
                self._write(insn.rd, link)
            if sem.kind == "csr":           # go on, unless the write needs a fresh look at the state
                self.lines.append(f"if h._resync: raise Resync({self._pc(pc, insn.length)})")
            elif last or sem.kind != "jump":
                self.kind = sem.kind

    def _note_reads(self, insn, sem) -> None:
        code = sem.code
        for r, name in ((insn.rs1, "{rs1}"), (insn.rs2, "{rs2}")):
            if r and r not in self.const and (name in code or sem.kind in ("load", "store", "branch")):
                if name == "{rs2}" and sem.kind == "load":
                    continue
                self.used.add(r)

    def _op(self, insn, sem, pc, idx) -> None:
        if not sem.code:
            return                                           # fence: nothing to do
        pure = "h." not in sem.code and not (self.symbolic and "{pc}" in sem.code)
        reads = [r for r, name in ((insn.rs1, "{rs1}"), (insn.rs2, "{rs2}")) if name in sem.code]
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
        imm_form = insn.name.endswith("i")
        v = str(insn.imm) if imm_form else self._src(insn.rs1)
        writes = insn.name in ("csrrw", "csrrwi") or (insn.imm if imm_form else insn.rs1) != 0
        new = {"csrrw": v, "csrrs": f"t | {v}", "csrrc": f"t & ~{v}"}[insn.name.rstrip("i")]
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
        fn = re.search(r"AMO_\w+", sem.code).group(0)
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
        crossing = "" if size == 1 else f" or (a & 0xFFF) > {0x1000 - size}"
        self.lines += [
            self._address(insn),
            "o = R.get(a >> 12)",
            f"if o is None{crossing}:",
            "    h._left = left",
            f"    {dest} = h.load(a & 0xFFFFFFFFFFFFFFFF, {size}, {signed}, {idx})",
            "    if h._exit: raise MmioExit()",
            "else:",
            f"    {dest} = {_LOADS[(size, signed)]}",
        ]
        self._write(insn.rd, None)

    def _store(self, insn, sem, idx) -> None:
        size = sem.size
        value = self._src(insn.rs2)
        crossing = "" if size == 1 else f" or (a & 0xFFF) > {0x1000 - size}"
        self.lines += [
            self._address(insn),
            "o = W.get(a >> 12)",
            f"if o is None{crossing}:",
            "    h._left = left",
            f"    h.store(a & 0xFFFFFFFFFFFFFFFF, {size}, {value}, {idx})",
            "else:",
            "    " + _STORES[size].format(v=value),
        ]

    def _loop_back(self, start: int) -> str | None:
        """If the trace ends by jumping back to its start, the condition for that."""
        if self.branch is not None and self.branch[1] == start:
            return self.branch[0]
        if self.kind == "jump" and self.jump_target == start:
            return "True"
        return None

    def source(self, name: str, n: int, start: int, fallthrough: int, may_loop: bool) -> str:
        load = "; ".join(f"r{r} = x[{r}]" for r in sorted(self.used))
        back = self.writeback()
        loop = self._loop_back(start) if may_loop else None
        body = []
        for line in self.lines:
            if line.strip().startswith("@@WRITEBACK"):
                k = int(line.split()[1].rstrip("@"))
                # in a loop every register may have changed in an earlier round
                line = line.replace(line.strip(), self.writeback(None if loop else self.exits[k]))
            body.append(line)
        if loop is not None:
            # A loop inside one Python call: round after round while the budget
            # holds a whole round (the dispatcher checked the first one).
            body = ["while True:"] + ["    " + line for line in body] + [
                f"    if {loop}:",
                f"        left -= {n}",
                f"        if left >= {n}:",
                "            continue",
                f"        _n = {start:#x}",
                "        break",
                f"    left -= {n}",
                f"    _n = {self.branch[2]:#x}" if self.branch else "    _n = None",
                "    break",
            ]
        elif self.next_expr is not None:
            body.append(f"_n = {self.next_expr}")
        if not body:
            body = ["pass"]
        out = [f"def {name}(h, x, ram, R, W, left{', pc=0' if self.symbolic else ''}):"]
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


def _kind(insn: dec.Insn | None) -> str:
    return "trap" if insn is None else SEMANTICS[insn.name].kind


_decoded: dict[int, dec.Insn | None] = {}


def decode_cached(bits: int) -> dec.Insn | None:
    insn = _decoded.get(bits, False)
    if insn is False:
        insn = _decoded[bits] = dec.decode(bits)
    return insn


class Block:
    """A translated block: its function, length and the pc of each instruction."""
    __slots__ = ("fn", "n", "pcs", "ppages", "source")

    def __init__(self, fn, n, pcs, ppages, source):
        self.fn, self.n, self.pcs, self.ppages, self.source = fn, n, pcs, ppages, source


def read_block(hart, vpc: int, limit: int, stop_at=frozenset()):
    """Fetch and decode a trace of up to `limit` instructions from vpc; Trap if vpc cannot be fetched.

    The trace stays inside vpc's page. It runs on through conditional branches
    (their taken side becomes a side exit) and follows jal to targets in the
    same page it has not visited; it stops after jalr, system instructions,
    traps and a branch back to vpc (a loop), and before a pc in `stop_at`
    (watched pcs).
    Returns [(pc, bits, insn)], the physical pages read, the fallthrough pc.
    """
    ram = hart.ram
    first = hart.fetch_address(vpc)
    page = vpc >> 12
    page_end = (vpc | 0xFFF) + 1
    pc = vpc
    out, ppages, seen = [], {(first + hart.ram_base) >> 12}, set()
    while len(out) < limit and pc >> 12 == page and pc not in seen:
        if out and pc in stop_at:
            break
        i = first + (pc - vpc)
        lo = ram[i] | (ram[i + 1] << 8)
        if lo & 3 == 3:
            if pc + 2 >= page_end:                    # the instruction straddles two pages
                if out:
                    break
                j = hart.fetch_address(pc + 2)
                ppages.add((j + hart.ram_base) >> 12)
                bits = lo | (ram[j] << 16) | (ram[j + 1] << 24)
            else:
                bits = lo | (ram[i + 2] << 16) | (ram[i + 3] << 24)
        else:
            bits = lo
        insn = decode_cached(bits)
        out.append((pc, bits, insn))
        seen.add(pc)
        kind = _kind(insn)
        length = insn.length if insn else (4 if bits & 3 == 3 else 2)
        if kind in ("system", "trap") or (insn and insn.name == "jalr"):
            pc += length
            break
        if kind == "branch" and (pc + insn.imm) & M64 == vpc:
            pc += length                              # a loop back to the start: end here, so
            break                                     # the block can run rounds (_Emitter.source)
        if insn.name == "jal":
            target = (pc + insn.imm) & M64
            if target >> 12 != page or target in seen or target in stop_at or len(out) >= limit:
                pc += length
                break
            pc = target
            continue
        pc += length
    return out, ppages, pc & M64


def translate(insns, fallthrough: int, may_loop: bool = True) -> tuple:
    """Python source and function for a trace [(pc, bits, insn)].

    may_loop: a trace that ends by jumping back to its start may run several
    rounds in one call (not when pcs are watched: each round must be seen).
    """
    em = _Emitter()
    last = len(insns) - 1
    for idx, (pc, bits, insn) in enumerate(insns):
        em.add(insn, bits, pc, idx, idx == last)
    name = f"blk_{insns[0][0]:x}"
    src = em.source(name, len(insns), insns[0][0], fallthrough, may_loop)
    fn = _compiled.get(src)
    if fn is None:
        scope: dict = {}
        exec(compile_cached(src, f"<block {insns[0][0]:#x}>"), GLOBALS, scope)
        fn = _compiled[src] = scope[name]
        if len(_compiled) > MAX_COMPILED:
            _compiled.clear()
    return fn, src


def translate_single(insn_entry) -> tuple:
    """Function for one instruction [(pc, bits, insn)], sharing its code with
    every other address holding the same instruction word (the pc is a
    default argument). Budget tails step through these, so they must be cheap
    to make."""
    pc, bits, insn = insn_entry
    length = insn.length if insn else (4 if bits & 3 == 3 else 2)
    src = _single_sources.get(bits)
    if src is None:
        em = _Emitter(symbolic_pc=True)
        em.add(insn, bits, pc, 0, True)
        src = _single_sources[bits] = em.source("step", 1, pc, pc + length, False)
    proto = _compiled.get(src)
    if proto is None:
        scope: dict = {}
        exec(compile_cached(src, "<step>"), GLOBALS, scope)
        proto = _compiled[src] = scope["step"]
    fn = types.FunctionType(proto.__code__, GLOBALS, "step", (pc,))
    return fn, src


_single_sources: dict[int, str] = {}


# Compiled functions by source text. The same program exec'd again lands in
# other physical pages but at the same virtual addresses: same source, and
# compile() is the dearest step of translation.
_compiled: dict[str, object] = {}
MAX_COMPILED = 50_000


class Activity:
    """What the harts did while it was on (`CodeCache.activity`): the code that ran (virtual
    addresses, by 64-byte line: `pc >> CODE_LINE`), the physical pages loaded from and stored
    into -- supersets, never less than happened.

    Complete for a stretch only if every hart's TLBs and block tables were empty when it
    started (`Hart.flush_tlb()`): each page is noted when an entry leading there is made."""

    __slots__ = ("ran", "read", "written")

    def __init__(self):
        self.ran: set[int] = set()
        self.read: set[int] = set()
        self.written: set[int] = set()

    def ran_block(self, pcs) -> None:
        """A block is about to run (its pcs, then the pc after it)."""
        self.ran.update({pc >> CODE_LINE for pc in pcs[:-1]})


class CodeCache:
    """Translated blocks shared by the harts of one machine."""

    def __init__(self):
        self.blocks: dict[tuple, Block] = {}
        self.pages: dict[int, list[tuple]] = {}      # physical page -> keys of blocks reading it
        self.pt_pages: set[int] = set()               # physical pages TLB entries were walked from
        self.harts: list = []
        self.translations = 0                         # blocks compiled (for benchmarks)
        # Data watch (replay searches): pages whose loads and stores are reported.
        self.data_pages: frozenset = frozenset()
        self.on_store = None                          # on_store(ppage), before the store
        self.on_load = None                           # on_load(hart, paddr, size), after the load
        self.activity: Activity | None = None         # pages used, while a replay summarises

    def attach(self, hart) -> None:
        self.harts.append(hart)

    def is_code_page(self, ppage: int) -> bool:
        return ppage in self.pages

    def is_watched_page(self, ppage: int) -> bool:
        """Stores to this page must tell us (it holds translated code, page tables or watched data)."""
        return ppage in self.pages or ppage in self.pt_pages or ppage in self.data_pages

    def set_data_watch(self, pages, on_store=None, on_load=None) -> None:
        """Report every store into the physical `pages` (on_store(ppage), before it is done) and
        every load from them (on_load(hart, paddr, size), after it); frozenset() ends it.
        Accesses there take the slow path while watched (no TLB entry leads there)."""
        self.data_pages = frozenset(pages)
        self.on_store = on_store if self.data_pages else None
        self.on_load = on_load if self.data_pages else None
        for h in self.harts:
            h.flush_tlb()

    def written(self, ppage: int) -> None:
        """RAM in a watched page is about to change: report it, drop what was derived from it."""
        if ppage in self.data_pages and self.on_store is not None:
            self.on_store(ppage)
        if ppage in self.pages:
            self.invalidate_page(ppage)
        if ppage in self.pt_pages:
            self.pt_pages.clear()                     # every TLB is flushed: nothing depends on any
            for h in self.harts:
                h.flush_tlb()

    def get(self, key):
        return self.blocks.get(key)

    def put(self, key, block: Block) -> None:
        new_pages = [p for p in block.ppages if p not in self.pages]
        for p in block.ppages:
            self.pages.setdefault(p, []).append(key)
        self.blocks[key] = block
        self.translations += 1
        for p in new_pages:
            for h in self.harts:                      # stores there must now see the cache
                h._drop_write_entries(p)

    def invalidate_page(self, ppage: int) -> None:
        keys = self.pages.pop(ppage, None)
        if not keys:
            return
        for k in keys:
            blk = self.blocks.pop(k, None)
            if blk is not None:
                for p in blk.ppages:
                    if p != ppage and p in self.pages:
                        try:
                            self.pages[p].remove(k)
                        except ValueError:
                            pass
        for h in self.harts:
            h._drop_blocks()

    def invalidate(self, paddr: int, size: int) -> None:
        """Drop translations of [paddr, paddr+size) (DMA writes)."""
        if size <= 0:
            return
        if self.activity is not None:
            self.activity.written.update(range(paddr >> 12, ((paddr + size - 1) >> 12) + 1))
        for page in range(paddr >> 12, ((paddr + size - 1) >> 12) + 1):
            if self.is_watched_page(page):
                self.written(page)

    def flush(self) -> None:
        """Drop every translation (fence.i)."""
        self.blocks.clear()
        self.pages.clear()
        for h in self.harts:
            h._drop_blocks()

    def flush_all(self) -> None:
        """Drop translations and every hart's TLBs: RAM was replaced (a checkpoint restored)."""
        self.flush()
        self.pt_pages.clear()
        for h in self.harts:
            h.flush_tlb()
