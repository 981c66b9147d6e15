"""Cold code: blocks that have run only a few times, without translating them.

Translating a block (emitting its source and compiling it, about a
millisecond) pays off only for code that runs many times; much of a boot
runs once or twice. So a block seen for the first time runs as a chain of
pre-decoded steps: for each instruction, a closure made by a factory per
instruction *name*, generated once per process from the same snippets the
emitter uses (semantics.py), with the operands bound at decode time. After
HOT runs the block is translated (translate.find_block) and replaces the
chain. A block whose translation is already stored (a warm run) never runs
cold.

A step works on the register file itself (no locals to write back) and
follows the block protocol of emitter.py: before calling into the hart it
stores the budget at the block's start in h._left and the instruction's
index in the block travels as `idx`, so traps, MMIO exits and Resync settle
the count exactly as for a translated block.
"""

from __future__ import annotations

from rvtrace.cpu import codestore
from rvtrace.cpu.emitter import _LOADS, _STORES, GLOBALS, _constants, _expand_macros
from rvtrace.cpu.semantics import SEMANTICS

HOT = 16                 # runs of a block before it is translated (chosen with bench/bench_cold.py)

_factories: dict[str, object] = {}


def _fields() -> dict:
    return {"rd": "_v", "rs1": "x[rs1]", "rs2": "x[rs2]", "imm": "imm", "csr": "csr", "idx": "idx",
            "pc": "pc", "npc": "((pc + length) & 0xFFFFFFFFFFFFFFFF)", "bits": "bits",
            "rd_nonzero": "(rd != 0)", "rs1_nonzero": "(rs1 != 0)", "imm_nonzero": "(imm != 0)"}


def _body(name: str) -> list[str]:
    """The step's lines for instruction `name`; they end by returning the next pc."""
    sem = SEMANTICS[name]
    npc = "(pc + length) & 0xFFFFFFFFFFFFFFFF"
    wb = ["if rd:", "    x[rd] = _v"]
    if sem.kind == "load":
        cross = "" if sem.size == 1 else f" or (a & 0xFFF) > {0x1000 - sem.size}"
        return ["a = x[rs1] + imm", "o = R.get(a >> 12)", f"if o is None{cross}:", "    h._left = left",
                f"    _v = h.load(a & 0xFFFFFFFFFFFFFFFF, {sem.size}, {sem.signed}, idx)",
                "    if h._exit: raise MmioExit()", "else:", f"    _v = {_LOADS[(sem.size, sem.signed)]}",
                *wb, f"return {npc}"]
    if sem.kind == "store":
        cross = "" if sem.size == 1 else f" or (a & 0xFFF) > {0x1000 - sem.size}"
        return ["a = x[rs1] + imm", "o = W.get(a >> 12)", f"if o is None{cross}:", "    h._left = left",
                f"    h.store(a & 0xFFFFFFFFFFFFFFFF, {sem.size}, x[rs2], idx)", "else:",
                "    " + _STORES[sem.size].format(v="x[rs2]"), f"return {npc}"]
    code = _constants(_expand_macros(sem.code.format(**_fields())))
    lines = code.splitlines()
    if sem.kind == "branch":
        return [f"return (pc + imm) & 0xFFFFFFFFFFFFFFFF if {lines[0]} else {npc}"]
    out = ["h._left = left"] if sem.hart else []
    ret = None
    if lines and lines[-1].startswith("return "):
        ret = lines.pop()[len("return "):]
    out += lines
    if sem.writes_rd:
        out += wb
    if sem.kind == "trap":
        return out + ["raise AssertionError('unreachable: the instruction traps')"]
    if sem.kind == "system":
        return out + [f"raise Resync({ret})"]
    if sem.kind == "csr":
        out.append(f"if h._resync: raise Resync({npc})")
    return out + [f"return {ret if ret is not None else npc}"]


def factory(name: str):
    """make(rd, rs1, rs2, imm, csr, bits, length) -> step(h, x, ram, R, W, left, pc, idx)."""
    make = _factories.get(name)
    if make is None:
        key = ("factory", name)            # stored: a warm run compiles no factory either
        stored = codestore.load_variants(key)
        if stored:
            code = stored[0][4]
        else:
            body = _body(name)
            src = "\n".join(["def make(rd, rs1, rs2, imm, csr, bits, length):",
                             "    def step(h, x, ram, R, W, left, pc, idx):"]
                            + ["        " + line for line in body] + ["    return step", ""])
            code = compile(src, codestore.code_name(src), "exec")
            codestore.save_variants(key, [((), 0, (), src, code, None)])
        scope: dict = {}
        exec(code, GLOBALS, scope)
        make = _factories[name] = scope["make"]
    return make


def _illegal(bits: int):
    def step(h, x, ram, R, W, left, pc, idx):
        h._left = left
        h.illegal(bits, idx)
        raise AssertionError("unreachable: the instruction traps")
    return step


def step_args(bits: int, insn) -> tuple:
    """What a step is made from, as plain values: (bits,) for an illegal word, else
    (bits, name, rd, rs1, rs2, imm, csr, operation bits, length). Warm runs keep them
    on disk, so a block that never gets hot is not decoded again."""
    if insn is None:
        return (bits,)
    return (bits, insn.name, insn.rd, insn.rs1, insn.rs2, insn.imm, insn.csr, insn.bits, insn.length)


def args_ok(args) -> bool:
    """Stored step arguments of the shape step_args makes, naming known instructions
    (the store's checksum already rules out damage: this rules out other shapes)."""
    if type(args) is not tuple:
        return False
    for a in args:
        if type(a) is not tuple or (len(a) != 1 and (len(a) != 9 or a[1] not in SEMANTICS)):
            return False
    return True


_shared: dict[tuple, object] = {}        # step_args -> its step: the pc is an argument, so
                                         # every address holding the same word shares one


def steps_from(args) -> list:
    """The step closures for step_args tuples."""
    out = []
    for a in args:
        step = _shared.get(a)
        if step is None:
            if len(_shared) > 100_000:
                _shared.clear()
            step = _shared[a] = _illegal(a[0]) if len(a) == 1 else factory(a[1])(*a[2:])
        out.append(step)
    return out


def steps_for(insns) -> list:
    """The step closures for a trace [(pc, bits, insn)]."""
    return steps_from([step_args(bits, insn) for _, bits, insn in insns])


def cold_function(steps, pcs, promote, hot: int = HOT):
    """The block function for a cold trace: its steps in order while the trace is
    followed (a taken branch leaves it); after `hot` runs, promote() -> the translated
    function, which runs this time and from then on."""
    n = len(steps)
    runs = [0]

    def run(h, x, ram, R, W, left):
        runs[0] += 1
        if runs[0] > hot:
            fn = promote(h)
            if fn is not None:
                return fn(h, x, ram, R, W, left)
        pc = pcs[0]
        i = 0
        while i < n and pc == pcs[i]:
            pc = steps[i](h, x, ram, R, W, left, pc, i)
            i += 1
        h._left = left - i
        return pc
    return run
