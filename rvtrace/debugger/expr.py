"""The condition language of breakpoints and event filters -- small, safe, no eval().

    pid == 4
    name == "forkexec" and hart != 1
    not (fd == 1 or n > 10)
    path == "echo" or argv == "THIS"

Grammar (lowest precedence first):

    expr    := and ( ("or" | "||") and )*
    and     := not ( ("and" | "&&") not )*
    not     := ("not" | "!") not | compare
    compare := operand [ ("==" | "!=" | "<" | ">" | "<=" | ">=") operand ]
    operand := INT | STRING | NAME | "(" expr ")"

INT is decimal, 0x hex or negative; STRING is double- or single-quoted with
backslash escapes; NAME is a field of the event (`pid`, `name`, `hart`, the
payload fields, syscall arguments by name). A bare NAME is true when the
field is non-zero / non-empty. Callers give `parse` the names the events
it will see can have, so a name none of them has is refused; among those
events, one without the field makes a comparison false: `break syscall if
fd == 1` skips calls without an `fd`. Comparing a list (argv) with `==` asks whether the
list holds the value.

`parse(text, known)` checks names against `known` so a typo is caught when
the breakpoint is set, not silently never matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from rvtrace.errors import UserError

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<num>-?0[xX][0-9a-fA-F]+|-?\d+)
    | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>==|!=|<=|>=|&&|\|\||[<>()!=])
    | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
    )""", re.VERBOSE)

_COMPARE_OPS = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b, ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
}

_MISSING = object()


class ExprError(UserError):
    """A condition that does not parse; its message points at the problem."""


@dataclass(frozen=True)
class Token:
    kind: str       # num str op name end
    value: object
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            bad = text[pos:].lstrip()
            raise ExprError(f"bad expression {text!r}: cannot read {bad[:10]!r}")
        kind = m.lastgroup
        raw = m.group(kind)
        start = m.start(kind)
        if kind == "num":
            value = int(raw, 16) if raw.lower().lstrip("-").startswith("0x") else int(raw, 10)
        elif kind == "str":
            value = _unescape(raw[1:-1])
        elif kind == "name" and raw in ("and", "or", "not"):
            kind, value = "op", raw
        else:
            value = raw
        if kind == "op":
            value = {"&&": "and", "||": "or", "!": "not", "=": "=="}.get(value, value)
        tokens.append(Token(kind, value, start))
        pos = m.end()
    tokens.append(Token("end", None, len(text)))
    return tokens


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "0": "\0"}.get(m.group(1), m.group(1)), body)


# --- the tree: each node is a function of the event's fields --------------------

Fields = Mapping[str, object]
Node = Callable[[Fields], object]


class Condition:
    """A parsed condition: `cond(fields) -> bool`; `str(cond)` is the text it came from."""

    def __init__(self, text: str, node: Node, names: frozenset[str]):
        self.text, self._node, self.names = text, node, names

    def __call__(self, fields: Fields) -> bool:
        return _truth(self._node(fields))

    def __str__(self) -> str:
        return self.text


def names_in(text: str) -> list[str]:
    """The field names a condition mentions (for messages; no parsing)."""
    try:
        return [t.value for t in tokenize(text) if t.kind == "name"]
    except ExprError:
        return []


def parse(text: str, known: Iterable[str] | None = None) -> Condition:
    """Parse `text`; with `known`, every field name must be one of them."""
    if not text.strip():
        raise ExprError("empty condition: write e.g. `pid == 4`")
    parser = _Parser(text, tokenize(text), set(known) if known is not None else None)
    node = parser.expr()
    parser.expect_end()
    return Condition(text.strip(), node, frozenset(parser.names))


class _Parser:
    def __init__(self, text, tokens, known):
        self.text, self.tokens, self.known, self.i = text, tokens, known, 0
        self.names: set[str] = set()

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, tok: Token, what: str) -> ExprError:
        where = "at the end" if tok.kind == "end" else f"at {self.text[tok.pos:tok.pos + 12]!r}"
        return ExprError(f"bad expression {self.text.strip()!r}: {what} {where}")

    def at(self, value: str) -> bool:
        tok = self.peek()
        return tok.kind == "op" and tok.value == value

    def expect_end(self) -> None:
        if self.peek().kind != "end":
            raise self.error(self.peek(), "unexpected text")

    def expr(self) -> Node:
        node = self.conj()
        while self.at("or"):
            self.take()
            left, right = node, self.conj()
            node = lambda f, left=left, right=right: _truth(left(f)) or _truth(right(f))
        return node

    def conj(self) -> Node:
        node = self.negation()
        while self.at("and"):
            self.take()
            left, right = node, self.negation()
            node = lambda f, left=left, right=right: _truth(left(f)) and _truth(right(f))
        return node

    def negation(self) -> Node:
        if self.at("not"):
            self.take()
            inner = self.negation()
            return lambda f: not _truth(inner(f))
        return self.compare()

    def compare(self) -> Node:
        left = self.operand()
        tok = self.peek()
        if tok.kind == "op" and tok.value in _COMPARE_OPS:
            self.take()
            right = self.operand()
            op = tok.value
            return lambda f: _compare(op, left(f), right(f))
        return left

    def operand(self) -> Node:
        tok = self.take()
        if tok.kind in ("num", "str"):
            value = tok.value
            return lambda f: value
        if tok.kind == "name":
            name = tok.value
            if self.known is not None and name not in self.known:
                choices = ", ".join(sorted(self.known))
                raise ExprError(f"bad expression {self.text.strip()!r}: no field {name!r} "
                                f"(fields here: {choices})")
            self.names.add(name)
            return lambda f: f.get(name, _MISSING)
        if tok.kind == "op" and tok.value == "(":
            node = self.expr()
            if not self.at(")"):
                raise self.error(self.peek(), "expected `)`")
            self.take()
            return node
        raise self.error(tok, "expected a number, a string or a field name")


def _compare(op: str, a, b) -> bool:
    if a is _MISSING or b is _MISSING:
        return False
    if isinstance(a, bytes):
        a = a.decode("utf-8", "replace")
    if isinstance(b, bytes):
        b = b.decode("utf-8", "replace")
    if op in ("==", "!=") and isinstance(a, (list, tuple)) and not isinstance(b, (list, tuple)):
        return (b in a) == (op == "==")
    try:
        return bool(_COMPARE_OPS[op](a, b))
    except TypeError:          # "echo" < 4: different kinds never order
        return op == "!="


def _truth(value) -> bool:
    return value is not _MISSING and value is not None and bool(value)
