"""C expressions over the replayed machine: what `print`, `x`, `watch`, `display` evaluate.

    $sp + 8        *cpus[0].proc        proc[1].name        (struct proc *) $a0
    status         &status              p->trapframe->a0    kernel:ticks     forkexec:main

Grammar (C's precedence, lowest first): `||`, `&&`, `|`, `^`, `&`, `== !=`,
`< > <= >=`, `<< >>`, `+ -`, `* / %`, then the unary `- ! ~ * & (TYPE)
sizeof`, then the postfix `[i]`, `.member`, `->member`. Operands: numbers
(decimal, 0x hex, 'c'), registers (`$pc`, `$a0`, `$sp`, `$satp`), and names:
locals and arguments of the selected frame (from DWARF), then globals of the
images in scope order (rvtrace/debugger/scope.py), `kernel:` or `PROGRAM:`
to choose. Types come from the DWARF of the image the name came from; casts
name a base type, a typedef or `struct NAME`, with `*`s.

Nothing is evaluated by Python: the tree is walked by hand, memory is read
through the frame's address space, and nothing is ever written. Pointer
arithmetic scales by the pointed-to size (`void *`: bytes, as gdb does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rvtrace.debugger.values import CType
from rvtrace.errors import UserError

LONG = CType("int", 8, "long")
ULONG = CType("uint", 8, "unsigned long")
INT = CType("int", 4, "int")
UINT = CType("uint", 4, "unsigned int")
CHAR = CType("char", 1, "char")
VOID = CType("void", 1, "void")
VOID_P = CType("pointer", 8, "void *", VOID)
CODE_P = CType("pointer", 8, "void (*)()", CType("other", 1, "void ()"))
BASE_TYPES = {"long": LONG, "unsigned long": ULONG, "int": INT, "unsigned int": UINT, "unsigned": UINT,
              "char": CHAR, "void": VOID, "uint64": ULONG, "uint": UINT, "uchar": CType("uint", 1, "uchar"),
              "short": CType("int", 2, "short"), "unsigned char": CType("uint", 1, "unsigned char"),
              "long long": LONG, "unsigned long long": ULONG}
POINTER_REGISTERS = {"sp": VOID_P, "fp": VOID_P, "s0": VOID_P, "pc": CODE_P, "ra": CODE_P}

_TOKEN = re.compile(r"""\s*(?:
    (?P<num>0[xX][0-9a-fA-F]+|\d+)[uUlL]*
  | (?P<chr>'(?:[^'\\]|\\.)')
  | (?P<reg>\$[A-Za-z_]\w*)
  | (?P<name>[A-Za-z_][\w.-]*:[A-Za-z_]\w*|[A-Za-z_]\w*)
  | (?P<op>->|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^!~<>()\[\].])
)""", re.VERBOSE)

BINARY = [("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", ">", "<=", ">="), ("<<", ">>"),
          ("+", "-"), ("*", "/", "%")]


class CExprError(UserError):
    """An expression that does not parse or cannot be evaluated here."""


@dataclass
class TValue:
    """A typed value: an lvalue has `address` (in `space`); a computed value has `value`."""
    ctype: CType
    address: int | None = None
    value: int | None = None
    space: object = None                # the Env that reads that address
    name: str = ""                      # what it was called, for messages

    @property
    def is_lvalue(self) -> bool:
        return self.address is not None


# --- tokens and tree ------------------------------------------------------------------------

def tokenize(text: str) -> list[tuple[str, object]]:
    out, pos = [], 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise CExprError(f"cannot read {text[pos:].strip()[:12]!r} in {text.strip()!r}")
        kind = m.lastgroup
        raw = m.group(kind)
        if kind == "num":
            out.append(("num", int(raw, 0) if raw.lower().startswith("0x") else int(raw, 10)))
        elif kind == "chr":
            body = raw[1:-1]
            ch = {"\\n": "\n", "\\t": "\t", "\\0": "\0"}.get(body, body[-1])
            out.append(("num", ord(ch)))
        else:
            out.append((kind, raw))
        pos = m.end()
    out.append(("end", None))
    return out


class Parser:
    """Recursive descent over the tokens; the tree is nested tuples (op, ...)."""

    def __init__(self, text: str, is_type):
        self.text, self.toks, self.i, self.is_type = text, tokenize(text), 0, is_type

    def parse(self):
        node = self.binary(0)
        if self.peek()[0] != "end":
            raise CExprError(f"unexpected {self.peek()[1]!r} in {self.text.strip()!r}")
        return node

    def peek(self, k: int = 0):
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self):
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def at(self, value) -> bool:
        t = self.peek()
        return t[0] == "op" and t[1] == value

    def expect(self, value) -> None:
        if not self.at(value):
            raise CExprError(f"expected {value!r} in {self.text.strip()!r}")
        self.take()

    def binary(self, level: int):
        if level == len(BINARY):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in BINARY[level]:
            op = self.take()[1]
            node = ("bin", op, node, self.binary(level + 1))
        return node

    def unary(self):
        t = self.peek()
        if t[0] == "op" and t[1] in ("-", "!", "~", "*", "&", "+"):
            self.take()
            return ("un", t[1], self.unary())
        if t[0] == "name" and t[1] == "sizeof":
            self.take()
            if self.at("(") and self._type_ahead():
                self.take()
                ctype = self.type_name()
                self.expect(")")
                return ("sizeof_type", ctype)
            return ("sizeof", self.unary())
        if self.at("(") and self._type_ahead():
            self.take()
            ctype = self.type_name()
            self.expect(")")
            return ("cast", ctype, self.unary())
        return self.postfix(self.primary())

    def _type_ahead(self) -> bool:
        t = self.peek(1)
        return t[0] == "name" and (t[1] in ("struct", "union", "unsigned", "signed", "enum")
                                   or self.is_type(t[1]))

    def type_name(self) -> str:
        words = []
        while self.peek()[0] == "name":
            words.append(self.take()[1])
        stars = 0
        while self.at("*"):
            self.take()
            stars += 1
        if not words:
            raise CExprError(f"expected a type name in {self.text.strip()!r}")
        return " ".join(words) + " " + "*" * stars

    def postfix(self, node):
        while True:
            if self.at("["):
                self.take()
                index = self.binary(0)
                self.expect("]")
                node = ("index", node, index)
            elif self.at(".") or self.at("->"):
                op = self.take()[1]
                t = self.take()
                if t[0] != "name":
                    raise CExprError(f"expected a member name after {op!r} in {self.text.strip()!r}")
                node = ("member", op, node, t[1])
            else:
                return node

    def primary(self):
        t = self.take()
        if t[0] == "num":
            return ("num", t[1])
        if t[0] == "reg":
            return ("reg", t[1][1:])
        if t[0] == "name":
            return ("name", t[1])
        if t[0] == "op" and t[1] == "(":
            node = self.binary(0)
            self.expect(")")
            return node
        raise CExprError(f"expected a number, a $register or a name in {self.text.strip()!r}")


# --- evaluation ---------------------------------------------------------------------------------

class Evaluator:
    """Evaluates a tree against an Env (rvtrace/debugger/cenv.py): names, registers, memory, types."""

    def __init__(self, env):
        self.env = env

    def eval(self, node) -> TValue:
        kind = node[0]
        if kind == "num":
            return TValue(LONG if node[1] >> 31 else INT, value=node[1])
        if kind == "reg":
            value = self.env.register(node[1])
            t = POINTER_REGISTERS.get(node[1].lower(), LONG)
            return TValue(t, value=_wrap(value, t), name="$" + node[1])
        if kind == "name":
            return self.env.lookup(node[1])
        if kind == "un":
            return self.unary(node[1], node[2])
        if kind == "bin":
            return self.binary(node[1], self.eval(node[2]), self.eval(node[3]))
        if kind == "cast":
            return self.cast(self.env.type_named(node[1]), self.eval(node[2]))
        if kind == "sizeof_type":
            return TValue(ULONG, value=self.env.type_named(node[1]).size)
        if kind == "sizeof":
            return TValue(ULONG, value=self.eval(node[1]).ctype.size)
        if kind == "index":
            return self.index(self.eval(node[1]), self.scalar(self.eval(node[2])))
        if kind == "member":
            return self.member(node[1], self.eval(node[2]), node[3])
        raise CExprError(f"cannot evaluate {kind}")          # pragma: no cover

    # --- values ---

    def scalar(self, tv: TValue) -> int:
        """The integer a scalar value holds (an array or function: its address)."""
        if tv.value is not None:
            return tv.value
        k = tv.ctype.kind
        if k in ("array", "function") or (k == "other" and tv.ctype.size not in (1, 2, 4, 8)):
            return tv.address
        if k == "struct":
            raise CExprError(f"{tv.name or 'a struct'} is a {tv.ctype.name}, not a number")
        data = tv.space.read(tv.address, tv.ctype.size)
        v = int.from_bytes(data, "little")
        if k == "int" and v >> (8 * tv.ctype.size - 1):
            v -= 1 << (8 * tv.ctype.size)
        return v

    def pointer_target(self, tv: TValue) -> CType:
        t = tv.ctype
        if t.kind in ("pointer", "array") and t.target is not None:
            return t.target
        raise CExprError(f"{tv.name or 'the value'} is not a pointer (it is {t.name})")

    def deref(self, tv: TValue) -> TValue:
        target = self.pointer_target(tv)
        addr = self.scalar(tv)
        if addr == 0:
            raise CExprError(f"{tv.name or 'the pointer'} is NULL")
        if target.kind == "void":
            raise CExprError(f"{tv.name or 'the value'} is a void pointer: cast it first, "
                             "e.g. *(long *) $sp")
        return TValue(target, address=addr & (2**64 - 1), space=self.env.space_of(tv),
                      name=f"*{tv.name}")

    def unary(self, op: str, operand) -> TValue:
        if op == "&":
            tv = self.eval(operand)
            if not tv.is_lvalue:
                raise CExprError(f"cannot take the address of {tv.name or 'a computed value'}")
            return TValue(CType("pointer", 8, f"{tv.ctype.name} *", tv.ctype), value=tv.address,
                          name=f"&{tv.name}", space=tv.space)
        tv = self.eval(operand)
        if op == "*":
            return self.deref(tv)
        v = self.scalar(tv)
        if op == "-":
            return TValue(_arith_type(tv.ctype, tv.ctype), value=-v)
        if op == "+":
            return TValue(_arith_type(tv.ctype, tv.ctype), value=v)
        if op == "!":
            return TValue(INT, value=int(not v))
        return TValue(_arith_type(tv.ctype, tv.ctype), value=~v)

    def binary(self, op: str, a: TValue, b: TValue) -> TValue:
        if op in ("&&", "||"):
            x, y = self.scalar(a), self.scalar(b)
            return TValue(INT, value=int(bool(x and y) if op == "&&" else bool(x or y)))
        pa = a.ctype.kind in ("pointer", "array")
        pb = b.ctype.kind in ("pointer", "array")
        x, y = self.scalar(a), self.scalar(b)
        if op in ("+", "-") and (pa or pb):
            if pa and pb:
                if op == "+":
                    raise CExprError("cannot add two pointers")
                size = max(self.pointer_target(a).size, 1)
                return TValue(LONG, value=(x - y) // size)
            if pb and op == "-":
                raise CExprError("cannot subtract a pointer from a number")
            ptr, base, n = (a, x, y) if pa else (b, y, x)
            size = max(self.pointer_target(ptr).size, 1) if ptr.ctype.target.kind != "void" else 1
            t = ptr.ctype if ptr.ctype.kind == "pointer" else \
                CType("pointer", 8, f"{ptr.ctype.target.name} *", ptr.ctype.target)
            addr = base + n * size if op == "+" else base - n * size
            return TValue(t, value=addr & (2**64 - 1), space=self.env.space_of(ptr))
        if op in ("==", "!=", "<", ">", "<=", ">="):
            result = {"==": x == y, "!=": x != y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]
            return TValue(INT, value=int(result))
        t = _arith_type(a.ctype, b.ctype)
        if op in ("/", "%") and y == 0:
            raise CExprError("division by zero")
        v = {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y,
             "/": lambda: int(x / y), "%": lambda: x - int(x / y) * y,
             "<<": lambda: x << y, ">>": lambda: x >> y,
             "&": lambda: x & y, "|": lambda: x | y, "^": lambda: x ^ y}[op]()
        return TValue(t, value=_wrap(v, t))

    def cast(self, ctype: CType, tv: TValue) -> TValue:
        if ctype.kind in ("struct", "array"):
            if not tv.is_lvalue:
                raise CExprError(f"cannot cast a number to {ctype.name}: cast a pointer, "
                                 f"*({ctype.name} *) ADDR")
            return TValue(ctype, address=tv.address, space=tv.space, name=tv.name)
        v = self.scalar(tv)
        return TValue(ctype, value=_wrap(v, ctype), name=tv.name, space=self.env.space_of(tv))

    def index(self, tv: TValue, i: int) -> TValue:
        t = tv.ctype
        if t.kind == "array" and t.target is not None:
            if t.count and not 0 <= i < t.count:
                raise CExprError(f"{tv.name}[{i}]: index outside 0..{t.count - 1}")
            if tv.address is None:
                raise CExprError(f"{tv.name} has no address")
            return TValue(t.target, address=tv.address + i * t.target.size, space=tv.space,
                          name=f"{tv.name}[{i}]")
        target = self.pointer_target(tv)
        if target.kind == "void":
            raise CExprError(f"{tv.name} is a void pointer: cast it first")
        base = self.scalar(tv)
        return TValue(target, address=(base + i * target.size) & (2**64 - 1), space=self.env.space_of(tv),
                      name=f"{tv.name}[{i}]")

    def member(self, op: str, tv: TValue, name: str) -> TValue:
        if op == "->":
            tv = self.deref(tv)
        t = tv.ctype
        if t.kind != "struct":
            raise CExprError(f"{tv.name}: .{name} needs a struct (it is {t.name})")
        m = next((mm for mm in t.members or [] if mm[0] == name), None)
        if m is None:
            names = ", ".join(mm[0] for mm in t.members or [])
            raise CExprError(f"{tv.name}: {t.name} has no member {name!r} (members: {names})")
        if tv.address is None:
            raise CExprError(f"{tv.name} has no address")
        return TValue(m[2], address=tv.address + m[1], space=tv.space, name=f"{tv.name}{op}{name}")


def _arith_type(a: CType, b: CType) -> CType:
    size = max(a.size if a.size in (1, 2, 4, 8) else 8, b.size if b.size in (1, 2, 4, 8) else 8, 4)
    unsigned = any(t.kind in ("uint", "pointer") and t.size == size for t in (a, b))
    return (ULONG if unsigned else LONG) if size == 8 else (UINT if unsigned else INT)


def _wrap(v: int, t: CType) -> int:
    if t.kind in ("int", "uint", "char", "bool", "enum", "pointer") and t.size in (1, 2, 4, 8):
        bits = 8 * t.size
        v &= (1 << bits) - 1
        if t.kind == "int" and v >> (bits - 1):
            v -= 1 << bits
    return v


def parse(text: str, is_type=lambda name: False):
    if not text.strip():
        raise CExprError("which expression? e.g. print $sp + 8, print *cpus[0].proc")
    return Parser(text, is_type).parse()


def names_in(tree) -> list[str]:
    """Every name a tree mentions (for conditions: which fields/variables it reads)."""
    if not isinstance(tree, tuple):
        return []
    if tree[0] == "name":
        return [tree[1]]
    out = []
    for part in tree[1:]:
        out += names_in(part)
    return out
