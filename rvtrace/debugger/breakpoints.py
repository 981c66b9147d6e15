"""Breakpoints: what `break SPEC [if COND]` stops on, and the numbered table of them.

Two families, as in rr:
- event breakpoints stop on an event of the trace (`break exec`, `break write
  if pid == 3`, `break pagefault cow`, `break output "THIS"`); finding them
  walks the event index, no emulation;
- pc breakpoints (`break *0x80001c2e`, `break kerneltrap`) stop when a hart is
  about to execute an address; finding them needs the replay engine's
  instruction-level search.

`parse_spec` turns the words after `break` into a Breakpoint without a number;
`BreakpointTable` numbers them, enables and disables them, and says which one
an event hits.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Callable

from rvtrace.debugger import expr
from rvtrace.debugger.eventtext import ALL_FIELDS, BASE_FIELDS, RETURN_FIELDS, fields_for_kinds
from rvtrace.errors import UserError
from rvtrace.kernel.syscalls import BUILTIN, SYSCALL_BY_NAME, SyscallTable
from rvtrace.trace.events import FAULT_CAUSES, KIND_BY_NAME, KINDS, Event, Kind

# `break WHAT` words that name a process-lifecycle event rather than the syscall of the same name:
# they stop where it happened (exec: the new image is in place, argv known).
LIFECYCLE = {"exec": Kind.EXEC, "fork": Kind.FORK, "exit": Kind.EXIT}

INTERRUPT_WORDS = {"timer": ("cause", 5), "software": ("cause", 1), "external": ("cause", 9),
                   "disk": ("irq", 1), "uart": ("irq", 10)}
FAULT_WORDS = {name: code for code, name in FAULT_CAUSES.items()}
FAULT_WORDS["write"] = 15
FAULT_WORDS["read"] = 13
COW_RESOLUTIONS = (1, 2)

# The words `break` understands, for help and completion.
EVENT_WORDS = ("exec", "fork", "exit", "syscall", "pagefault", "switch", "interrupt", "output",
               "disk", "console", "reaped", "poweroff")

Match = Callable[[Event], bool]

# What a condition of a pc breakpoint can test (read from the machine at that instruction).
PC_FIELDS = frozenset({"pid", "name", "hart", "pc", "icount", "priv"})


@dataclass
class Breakpoint:
    what: str                                   # the spec as shown by `info breakpoints`
    match: Match | None = None                  # event breakpoints: does this event qualify
    kinds: frozenset = frozenset()              # event kinds it can match (for a fast pre-filter)
    pcs: tuple[int, ...] = ()                   # pc breakpoints: addresses
    condition: expr.Condition | None = None
    temporary: bool = False
    enabled: bool = True
    hits: int = 0
    number: int = 0
    output_text: bytes | None = None            # `break output`: resolved against the console by the session
    events: frozenset = field(default_factory=frozenset)   # `break output`: the event numbers it hits
    watch: "Watch | None" = None                # watchpoints: what memory, which accesses
    space: str | None = None                    # pc breakpoints on a symbol: "kernel" or "user" code
    program: str | None = None                  # ... a user program's: only processes running it

    @property
    def is_pc(self) -> bool:
        return bool(self.pcs)

    @property
    def is_watch(self) -> bool:
        return self.watch is not None

    @property
    def kind_label(self) -> str:
        if self.watch is not None:
            return "hw watchpoint" if self.watch.access == "write" else "read watchpoint"
        return "breakpoint" if self.is_pc else "catchpoint"


@dataclass(frozen=True)
class Watch:
    addr: int
    length: int
    access: str              # "write" or "read"
    physical: bool           # addr is physical; else virtual in the address space of `pid`
    pid: int | None = None


def split_condition(words: str) -> tuple[str, str | None]:
    """`write if pid == 4` -> ("write", "pid == 4")."""
    padded = f" {words} "
    i = padded.find(" if ")
    if i < 0:
        return words.strip(), None
    return padded[:i].strip(), padded[i + 4:].strip()


def parse_spec(text: str, resolve_symbol: Callable[[str], int | None] | None = None,
               temporary: bool = False, c_condition=None, calls: SyscallTable | None = None) -> Breakpoint:
    """A Breakpoint from the words after `break`/`tbreak` (without its number); system calls
    are named as `calls` (the trace's table, kernel.syscalls.table_of) names them."""
    spec, cond_text = split_condition(text)
    if not spec:
        raise UserError("break what? e.g. `break exec`, `break write if pid == 3`, `break *0x80000000` "
                        "(see `help break`)")
    try:
        words = shlex.split(spec)
    except ValueError as exc:
        raise UserError(f"cannot read {spec!r}: {exc}") from None
    bp = _event_breakpoint(words, spec, calls or BUILTIN) or _pc_breakpoint(words, spec, resolve_symbol)
    bp.temporary = temporary
    if cond_text is not None:
        set_condition(bp, cond_text, c_condition)
    return bp


def set_condition(bp: Breakpoint, text: str, c_condition=None) -> None:
    """Parse `text` as bp's condition over the fields its events have; refuse any other name.

    A condition on a system call's return (`ret`, `out`) makes a syscall breakpoint stop where
    the call returns -- `break wait if ret == -1` -- never a condition that is silently false
    on the entry event, which has no return value yet."""
    if bp.is_pc:
        try:
            bp.condition = expr.parse(text, set(PC_FIELDS))
        except expr.ExprError:
            if c_condition is None:
                raise
            bp.condition = c_condition(text)     # a C expression: registers, globals, memory
        return
    kinds = bp.kinds
    if kinds == {Kind.SYSCALL_ENTER}:
        kinds = frozenset({Kind.SYSCALL_ENTER, Kind.SYSCALL_EXIT})
    known = set(fields_for_kinds(kinds) if kinds else ALL_FIELDS) | set(BASE_FIELDS)
    try:
        cond = expr.parse(text, known)
    except expr.ExprError as exc:
        bad = RETURN_FIELDS & set(expr.names_in(text))
        if bad and kinds:
            head = bp.what.split()[0]
            hint = (f"`break syscall {head} if {text.strip()}`" if head in SYSCALL_BY_NAME
                    else "e.g. `break wait if ret == -1`")
            raise expr.ExprError(f"`{bp.what}` stops at events that have no {'/'.join(sorted(bad))}: only "
                                 f"a system call's return has one; write {hint}") from None
        raise exc
    if bp.kinds == {Kind.SYSCALL_ENTER} and cond.names & RETURN_FIELDS:
        bp.kinds = frozenset({Kind.SYSCALL_EXIT})       # the match tests `num`, which exits have too
    elif bp.kinds == {Kind.SYSCALL_EXIT} and not cond.names & RETURN_FIELDS:
        bp.kinds = frozenset({Kind.SYSCALL_ENTER})      # a new condition without ret: back to entry
    bp.condition = cond


def _event_breakpoint(words: list[str], spec: str, calls: SyscallTable) -> Breakpoint | None:
    head, rest = words[0], words[1:]
    if head in LIFECYCLE:
        kind = LIFECYCLE[head]
        if head == "exec" and rest:          # `break exec echo`: only that program
            path = rest[0]
            return Breakpoint(spec, lambda ev: _basename(ev.fields.get("path")) == _basename(path),
                              frozenset({kind}))
        _no_more(rest, head)
        return Breakpoint(spec, _always, frozenset({kind}))
    if head in ("syscall", "catch-syscall"):
        if not rest:
            return Breakpoint(spec, _always, frozenset({Kind.SYSCALL_ENTER}))
        nums = {n for w in rest for n in _syscall_numbers(w, calls)}
        return Breakpoint(spec, lambda ev: ev.fields.get("num") in nums, frozenset({Kind.SYSCALL_ENTER}))
    if calls.numbers_of(head):
        _no_more(rest, head)
        nums = frozenset(calls.numbers_of(head))
        return Breakpoint(spec, lambda ev: ev.fields.get("num") in nums, frozenset({Kind.SYSCALL_ENTER}))
    if head in ("pagefault", "page-fault", "fault"):
        return _pagefault(rest, spec)
    if head == "switch":
        return _switch(rest, spec)
    if head == "interrupt":
        return _interrupt(rest, spec)
    if head == "output":
        if len(rest) != 1 or not rest[0]:
            raise UserError('break output needs the text, quoted: break output "THIS IS"')
        return Breakpoint(spec, None, frozenset({Kind.CONSOLE_OUT}),
                          output_text=rest[0].encode("utf-8", "surrogateescape"))
    if head == "disk":
        _no_more(rest[1:], "disk")
        write = {"read": 0, "write": 1, None: None}.get(rest[0] if rest else None, "bad")
        if write == "bad":
            raise UserError("break disk takes `read` or `write` (or nothing)")
        return Breakpoint(spec, lambda ev: write is None or ev.fields.get("write") == write,
                          frozenset({Kind.DISK_REQUEST}))
    if head == "console":
        _no_more(rest, head)
        return Breakpoint(spec, _always, frozenset({Kind.CONSOLE_OUT}))
    if head in KIND_BY_NAME or head in {info.family for info in KINDS.values()}:
        _no_more(rest, head)
        kinds = frozenset(k for k, info in KINDS.items() if head in (info.name, info.family))
        return Breakpoint(spec, _always, kinds)
    return None


def _pagefault(rest: list[str], spec: str) -> Breakpoint:
    kinds = frozenset({Kind.PAGE_FAULT})
    if not rest:
        return Breakpoint(spec, _always, kinds)
    _no_more(rest[1:], "pagefault")
    word = rest[0]
    if word == "cow":
        return Breakpoint(spec, lambda ev: ev.fields.get("resolution") in COW_RESOLUTIONS, kinds)
    if word in FAULT_WORDS:
        cause = FAULT_WORDS[word]
        return Breakpoint(spec, lambda ev: ev.fields.get("cause") == cause, kinds)
    raise UserError(f"break pagefault takes store, load, exec or cow, not {word!r}")


def _switch(rest: list[str], spec: str) -> Breakpoint:
    kinds = frozenset({Kind.SWITCH})
    if not rest:
        return Breakpoint(spec, _always, kinds)
    if len(rest) == 2 and rest[0] in ("to", "from"):
        pid = _int(rest[1], "a pid")
        key = "to_pid" if rest[0] == "to" else "from_pid"
        return Breakpoint(spec, lambda ev: ev.fields.get(key) == pid, kinds)
    raise UserError("write `break switch`, `break switch to PID` or `break switch from PID`")


def _interrupt(rest: list[str], spec: str) -> Breakpoint:
    kinds = frozenset({Kind.INTERRUPT})
    if not rest:
        return Breakpoint(spec, _always, kinds)
    _no_more(rest[1:], "interrupt")
    if rest[0] not in INTERRUPT_WORDS:
        raise UserError(f"break interrupt takes {', '.join(INTERRUPT_WORDS)}, not {rest[0]!r}")
    key, value = INTERRUPT_WORDS[rest[0]]
    return Breakpoint(spec, lambda ev: ev.fields.get(key) == value, kinds)


def _pc_breakpoint(words: list[str], spec: str, resolve_symbol) -> Breakpoint:
    if len(words) != 1:
        raise UserError(f"unknown breakpoint {spec!r}: see `help break`")
    word = words[0]
    if word.startswith("*"):
        try:
            return Breakpoint(spec, pcs=(int(word[1:], 0),))
        except ValueError:
            sym = resolve_symbol(word[1:]) if resolve_symbol else None
            if sym is not None:
                return _at_symbol(spec, sym)
            raise UserError(f"bad address {word[1:]!r}: write e.g. *0x80000000 or *kerneltrap") from None
    sym = resolve_symbol(word) if resolve_symbol else None
    if sym is None:
        raise UserError(f"unknown breakpoint {word!r}: not an event ({', '.join(EVENT_WORDS)}, "
                        f"a syscall name) nor a known function (see `help break`)")
    return _at_symbol(spec, sym)


def _at_symbol(spec: str, sym) -> Breakpoint:
    """A pc breakpoint at a symbol: an address, or a scope.Symbol that says whose code it is
    (a user program's address means that program's code only, not whatever runs there)."""
    if isinstance(sym, int):
        return Breakpoint(spec, pcs=(sym,))
    return Breakpoint(spec, pcs=(sym.address,), space=sym.space, program=sym.program)


def _no_more(rest: list[str], head: str) -> None:
    if rest:
        raise UserError(f"break {head} takes no argument {' '.join(rest)!r} (conditions go after `if`)")


def _syscall_numbers(word: str, calls: SyscallTable) -> tuple[int, ...]:
    nums = calls.numbers_of(word)
    if nums:
        return nums
    try:
        return (int(word, 0),)
    except ValueError:
        raise UserError(f"unknown system call {word!r}: one of {', '.join(calls.numbers)} "
                        f"(names from {calls.source()}); a number works too") from None


def _int(word: str, what: str) -> int:
    try:
        return int(word, 0)
    except ValueError:
        raise UserError(f"expected {what}, got {word!r}") from None


def _basename(path) -> str | None:
    return path.rsplit("/", 1)[-1] if isinstance(path, str) else None


def _always(ev: Event) -> bool:
    return True


# --- the table -------------------------------------------------------------------------

class BreakpointTable:
    """Numbered breakpoints, as gdb numbers them (from 1, never reused)."""

    def __init__(self):
        self.items: dict[int, Breakpoint] = {}
        self._next = 1

    def add(self, bp: Breakpoint) -> Breakpoint:
        bp.number = self._next
        self._next += 1
        self.items[bp.number] = bp
        return bp

    def get(self, number: int) -> Breakpoint:
        if number not in self.items:
            raise UserError(f"no breakpoint number {number} (see `info breakpoints`)")
        return self.items[number]

    def delete(self, numbers: list[int] | None) -> None:
        if numbers is None:
            self.items.clear()
            return
        for n in numbers:
            self.get(n)
        for n in numbers:
            del self.items[n]

    def set_enabled(self, numbers: list[int] | None, enabled: bool) -> None:
        for bp in (self.items.values() if numbers is None else [self.get(n) for n in numbers]):
            bp.enabled = enabled

    def active(self) -> list[Breakpoint]:
        return [bp for bp in self.items.values() if bp.enabled]

    def event_breakpoints(self) -> list[Breakpoint]:
        return [bp for bp in self.active() if not bp.is_pc and not bp.is_watch]

    def watchpoints(self) -> list[Breakpoint]:
        return [bp for bp in self.active() if bp.is_watch]

    def pc_breakpoints(self) -> list[Breakpoint]:
        return [bp for bp in self.active() if bp.is_pc]

    def hit_by(self, ev: Event, fields_of: Callable[[Event], dict]) -> Breakpoint | None:
        """The first enabled event breakpoint `ev` satisfies (condition included), or None."""
        return next((bp for bp in self.event_breakpoints() if self.matches(bp, ev, fields_of)), None)

    @staticmethod
    def matches(bp: Breakpoint, ev: Event, fields_of: Callable[[Event], dict]) -> bool:
        """Does event breakpoint `bp` stop at `ev` (its condition included)?"""
        if ev.kind not in bp.kinds:
            return False
        if bp.output_text is not None:
            if ev.number not in bp.events:
                return False
        elif not bp.match(ev):
            return False
        return bp.condition is None or bool(bp.condition(fields_of(ev)))

    def watched_kinds(self) -> frozenset:
        """Kinds any enabled event breakpoint may stop on (a quick filter for searches)."""
        out: set = set()
        for bp in self.event_breakpoints():
            out |= bp.kinds
        return frozenset(out)
