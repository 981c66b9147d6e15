"""What every instruction does, written once.

Each entry of `SEMANTICS` gives an instruction's meaning as a small piece of
Python source (the form the specification's pseudo-code would take) plus its
kind. The block translator (`translate.py`) pastes these snippets into the
Python functions it compiles; the step-by-step executor is the same
translator run on one-instruction blocks, so there is no second copy.

Snippet vocabulary:
  {rd} {rs1} {rs2}   registers (reads of x0 become 0; writes to x0 are dropped)
  {imm}              the decoded immediate (a Python int, possibly negative)
  {pc} {npc}         this instruction's address and the next one's
  {csr} {idx}        CSR number; the instruction's index in its block
  {bits}             the instruction word (what an illegal-instruction trap reports)
  M, S               2**64-1 and 2**63 (S flips the sign bit: `(a ^ S) < (b ^ S)`
                     compares a and b as signed numbers)
  SX32(e)            sign-extend the low 32 bits of e to an unsigned 64-bit value
  S32(e), S64(e)     the low 32 / 64 bits of e as a signed Python int
  h                  the Hart (only in slow or system operations)

Kinds: "op" (straight-line), "load"/"store" (the translator emits the TLB fast
path and calls the hart's slow path; the snippet gives size and signedness),
"branch" (the snippet is the condition), "jump" (ends the block), "system"
(calls into the hart, ends the block so that interrupts and privilege changes
are looked at), "csr" (calls into the hart; the block goes on unless the hart
says the write changed interrupts, translation or timers), "trap" (always
raises).

Rule for counting (the trace's time axis depends on it): an instruction
retires when it completes. An instruction that raises an exception -- which
includes ecall and ebreak -- does not retire and is not counted in instret.
"""

from __future__ import annotations

from dataclasses import dataclass

M = (1 << 64) - 1
S = 1 << 63


@dataclass(frozen=True)
class Sem:
    """One instruction's meaning, and what the translator needs to know about it.

    `reads`, `writes_rd`, `hart` and `fast` are derived from the snippet once,
    here, so the translator never looks at instruction names or snippet text:
      reads      the source registers the instruction reads ("rs1", "rs2")
      writes_rd  it writes rd
      hart       it calls into the hart (the hart must see the current budget)
      link       jal/jalr: rd receives the address of the next instruction
      fast       the inline fast path the translator emits: "load", "store",
                 "amo" (RAM through the write TLB), "sstatus" (csr* on sstatus,
                 decided per instruction), "fold" (pure: constant inputs give
                 a constant), None (paste the snippet)
      amo_fn     AMOs: the name of the AMO_* function that combines the values
    """
    kind: str
    code: str = ""
    size: int = 0            # loads/stores/AMOs: access size in bytes
    signed: bool = False     # loads: sign-extend
    reads: tuple = ()
    writes_rd: bool = False
    hart: bool = False
    link: bool = False
    fast: str | None = None
    amo_fn: str = ""
    uses_pc: bool = False    # the snippet embeds {pc} or {npc}
    csr_op: str = ""         # csr*: "rw", "rs" or "rc"
    csr_imm: bool = False    # csr*i: the source is the immediate, not rs1


def _meta(kind, code="", size=0, signed=False, **extra):
    """A Sem with its translator metadata filled in from the snippet."""
    reads = tuple(r for r in ("rs1", "rs2") if "{" + r + "}" in code)
    if kind == "load":
        reads = ("rs1",)
    elif kind in ("store", "branch"):
        reads = ("rs1", "rs2")
    meta = dict(reads=reads, writes_rd="{rd}" in code or kind == "load", hart="h." in code,
                uses_pc="{pc}" in code or "{npc}" in code)
    if kind in ("load", "store"):
        meta["fast"] = kind
    elif kind == "op" and not meta["hart"] and code:
        meta["fast"] = "fold"
    elif kind == "csr":
        meta["fast"] = "sstatus"
    meta.update(extra)
    return Sem(kind, code, size, signed, **meta)


def _op(code):
    return _meta("op", code)


def _load(size, signed):
    return _meta("load", size=size, signed=signed)


def _store(size):
    return _meta("store", size=size)


def _branch(cond):
    return _meta("branch", cond)


def _sys(code):
    return _meta("system", code)


def _jump(code):
    return _meta("jump", code, link=True)


def _csr(code):
    op = "rw rs rc".split()[int(code.split(", ")[1])]      # csr_op's second argument
    return _meta("csr", code, csr_op=op, csr_imm="{imm}" in code)


def _amo(size, fn):
    return _meta("op", f"{{rd}} = h.amo({{rs1}}, {{rs2}}, {size}, AMO_{fn}, {{idx}})", size=size,
                 fast="amo", amo_fn=f"AMO_{fn}")


# --- division (RISC-V defines every case: no traps) ---------------------------

