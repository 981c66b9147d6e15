"""Reading what users type where an address or a value goes.

    0x80001000   4096   kerneltrap   kerneltrap+16   $sp   $a0+8   phys:0x80000000   &proc

`parse_address(session, text)` returns an Address: the number and whether it
is physical (`phys:` / `p:` prefix) or virtual (in the current process's
address space, or the kernel's when the hart runs in the kernel).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rvtrace.errors import UserError

# Register names: ABI names and x0..x31, in register-number order.
ABI_NAMES = ("zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3",
             "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
             "t3", "t4", "t5", "t6")
REGISTER_NUMBER = {name: i for i, name in enumerate(ABI_NAMES)}
# Where xv6-style kernels map the trampoline page in every address space (MAXVA - PGSIZE, Sv39).
TRAMPOLINE = (1 << 38) - 4096
REGISTER_NUMBER.update({f"x{i}": i for i in range(32)})
REGISTER_NUMBER["fp"] = 8

_TERM = re.compile(r"\s*([+-])?\s*([^\s+-]+)")


@dataclass(frozen=True)
class Address:
    value: int
    physical: bool = False

    def __str__(self) -> str:
        return f"phys:{self.value:#x}" if self.physical else f"{self.value:#x}"


def parse_address(session, text: str) -> Address:
    text = text.strip()
    physical = False
    for prefix in ("phys:", "p:", "physical:"):
        if text.startswith(prefix):
            physical, text = True, text[len(prefix):].strip()
            break
    if not text:
        raise UserError("which address? e.g. 0x80000000, kerneltrap, $sp+16, phys:0x80000000")
    return Address(evaluate(session, text), physical)


def evaluate(session, text: str) -> int:
    """A sum of terms: numbers, $registers, symbols (`&sym` too), joined by + and -."""
    text = text.strip()
    pos, total, first = 0, 0, True
    while pos < len(text):
        m = _TERM.match(text, pos)
        if not m or (m.group(1) is None and not first):
            raise UserError(f"cannot read the address {text!r}: write e.g. 0x80001000, $sp+16 or a symbol")
        sign = -1 if m.group(1) == "-" else 1
        total += sign * term_value(session, m.group(2))
        pos, first = m.end(), False
        if text[pos:].strip() == "":
            break
    return total & (2**64 - 1)


def term_value(session, word: str) -> int:
    word = word.lstrip("&")
    if word.startswith("$"):
        return session.machine.register_value(word[1:])
    try:
        return int(word, 0)
    except ValueError:
        pass
    addr = session.resolve_symbol(word)
    if addr is None:
        raise UserError(f"no symbol {word!r} in the kernel (or the current program); "
                        "give an address like 0x80001000")
    return addr
