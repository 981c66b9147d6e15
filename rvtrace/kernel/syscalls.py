"""THE system call table: xv6-riscv's calls 1..21 and ours, 22 and 23.

One line per call: number, name, arguments (name and kind), and what it
returns. The recorder decodes a call's arguments from this table (reading
strings and buffers from guest memory); `rvtrace dump` and the debugger print
them from it. Nothing else lists syscalls.

Which name a number has is the recorded kernel's business: a 6.S081 lab kernel
puts its own calls (`trace`, `sysinfo`, ...) at 22 and up. So a trace carries
the names read from its kernel's dispatch table (`SyscallTable.of_kernel`: the
`syscalls` array of function pointers, each named by its `sys_*` function), and
everything that turns a call into text asks that trace's SyscallTable. Arguments
are decoded only where the kernel's name for a number is the name this table
gives it (xv6's meaning is then known); other calls show raw registers. A trace
without names (older, or a kernel without the symbol) falls back to this table
and says so.

Argument kinds and what the recorder stores for them in a syscall-enter event:
  int   a plain integer                      -> int
  fd    a file descriptor                    -> int
  path  a NUL-terminated string              -> str (None if unreadable)
  ptr   a user pointer, shown in hex         -> int
  argv  a NULL-terminated array of strings   -> list[str]
  inbuf bytes the kernel reads (write's buf; length in the argument named by `length`)
                                              -> bytes (possibly shortened)
  outbuf a buffer the kernel fills (read's)  -> int (the pointer); the bytes come
                                                in the syscall-exit event's `out`
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INT, FD, PATH, PTR, ARGV, INBUF, OUTBUF = "int", "fd", "path", "ptr", "argv", "inbuf", "outbuf"


@dataclass(frozen=True)
class Arg:
    name: str
    kind: str
    length: str | None = None      # for inbuf/outbuf: the argument holding the byte count


@dataclass(frozen=True)
class Syscall:
    number: int
    name: str
    args: tuple[Arg, ...]
    returns: str                   # "int", "pid", "fd", "addr" (exec: entry, sbrk: old break), "noreturn"

    @property
    def arg_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.args)


def _sys(number, name, signature, returns="int") -> Syscall:
    """`signature` like "fd:fd buf:inbuf/n n:int" -- name:kind[/length-arg]."""
    args = []
    for item in signature.split():
        aname, spec = item.split(":")
        kind, _, length = spec.partition("/")
        args.append(Arg(aname, kind, length or None))
    return Syscall(number, name, tuple(args), returns)


SYSCALLS: dict[int, Syscall] = {s.number: s for s in (
    _sys(1, "fork", "", "pid"),
    _sys(2, "exit", "status:int", "noreturn"),
    _sys(3, "wait", "status:ptr", "pid"),
    _sys(4, "pipe", "fds:ptr"),
    _sys(5, "read", "fd:fd buf:outbuf/n n:int"),
    _sys(6, "kill", "pid:int"),
    _sys(7, "exec", "path:path argv:argv", "addr"),
    _sys(8, "fstat", "fd:fd st:ptr"),
    _sys(9, "chdir", "path:path"),
    _sys(10, "dup", "fd:fd", "fd"),
    _sys(11, "getpid", "", "pid"),
    _sys(12, "sbrk", "n:int", "addr"),
    _sys(13, "sleep", "ticks:int"),
    _sys(14, "uptime", ""),
    _sys(15, "open", "path:path flags:int", "fd"),
    _sys(16, "write", "fd:fd buf:inbuf/n n:int"),
    _sys(17, "mknod", "path:path major:int minor:int"),
    _sys(18, "unlink", "path:path"),
    _sys(19, "link", "old:path new:path"),
    _sys(20, "mkdir", "path:path"),
    _sys(21, "close", "fd:fd"),
    _sys(22, "poweroff", "status:int", "noreturn"),
    _sys(23, "kstats", "stats:ptr"),
)}

SYSCALL_BY_NAME: dict[str, Syscall] = {s.name: s for s in SYSCALLS.values()}

MAX_CALLS = 4096                       # entries of a kernel's table rvtrace reads
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")     # what a trace may call a syscall


class SyscallTable:
    """The system calls of one kernel: number -> name, and the signature (arguments,
    return) of the calls whose meaning is known.

    `names` None: the built-in table above, and `why` says why the kernel's own
    names are not known. Otherwise the names read from the kernel; a number keeps
    its signature only if the kernel names it as SYSCALLS does."""

    def __init__(self, names: dict[int, str] | None = None, why: str = ""):
        self.from_kernel = names is not None
        self.why = "" if self.from_kernel else why
        if names is None:
            names = {n: s.name for n, s in SYSCALLS.items()}
        self.names = dict(sorted(names.items()))
        self.calls = {n: SYSCALLS[n] for n, name in self.names.items()
                      if n in SYSCALLS and SYSCALLS[n].name == name}
        self.numbers: dict[str, tuple[int, ...]] = {}     # a kernel may list one function twice
        for n, name in self.names.items():
            self.numbers[name] = self.numbers.get(name, ()) + (n,)

    def name(self, number: int) -> str:
        """The kernel's name for a call; a number it has no name for says just that."""
        name = self.names.get(number)
        return name if name is not None else f"syscall{number}"

    def signature(self, number: int) -> Syscall | None:
        """The call's arguments and return, where its meaning is known."""
        return self.calls.get(number)

    def numbers_of(self, name: str) -> tuple[int, ...]:
        """The numbers the kernel dispatches to the call of that name (none: empty)."""
        return self.numbers.get(name, ())

    def source(self) -> str:
        """Where the names come from, in words."""
        if self.from_kernel:
            return "the names of the recorded kernel's syscalls[] table"
        return f"rvtrace's built-in xv6 table ({self.why})" if self.why else "rvtrace's built-in xv6 table"

    # --- carried in a trace's metadata ----------------------------------------------

    def to_metadata(self) -> dict:
        if self.from_kernel:
            return {"names": [[n, name] for n, name in self.names.items()]}
        return {"names": None, "why": self.why}

    @classmethod
    def of_metadata(cls, meta) -> SyscallTable:
        """The table a trace's metadata carries (`syscalls`), or the built-in one."""
        entry = (meta or {}).get("syscalls")
        if not isinstance(entry, dict):
            return PRE_TABLE_TRACES
        names = entry.get("names")
        if isinstance(names, list) and len(names) <= MAX_CALLS and all(
                isinstance(p, list) and len(p) == 2 and isinstance(p[0], int) and 0 <= p[0] < MAX_CALLS
                and isinstance(p[1], str) and _IDENTIFIER.fullmatch(p[1]) for p in names):
            return cls({n: name for n, name in names})
        why = entry.get("why")
        return cls(None, why if isinstance(why, str) else "the trace does not say why")

    @classmethod
    def of_kernel(cls, image) -> SyscallTable:
        """The names of a kernel's `syscalls` array (a KernelImage, or None): entry i
        points at the function for call i, `sys_trace` naming call `trace`."""
        if image is None or not getattr(image, "has_symbols", False):
            return cls(None, "the kernel has no symbols")
        found = image.symbols.get("syscalls")
        if found is None:
            return cls(None, "the kernel has no `syscalls` table symbol")
        addr, size = found
        data = image.initial_bytes(addr, size) if 0 < size <= 8 * MAX_CALLS and size % 8 == 0 else None
        if data is None:
            return cls(None, "the kernel's `syscalls` symbol is not an initialised array of pointers")
        names = {}
        for number in range(size // 8):
            ptr = int.from_bytes(data[8 * number:8 * number + 8], "little")
            fn = image.function_at(ptr) if ptr else None
            if fn is not None and fn[1] == 0:
                names[number] = fn[0][len("sys_"):] if fn[0].startswith("sys_") else fn[0]
            elif ptr:
                return cls(None, f"entry {number} of the kernel's `syscalls` table is not a function")
        if not names:
            return cls(None, "the kernel's `syscalls` table is empty")
        return cls(names)


def table_of(header) -> SyscallTable:
    """The syscall table a trace's header carries (kept on the header once made);
    None: the built-in table."""
    if header is None:
        return BUILTIN
    table = getattr(header, "_syscall_table", None)
    if table is None:
        table = SyscallTable.of_metadata(getattr(header, "metadata", None))
        try:
            header._syscall_table = table
        except AttributeError:
            pass                                  # a header that takes no attributes: make it again
    return table


BUILTIN = SyscallTable(None)
PRE_TABLE_TRACES = SyscallTable(None, "the trace was recorded before rvtrace read the kernel's syscall names")

# How many bytes of a write/read buffer the recorder keeps in an event.
MAX_BUFFER_BYTES = 256


def syscall_name(number: int, table: SyscallTable | None = None) -> str:
    return (table or BUILTIN).name(number)


def format_value(kind: str, value) -> str:
    """One decoded argument as strace would show it."""
    if value is None:
        return "?" if kind in (PATH, ARGV, INBUF) else "NULL"
    if kind in (PTR, OUTBUF) and isinstance(value, int):
        return hex(value)
    if kind == PATH and isinstance(value, str):
        return quote(value)
    if kind == ARGV and isinstance(value, list):
        return "[" + ",".join(quote(v) if isinstance(v, str) else repr(v) for v in value) + "]"
    if isinstance(value, bytes):
        return quote(value)
    return str(value)


def format_call(number: int, args, table: SyscallTable | None = None) -> str:
    """`write(1, "hi\\n", 3)` from a syscall-enter event's number and stored args."""
    table = table or BUILTIN
    s = table.signature(number)
    args = list(args or [])
    if s is None:
        return f"{table.name(number)}({', '.join(format_value(INT, a) for a in args)})"
    shown = [format_value(a.kind, args[i] if i < len(args) else None) for i, a in enumerate(s.args)]
    return f"{s.name}({', '.join(shown)})"


def format_return(number: int, ret, table: SyscallTable | None = None) -> str:
    s = (table or BUILTIN).signature(number)
    if isinstance(ret, int) and s is not None and s.returns == "addr" and ret not in (-1,):
        return hex(ret)
    return str(ret)


def quote(text) -> str:
    """A C-style double-quoted string of str or bytes, escapes for what is not printable."""
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogateescape")
    out = []
    for b in text:
        ch = chr(b)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif 32 <= b < 127:
            out.append(ch)
        else:
            out.append(f"\\x{b:02x}")
    return '"' + "".join(out) + '"'


# --- decoding arguments from guest memory (for the recorder) ----------------------

MAX_PATH_BYTES = 128      # xv6's MAXPATH
MAX_ARGV = 32             # xv6's MAXARG


def decode_args(number: int, regs, read, table: SyscallTable | None = None) -> list:
    """The stored `args` of a syscall-enter event.

    `regs` are the raw argument registers a0..a5 (ints); `read(va, size)`
    reads the calling process's memory and returns bytes, or None (or raises)
    where nothing is mapped. Strings and buffers that cannot be read are
    stored as None rather than failing the recording. A call whose meaning
    the table does not know keeps a0..a2 as they are.
    """
    s = (table or BUILTIN).signature(number)
    if s is None:
        return [_signed(r) for r in regs[:3]]
    values = dict(zip(s.arg_names, regs))
    out = []
    for i, a in enumerate(s.args):
        raw = regs[i] if i < len(regs) else 0
        if a.kind in (INT, FD):
            out.append(_signed(raw))
        elif a.kind == PATH:
            out.append(read_cstring(read, raw))
        elif a.kind == ARGV:
            out.append(read_argv(read, raw))
        elif a.kind == INBUF:
            n = max(0, min(_signed(values.get(a.length, 0)), MAX_BUFFER_BYTES))
            out.append(_read(read, raw, n))
        else:                                  # ptr, outbuf: the address itself
            out.append(raw)
    return out


def decode_out(number: int, regs, ret: int, read, table: SyscallTable | None = None) -> bytes | None:
    """The `out` of a syscall-exit event: the bytes an outbuf call filled (read's), else None."""
    s = (table or BUILTIN).signature(number)
    if s is None or _signed(ret) <= 0:
        return None
    for i, a in enumerate(s.args):
        if a.kind == OUTBUF and i < len(regs):
            return _read(read, regs[i], min(_signed(ret), MAX_BUFFER_BYTES))
    return None


def read_cstring(read, va: int, limit: int = MAX_PATH_BYTES) -> str | None:
    """A NUL-terminated string at va (read page by page), None if unreadable or unterminated."""
    out = bytearray()
    while len(out) < limit:
        n = min(limit - len(out), 4096 - (va + len(out)) % 4096)
        data = _read(read, va + len(out), n)
        if data is None:
            return None
        end = data.find(b"\0")
        if end >= 0:
            return (out + data[:end]).decode("utf-8", "surrogateescape")
        out += data
    return None


def read_argv(read, va: int) -> list[str] | None:
    """A NULL-terminated array of string pointers (at most MAX_ARGV)."""
    argv = []
    for i in range(MAX_ARGV + 1):
        raw = _read(read, va + 8 * i, 8)
        if raw is None:
            return None
        ptr = int.from_bytes(raw, "little")
        if ptr == 0:
            return argv
        argv.append(read_cstring(read, ptr))
    return argv


def _read(read, va: int, size: int) -> bytes | None:
    if size == 0:
        return b""
    try:
        data = read(va, size)
    except Exception:       # an unmapped or bad user pointer: record "unknown", keep recording
        return None
    return bytes(data) if data is not None and len(data) == size else None


def _signed(value: int) -> int:
    """A register as the C int the kernel sees (argint takes the low 32 bits, signed)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value