def _signed(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _div(a: int, b: int, bits: int) -> int:
    sa, sb = _signed(a, bits), _signed(b, bits)
    if sb == 0:
        return -1
    if sa == -(1 << (bits - 1)) and sb == -1:
        return sa                                  # overflow: the dividend
    q = abs(sa) // abs(sb)
    return -q if (sa < 0) != (sb < 0) else q      # rounds toward zero


def _rem(a: int, b: int, bits: int) -> int:
    sa, sb = _signed(a, bits), _signed(b, bits)
    if sb == 0:
        return sa
    if sa == -(1 << (bits - 1)) and sb == -1:
        return 0
    r = abs(sa) % abs(sb)
    return -r if sa < 0 else r                     # the sign of the dividend


def div64(a, b):  return _div(a, b, 64) & M                                        # noqa: E704
def rem64(a, b):  return _rem(a, b, 64) & M                                        # noqa: E704
def divu64(a, b): return a // b if b else M                                        # noqa: E704
def remu64(a, b): return a % b if b else a                                         # noqa: E704
def divw(a, b):   return _div(a, b, 32) & M                                        # noqa: E704
def remw(a, b):   return _rem(a, b, 32) & M                                        # noqa: E704
def divuw(a, b):                                                                   # noqa: E302
    a, b = a & 0xFFFFFFFF, b & 0xFFFFFFFF
    return _signed(a // b if b else 0xFFFFFFFF, 32) & M
def remuw(a, b):                                                                   # noqa: E302
    a, b = a & 0xFFFFFFFF, b & 0xFFFFFFFF
    return _signed(a % b if b else a, 32) & M


# --- AMO operations: (old memory value, register value, size) -> new value -----

def _min_s(a, b, size):
    bits = 8 * size
    return a if _signed(a, bits) <= _signed(b, bits) else b


def _max_s(a, b, size):
    bits = 8 * size
    return a if _signed(a, bits) >= _signed(b, bits) else b


AMO_OPS = {
    "swap": lambda old, src, size: src,
    "add": lambda old, src, size: old + src,
    "xor": lambda old, src, size: old ^ src,
    "and": lambda old, src, size: old & src,
    "or": lambda old, src, size: old | src,
    "min": _min_s,
    "max": _max_s,
    "minu": lambda old, src, size: min(old, src & ((1 << 8 * size) - 1)),
    "maxu": lambda old, src, size: max(old, src & ((1 << 8 * size) - 1)),
}


SEMANTICS: dict[str, Sem] = {
    # RV64I: upper immediates and jumps
    "lui": _op("{rd} = {imm} & M"),
    "auipc": _op("{rd} = ({pc} + {imm}) & M"),
    "jal": _jump("{rd} = {npc}\nreturn ({pc} + {imm}) & M"),
    "jalr": _jump("t = ({rs1} + {imm}) & 0xFFFFFFFFFFFFFFFE\n{rd} = {npc}\nreturn t"),
    # branches: the condition
    "beq": _branch("{rs1} == {rs2}"),
    "bne": _branch("{rs1} != {rs2}"),
    "blt": _branch("({rs1} ^ S) < ({rs2} ^ S)"),
    "bge": _branch("({rs1} ^ S) >= ({rs2} ^ S)"),
    "bltu": _branch("{rs1} < {rs2}"),
    "bgeu": _branch("{rs1} >= {rs2}"),
    # loads and stores
    "lb": _load(1, True), "lh": _load(2, True), "lw": _load(4, True), "ld": _load(8, False),
    "lbu": _load(1, False), "lhu": _load(2, False), "lwu": _load(4, False),
    "sb": _store(1), "sh": _store(2), "sw": _store(4), "sd": _store(8),
    # register-immediate
    "addi": _op("{rd} = ({rs1} + {imm}) & M"),
    "slti": _op("{rd} = 1 if ({rs1} ^ S) < (({imm} & M) ^ S) else 0"),
    "sltiu": _op("{rd} = 1 if {rs1} < ({imm} & M) else 0"),
    "xori": _op("{rd} = {rs1} ^ ({imm} & M)"),
    "ori": _op("{rd} = {rs1} | ({imm} & M)"),
    "andi": _op("{rd} = {rs1} & ({imm} & M)"),
    "slli": _op("{rd} = ({rs1} << {imm}) & M"),
    "srli": _op("{rd} = {rs1} >> {imm}"),
    # arithmetic shifts: a non-negative value shifts as it is, a negative one gains the
    # top bits (a comparison is cheaper than sign arithmetic on 64-bit Python ints);
    # srai tests the result (negative iff it reaches S >> imm, a constant), in a
    # second statement: no jump on the common path
    "srai": _op("{rd} = {rs1} >> {imm}\nif {rd} >= S >> {imm}: {rd} |= M ^ (M >> {imm})"),
    # register-register
    "add": _op("{rd} = ({rs1} + {rs2}) & M"),
    "sub": _op("{rd} = ({rs1} - {rs2}) & M"),
    "sll": _op("{rd} = ({rs1} << ({rs2} & 63)) & M"),
    "slt": _op("{rd} = 1 if ({rs1} ^ S) < ({rs2} ^ S) else 0"),
    "sltu": _op("{rd} = 1 if {rs1} < {rs2} else 0"),
    "xor": _op("{rd} = {rs1} ^ {rs2}"),
    "srl": _op("{rd} = {rs1} >> ({rs2} & 63)"),
    "sra": _op("{rd} = {rs1} >> ({rs2} & 63) if {rs1} < S else ({rs1} >> ({rs2} & 63)) | (M ^ (M >> ({rs2} & 63)))"),
    "or": _op("{rd} = {rs1} | {rs2}"),
    "and": _op("{rd} = {rs1} & {rs2}"),
    # 32-bit operations, results sign-extended
    "addiw": _op("{rd} = SX32({rs1} + {imm})"),
    "slliw": _op("{rd} = SX32({rs1} << {imm})"),
    "srliw": _op("{rd} = SX32(({rs1} & 0xFFFFFFFF) >> {imm})"),
    "sraiw": _op("{rd} = SX32(S32({rs1}) >> {imm})"),
    "addw": _op("{rd} = SX32({rs1} + {rs2})"),
    "subw": _op("{rd} = SX32({rs1} - {rs2})"),
    "sllw": _op("{rd} = SX32({rs1} << ({rs2} & 31))"),
    "srlw": _op("{rd} = SX32(({rs1} & 0xFFFFFFFF) >> ({rs2} & 31))"),
    "sraw": _op("{rd} = SX32(S32({rs1}) >> ({rs2} & 31))"),
    # M
    "mul": _op("{rd} = ({rs1} * {rs2}) & M"),
    "mulh": _op("{rd} = (S64({rs1}) * S64({rs2}) >> 64) & M"),
    "mulhsu": _op("{rd} = (S64({rs1}) * {rs2} >> 64) & M"),
    "mulhu": _op("{rd} = {rs1} * {rs2} >> 64"),
    "div": _op("{rd} = div64({rs1}, {rs2})"),
    "divu": _op("{rd} = divu64({rs1}, {rs2})"),
    "rem": _op("{rd} = rem64({rs1}, {rs2})"),
    "remu": _op("{rd} = remu64({rs1}, {rs2})"),
    "mulw": _op("{rd} = SX32({rs1} * {rs2})"),
    "divw": _op("{rd} = divw({rs1}, {rs2})"),
    "divuw": _op("{rd} = divuw({rs1}, {rs2})"),
    "remw": _op("{rd} = remw({rs1}, {rs2})"),
    "remuw": _op("{rd} = remuw({rs1}, {rs2})"),
    # A: every access goes through the hart (alignment, reservation, A/D bits)
    "lr.w": _op("{rd} = h.lr({rs1}, 4, {idx})"),
    "lr.d": _op("{rd} = h.lr({rs1}, 8, {idx})"),
    "sc.w": _op("{rd} = h.sc({rs1}, {rs2}, 4, {idx})"),
    "sc.d": _op("{rd} = h.sc({rs1}, {rs2}, 8, {idx})"),
    # fences: one hart, in-order memory, nothing to order
    "fence": _op(""),
    "fence.tso": _op(""),
    "fence.i": _sys("h.fence_i({idx})\nreturn {npc}"),
    # system: the hart does the work and says where to continue
    "ecall": _meta("trap", "h.ecall({idx})"),
    "ebreak": _meta("trap", "h.ebreak({pc}, {idx})"),
    "mret": _sys("return h.mret({bits}, {idx})"),
    "sret": _sys("return h.sret({bits}, {idx})"),
    "wfi": _sys("h.wfi({bits}, {idx})\nreturn {npc}"),
    "sfence.vma": _sys("h.sfence_vma({rs1}, {rs2}, {bits}, {idx})\nreturn {npc}"),
    "csrrw": _csr("{rd} = h.csr_op({csr}, 0, {rs1}, {rd_nonzero}, True, {bits}, {idx})"),
    "csrrs": _csr("{rd} = h.csr_op({csr}, 1, {rs1}, True, {rs1_nonzero}, {bits}, {idx})"),
    "csrrc": _csr("{rd} = h.csr_op({csr}, 2, {rs1}, True, {rs1_nonzero}, {bits}, {idx})"),
    "csrrwi": _csr("{rd} = h.csr_op({csr}, 0, {imm}, {rd_nonzero}, True, {bits}, {idx})"),
    "csrrsi": _csr("{rd} = h.csr_op({csr}, 1, {imm}, True, {imm_nonzero}, {bits}, {idx})"),
    "csrrci": _csr("{rd} = h.csr_op({csr}, 2, {imm}, True, {imm_nonzero}, {bits}, {idx})"),
}

for _size, _sfx in ((4, "w"), (8, "d")):
    for _fn in AMO_OPS:
        SEMANTICS[f"amo{_fn}.{_sfx}"] = _amo(_size, _fn)

# Names the generated code may use, besides the hart `h`.
RUNTIME = {
    "div64": div64, "divu64": divu64, "rem64": rem64, "remu64": remu64,
    "divw": divw, "divuw": divuw, "remw": remw, "remuw": remuw,
    **{f"AMO_{k}": v for k, v in AMO_OPS.items()},
}
