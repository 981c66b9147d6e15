"""The event model: every kind of event a trace holds, in one table.

An event is stored as a compact array `[kind, icount, hart, pid, *payload]`:
`kind` a small int (the `Kind` below), `icount` the global count of retired
instructions when it happened (the time axis; never decreases), `hart` the
hart it happened on, `pid` the process the kernel was running there (0 when
none is known). The payload fields of each kind are listed once, in `KINDS`;
the writer checks the count, the reader names them, `rvtrace dump` prints them.

Small enumerations inside payloads (page-fault cause, switch reason, ...) are
stored as ints; the name tables here turn them into words for people. A
reader meeting a code it does not know shows `?N` instead of failing, so a
newer recorder's trace still dumps.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from rvtrace.cpu.arch import INTERRUPT_NAMES, PAGE_FAULT_WORDS


class Kind(enum.IntEnum):
    SYSCALL_ENTER = 0
    SYSCALL_EXIT = 1
    PAGE_FAULT = 2
    SWITCH = 3
    INTERRUPT = 4
    DISK_REQUEST = 5
    DISK_COMPLETE = 6
    FORK = 7
    EXEC = 8
    EXIT = 9
    REAPED = 10
    CONSOLE_OUT = 11
    CONSOLE_IN = 12
    SCHEDULE = 13
    POWEROFF = 14
    END = 15
    COW = 16


@dataclass(frozen=True)
class KindInfo:
    kind: Kind
    name: str                  # as people and `--kind` say it
    family: str                # a group for filters: "syscall", "disk", "process", ...
    fields: tuple[str, ...]    # payload field names, in stored order
    doc: str
    required: int              # the first `required` fields must be stored; later ones were added
                               # since, and a writer may leave them off (readers see None)


def _k(kind, name, family, fields, doc) -> KindInfo:
    """`fields`: names in stored order; those after a `|` are later additions, optional."""
    first, _, later = fields.partition("|")
    return KindInfo(kind, name, family, tuple(fields.replace("|", " ").split()), doc,
                    len(first.split()))


# THE table. Adding a kind: one line here, one formatter in analysis/dump.py,
# one row in docs/trace-format.md.
KINDS: dict[int, KindInfo] = {info.kind: info for info in (
    _k(Kind.SYSCALL_ENTER, "syscall-enter", "syscall", "num args",
       "a process entered a system call; args decoded per rvtrace.kernel.syscalls"),
    _k(Kind.SYSCALL_EXIT, "syscall-exit", "syscall", "num ret out",
       "the call returned `ret` to user mode; for a successful exec there is no return: `ret` "
       "is a0 as the new image starts (argc); `out` holds bytes the kernel copied out "
       "(read's buffer) or None"),
    _k(Kind.PAGE_FAULT, "page-fault", "pagefault", "cause va pc mode resolution",
       "cause (FAULT_CAUSES), faulting virtual address, pc, privilege mode (0 U, 1 S), "
       "resolution (RESOLUTIONS) seen from the page table afterwards"),
    _k(Kind.SWITCH, "switch", "switch", "from_pid to_pid reason backtrace",
       "the hart moved from one process to another (0 = the scheduler/idle); reason "
       "(SWITCH_REASONS); backtrace: kernel function names of the old process, innermost first"),
    _k(Kind.INTERRUPT, "interrupt", "interrupt", "cause irq mode",
       "interrupt taken: cause (INTERRUPT_CAUSES, scause without bit 63), PLIC source for "
       "external ones (else 0), mode it interrupted"),
    _k(Kind.DISK_REQUEST, "disk-request", "disk", "req block write",
       "the driver notified the disk: request id (descriptor head), block, write (0/1)"),
    _k(Kind.DISK_COMPLETE, "disk-complete", "disk", "req block write",
       "the device completed request `req`"),
    _k(Kind.FORK, "fork", "process", "child | shared copied",
       "pid forked `child`; `shared`: pages mapped into both, `copied`: pages copied at fork "
       "(None when the kernel does not tell: it has no trace_fork)"),
    _k(Kind.EXEC, "exec", "process", "path argv | entry",
       "pid replaced its image with `path` run with `argv` (list of str); the new image starts "
       "at `entry` (None when unknown)"),
    _k(Kind.EXIT, "exit", "process", "status",
       "pid exited with `status`"),
    _k(Kind.REAPED, "reaped", "process", "child status",
       "pid's wait() collected the zombie `child`"),
    _k(Kind.CONSOLE_OUT, "console-out", "console", "data",
       "bytes the UART sent, attributed to the pid whose write produced them"),
    _k(Kind.CONSOLE_IN, "console-in", "console", "data",
       "bytes delivered to the UART's receiver"),
    _k(Kind.SCHEDULE, "schedule", "schedule", "decision value",
       "a decision of the seeded scheduler (DECISIONS; hart-run: the stamped hart runs next for "
       "`value` instructions); replay takes decisions from here, not from the seed"),
    _k(Kind.POWEROFF, "poweroff", "end", "status code",
       "the guest wrote `code` to the test device: exit status `status`"),
    _k(Kind.END, "end", "end", "how detail",
       "the last event of a run that closed properly: how it ended (ENDINGS), detail text"),
    _k(Kind.COW, "cow", "pagefault", "va via resolution",
       "the kernel made copy-on-write page `va` writable for pid: resolution cow-copy or "
       "cow-reuse (RESOLUTIONS); via (COW_VIAS): a page-fault trap, or a kernel copy into "
       "user memory (copyout) that never trapped"),
)}

KIND_BY_NAME: dict[str, KindInfo] = {info.name: info for info in KINDS.values()}
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(info.family for info in KINDS.values()))

# --- payload enumerations ------------------------------------------------------

# Page-fault cause: the scause exception codes of RISC-V.
FAULT_CAUSES = PAGE_FAULT_WORDS
RESOLUTIONS = ("unknown", "cow-copy", "cow-reuse", "lazy-alloc", "killed", "fatal")
SWITCH_REASONS = ("unknown", "timer", "sleep", "exit", "yield", "wait", "run", "address-space")
# Interrupt cause codes (scause with the interrupt bit cleared).
INTERRUPT_CAUSES = INTERRUPT_NAMES
COW_VIAS = ("unknown", "trap", "copyout")
DECISIONS = ("hart-run", "disk-latency", "input", "timer-jitter", "pick-hart")
ENDINGS = ("poweroff", "max-insns", "interrupted", "guest-fault", "error", "shell-idle")
MODES = {0: "user", 1: "kernel", 3: "machine"}


def code_of(table, name: str) -> int:
    """The stored code of `name` in one of the tables above (for writers)."""
    if isinstance(table, dict):
        for code, word in table.items():
            if word == name:
                return code
    elif name in table:
        return table.index(name)
    raise ValueError(f"unknown name {name!r}")


def name_of(table, code) -> str:
    """The word for a stored code, `?N` when this rvtrace does not know it."""
    try:
        return table[code]
    except (KeyError, IndexError, TypeError):
        return f"?{code}"


# --- the decoded form, for people -----------------------------------------------

class Event:
    """One event with named fields: `ev.kind_name`, `ev.icount`, `ev.fields["va"]` or `ev.va`."""

    __slots__ = ("number", "kind", "icount", "hart", "pid", "fields")

    def __init__(self, number: int, raw: list):
        self.number = number                      # position in the trace, from 0
        self.kind, self.icount, self.hart, self.pid = raw[0], raw[1], raw[2], raw[3]
        info = KINDS.get(self.kind)
        payload = raw[4:]
        if info is None:
            self.fields = {f"field{i}": v for i, v in enumerate(payload)}
        else:
            # A shorter payload (older writer) leaves the missing fields None;
            # extra values (newer writer) are kept under positional names.
            self.fields = {name: (payload[i] if i < len(payload) else None)
                           for i, name in enumerate(info.fields)}
            for i in range(len(info.fields), len(payload)):
                self.fields[f"field{i}"] = payload[i]

    @property
    def kind_name(self) -> str:
        info = KINDS.get(self.kind)
        return info.name if info else f"kind{self.kind}"

    @property
    def family(self) -> str:
        info = KINDS.get(self.kind)
        return info.family if info else "unknown"

    def __getattr__(self, name: str) -> Any:
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict:
        return {"n": self.number, "kind": self.kind_name, "icount": self.icount,
                "hart": self.hart, "pid": self.pid, **self.fields}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.fields.items())
        return f"<{self.kind_name} #{self.number} @{self.icount} h{self.hart} pid {self.pid}: {inner}>"

    def __eq__(self, other) -> bool:
        return isinstance(other, Event) and self.to_dict() == other.to_dict()


def payload_of(kind: int, fields: dict) -> list:
    """The stored payload of an event given by field name: exactly the table's fields, in its
    order. Raises ValueError for a missing or unknown name (a recorder bug, caught at once)."""
    info = KINDS.get(kind)
    if info is None:
        raise ValueError(f"unknown event kind {kind!r}")
    if len(fields) != len(info.fields) or any(name not in fields for name in info.fields):
        missing = [n for n in info.fields if n not in fields]
        extra = [n for n in fields if n not in info.fields]
        raise ValueError(f"{info.name} has fields {' '.join(info.fields)}"
                         f"{'; missing ' + ', '.join(missing) if missing else ''}"
                         f"{'; unknown ' + ', '.join(extra) if extra else ''}")
    return [fields[name] for name in info.fields]


def field_index(kind: int, name: str) -> int:
    """Position of payload field `name` of `kind` (ValueError when it has no such field)."""
    info = KINDS.get(kind)
    if info is None or name not in info.fields:
        raise ValueError(f"{info.name if info else kind} has no field {name!r}")
    return info.fields.index(name)


def check_event(kind: int, payload: tuple) -> None:
    """Raise ValueError when a writer passes the wrong number of payload fields."""
    info = KINDS.get(kind)
    if info is None:
        raise ValueError(f"unknown event kind {kind!r}")
    if not info.required <= len(payload) <= len(info.fields):
        count = (f"{len(info.fields)}" if info.required == len(info.fields)
                 else f"{info.required} to {len(info.fields)}")
        raise ValueError(f"{info.name} takes {count} payload fields "
                         f"{info.fields}, got {len(payload)}")
