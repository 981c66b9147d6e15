"""Reading what users type where an address or a value goes.

    0x80001000   4096   kerneltrap   kerneltrap+16   $sp   $a0+8   phys:0x80000000   &proc
    proc[1].name   cpus[0].proc->trapframe   (char *) $a1   forkexec:main

`parse_address(session, text)` returns an Address: the number and whether it
is physical (`phys:` / `p:` prefix) or virtual (in the current process's
address space, or the kernel's when the hart runs in the kernel).
"""

from __future__ import annotations

from dataclasses import dataclass

from rvtrace.errors import UserError

from rvtrace.cpu.arch import ABI_NAMES, PAGE_SIZE, REGISTER_NUMBER, SV39_MAXVA  # noqa: F401  (written once)

# Where xv6-style kernels map the trampoline page in every address space (MAXVA - PGSIZE, Sv39).
TRAMPOLINE = SV39_MAXVA - PAGE_SIZE


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
    """The address an expression names (cenv.py evaluates it as C): a pointer or number is the
    address; an array, struct, function or a variable that is not a pointer names its own memory
    (`x/s proc[1].name`, `x/4gx ticks`, `x/3i kerneltrap`); `$sp + 16` is sp plus 16 bytes."""
    from rvtrace.debugger.cenv import evaluate as c_evaluate, scalar_of
    tv = c_evaluate(session, text)
    if tv.is_lvalue and tv.ctype.kind != "pointer":
        return tv.address & (2**64 - 1)
    return scalar_of(session, tv) & (2**64 - 1)


def watch_target(session, text: str) -> tuple[Address, int | None]:
    """What `watch EXPR` watches: a variable's own bytes (its size), or the memory at an address
    (size None: the caller's default)."""
    text = text.strip()
    for prefix in ("phys:", "p:", "physical:"):
        if text.startswith(prefix):
            return parse_address(session, text), None
    from rvtrace.debugger.cenv import evaluate as c_evaluate, scalar_of
    tv = c_evaluate(session, text)
    if tv.is_lvalue and tv.ctype.kind != "function":
        return Address(tv.address), (tv.ctype.size or None)
    return Address(scalar_of(session, tv) & (2**64 - 1)), None
