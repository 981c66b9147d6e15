"""The C expression language of print/x/watch/display, over a small fake machine."""

import pytest

from rvtrace.debugger import cexpr
from rvtrace.debugger.cexpr import INT, LONG, CExprError, CType, TValue

PROC = CType("struct", 16, "struct proc", members=[("pid", 0, INT), ("name", 4, CType("array", 8, "char[8]",
                                                   CType("char", 1, "char"), 8))])
PROC_P = CType("pointer", 8, "struct proc *", PROC)
CPU = CType("struct", 8, "struct cpu", members=[("proc", 0, PROC_P)])


class FakeEnv:
    """RAM at 0x1000: a struct proc {pid 7, "init"}, then cpus[2] whose [0].proc points at it."""

    def __init__(self):
        self.mem = bytearray(0x100)
        self.mem[0:4] = (7).to_bytes(4, "little")
        self.mem[4:9] = b"init\0"
        self.mem[0x20:0x28] = (0x1000).to_bytes(8, "little")

    def read(self, addr, n):
        off = addr - 0x1000
        if not 0 <= off <= len(self.mem) - n:
            raise CExprError(f"cannot access memory at {addr:#x}")
        return bytes(self.mem[off:off + n])

    def register(self, name):
        return {"sp": 0x1ff0, "a0": 0x1000, "a1": (1 << 64) - 2}[name]

    def lookup(self, name):
        table = {"proc": TValue(PROC, address=0x1000, space=self, name="proc"),
                 "cpus": TValue(CType("array", 16, "struct cpu[2]", CPU, 2), address=0x1020, space=self,
                                name="cpus")}
        if name not in table:
            raise CExprError(f"no symbol {name!r}")
        return table[name]

    def type_named(self, spec):
        base = {"struct proc": PROC, "long": LONG, "int": INT}[spec.replace("*", "").strip()]
        for _ in range(spec.count("*")):
            base = CType("pointer", 8, f"{base.name} *", base)
        return base

    def is_type(self, word):
        return word in ("long", "int")

    def space_of(self, tv):
        return self


def ev(text):
    env = FakeEnv()
    return cexpr.Evaluator(env), cexpr.Evaluator(env).eval(cexpr.parse(text, env.is_type))


def value(text):
    e, tv = ev(text)
    return e.scalar(tv)


@pytest.mark.parametrize("text,expected", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("-5 / 2", -2), ("7 % 3", 1), ("1 << 4 | 1", 17),
    ("$sp + 8", 0x1ff8), ("$a1", -2), ("$a0 == 0x1000 && !0", 1), ("~0", -1), ("'A'", 65),
    ("proc.pid", 7), ("cpus[0].proc->pid", 7), ("(*cpus[0].proc).pid + 1", 8),
    ("&proc.name", 0x1004), ("proc.name[1]", ord("n")), ("((struct proc *) $a0)->pid", 7),
    ("&cpus[1]", 0x1028), ("(long) &cpus[1] - (long) &cpus[0]", 8), ("&cpus[1] - &cpus[0]", 1),
    ("sizeof(struct proc)", 16), ("sizeof proc", 16), ("*(int *) $a0", 7),
])
def test_values(text, expected):
    assert value(text) == expected


def test_types_follow_c():
    assert ev("*cpus[0].proc")[1].ctype is PROC
    assert ev("&proc")[1].ctype.name == "struct proc *"
    assert ev("$sp + 8")[1].ctype.name == "void *"                 # gdb: $sp is a void pointer
    assert ev("cpus[0].proc + 1")[1].value == 0x1010               # scaled by sizeof(struct proc)


@pytest.mark.parametrize("text,message", [
    ("proc.nope", "has no member 'nope'"), ("proc->pid", "is not a pointer"), ("cpus[1].proc->pid", "NULL"),
    ("*$sp", "void pointer"), ("1 +", "expected a number"), ("nosuch", "no symbol"), ("1 / 0", "division"),
    ("cpus[5]", "outside 0..1"), ("&1", "address of"), ("proc + proc", "not a number"),
])
def test_errors_say_what(text, message):
    with pytest.raises(CExprError, match=message):
        value(text)
