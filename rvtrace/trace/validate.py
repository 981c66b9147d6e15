"""A trace is untrusted data: everything read from one is checked here first.

Traces travel (a teacher posts one, a student mails one), so the reader
treats every value in them as hostile until checked: the header and its
machine configuration (types, and ranges the machine can actually build),
the embedded kernel and disk (inflated only up to a size declared in the
header and capped here, so a decompression bomb costs nothing), each chunk
(its event count and inflated size capped), and every event against the
event table (a known kind, fields of the right types, pids, harts inside the
machine, icounts that never go back, END only last). Nesting is bounded
everywhere, so no printer recurses without end.

Each check raises `Invalid` with a few words saying what is wrong; the
reader turns it into one line naming the trace and the byte or event.
"""

from __future__ import annotations

import zlib

from rvtrace.trace.events import KINDS, Kind

# --- limits ------------------------------------------------------------------------

MAX_HARTS = 8                        # the board's (rvtrace.machine.config.MAX_HARTS)
MIN_MEM_MIB, MAX_MEM_MIB = 1, 1024   # the board's RAM sizes (rvtrace.machine.config)
MAX_KERNEL_BYTES = 64 << 20          # an inflated kernel ELF
MAX_DISK_BYTES = 128 << 20           # an inflated disk image (xv6's is 2 MiB)
MAX_UNDECLARED_BYTES = 32 << 20      # either, from a trace that does not declare its sizes
MAX_CHUNK_EVENTS = 1 << 16           # events in one chunk (the writer uses at most 4096)
MAX_CHUNK_BYTES = 32 << 20           # one chunk's inflated events
MAX_DEPTH = 8                        # nesting of any value inside an event or the metadata
MAX_PID = (1 << 31) - 1              # a C int, as the kernel's
MAX_ICOUNT = (1 << 63) - 1
MAX_U64 = (1 << 64) - 1


class Invalid(Exception):
    """What is wrong with a value read from a trace, in a few words."""


# --- values ------------------------------------------------------------------------

def depth_ok(value, limit: int = MAX_DEPTH) -> bool:
    """True when `value` nests lists and maps at most `limit` deep (iterative: no recursion)."""
    stack = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (list, tuple)):
            if d >= limit:
                return False
            stack.extend((x, d + 1) for x in v)
        elif isinstance(v, dict):
            if d >= limit:
                return False
            stack.extend((x, d + 1) for x in v.keys())
            stack.extend((x, d + 1) for x in v.values())
    return True


def _int(v) -> bool:
    return type(v) is int


def _uint(v) -> bool:
    return type(v) is int and 0 <= v <= MAX_U64


def _sint64(v) -> bool:
    return type(v) is int and -(1 << 63) <= v <= MAX_U64


def _pid(v) -> bool:
    return type(v) is int and 0 <= v <= MAX_PID


def _small(v) -> bool:
    return type(v) is int and 0 <= v < (1 << 16)


def _str(v) -> bool:
    return type(v) is str


def _opt_str(v) -> bool:
    return v is None or type(v) is str


def _bytes(v) -> bool:
    return type(v) is bytes


def _opt_bytes(v) -> bool:
    return v is None or type(v) is bytes


def _str_list(v) -> bool:
    return type(v) is list and all(type(s) is str for s in v)


def _any(v) -> bool:
    return v is None or type(v) in (int, str, bytes, float, bool) or depth_ok(v)


# What each payload field holds, by name (events.KINDS names the fields of each
# kind). A field not named here -- one added by a newer table -- may hold any
# value of bounded depth.
FIELD_TYPES = {
    "num": (_small, "a syscall number"),
    "ret": (_sint64, "an integer"),
    "out": (_opt_bytes, "bytes or nil"),
    "cause": (_uint, "a cause code"),
    "va": (_uint, "an address"),
    "pc": (_uint, "an address"),
    "mode": (_small, "a mode code"),
    "resolution": (_small, "a code"),
    "from_pid": (_pid, "a pid"),
    "to_pid": (_pid, "a pid"),
    "reason": (_small, "a code"),
    "backtrace": (_str_list, "a list of names"),
    "irq": (_small, "an irq number"),
    "req": (_uint, "a request number"),
    "block": (_uint, "a block number"),
    "write": (_small, "0 or 1"),
    "child": (_pid, "a pid"),
    "status": (_sint64, "an integer"),
    "path": (_opt_str, "a string"),
    "argv": (_str_list, "a list of strings"),
    "data": (_bytes, "bytes"),
    "decision": (_small, "a decision code"),
    "code": (_uint, "an integer"),
    "how": (_small, "an ending code"),
    "detail": (_opt_str, "a string"),
}

_ANY = (_any, f"a value nested at most {MAX_DEPTH} deep")


def _field_checks():
    table = {}
    for kind, info in KINDS.items():
        table[int(kind)] = tuple((name, *FIELD_TYPES.get(name, _ANY)) for name in info.fields)
    return table


FIELD_CHECKS = _field_checks()


def check_events(stored: list, *, first_event: int, first_icount: int, harts: int, last_chunk: bool) -> None:
    """Check a chunk's stored events in place of trust; Invalid names the first bad one.

    `stored` holds `[kind, dicount, hart, pid, *payload]` arrays as the file has them."""
    checks = FIELD_CHECKS
    last = len(stored) - 1
    for i, ev in enumerate(stored):
        if type(ev) is not list or len(ev) < 4:
            raise Invalid(f"event {first_event + i} is not an event array")
        kind, dicount, hart, pid = ev[0], ev[1], ev[2], ev[3]
        fields = checks.get(kind) if type(kind) is int else None
        if fields is None:
            raise Invalid(f"event {first_event + i} has an unknown kind {_show(kind)}")
        if type(dicount) is not int or dicount < 0 or (i == 0 and dicount != 0):
            raise Invalid(f"event {first_event + i}: its icount goes back in time")
        if type(hart) is not int or not 0 <= hart < harts:
            raise Invalid(f"event {first_event + i}: hart {_show(hart)} on a {harts}-hart machine")
        if type(pid) is not int or not 0 <= pid <= MAX_PID:
            raise Invalid(f"event {first_event + i}: pid {_show(pid)} is not a process id")
        if kind == Kind.END and not (last_chunk and i == last):
            raise Invalid(f"event {first_event + i}: an END event before the last event")
        n = len(fields)
        for j in range(4, len(ev)):
            v = ev[j]
            if j - 4 < n:
                name, ok, what = fields[j - 4]
                if not ok(v):
                    raise Invalid(f"event {first_event + i} ({KINDS[kind].name}): "
                                  f"field {name} is {_show(v)}, expected {what}")
            elif not _any(v):
                raise Invalid(f"event {first_event + i}: an extra field nested too deep")


def _show(v) -> str:
    text = repr(v) if depth_ok(v, 2) else f"a {type(v).__name__} nested too deep"
    return text if len(text) <= 40 else text[:37] + "..."


# --- the header ----------------------------------------------------------------------

def check_header(h) -> dict:
    """The header body map, checked; returns it with the config checked too."""
    if not isinstance(h, dict):
        raise Invalid("the header body is not a map")
    if not depth_ok(h, MAX_DEPTH + 2):
        raise Invalid(f"the header nests deeper than {MAX_DEPTH + 2}")
    config = h.get("config")
    if not isinstance(config, dict):
        raise Invalid("its config is not a map")
    check_config(config)
    for key, ok, what in (("seed", lambda v: v is None or _uint(v), "an unsigned integer"),
                          ("tool_version", _opt_str, "a string"),
                          ("kernel", _opt_bytes, "bytes or nil"),
                          ("disk", _opt_bytes, "bytes or nil"),
                          ("metadata", lambda v: v is None or isinstance(v, dict), "a map"),
                          ("kernel_name", _opt_str, "a string"),
                          ("disk_name", _opt_str, "a string"),
                          ("kernel_sha256", _opt_str, "a string"),
                          ("disk_sha256", _opt_str, "a string"),
                          ("kernel_size", lambda v: v is None or 0 <= _n(v) <= MAX_KERNEL_BYTES,
                           f"a size up to {MAX_KERNEL_BYTES >> 20} MiB"),
                          ("disk_size", lambda v: v is None or 0 <= _n(v) <= MAX_DISK_BYTES,
                           f"a size up to {MAX_DISK_BYTES >> 20} MiB"),
                          ("chunk_events", lambda v: v is None or 1 <= _n(v) <= MAX_CHUNK_EVENTS,
                           f"a count from 1 to {MAX_CHUNK_EVENTS}")):
        if key in h and not ok(h[key]):
            raise Invalid(f"its {key} is {_show(h[key])}, expected {what}")
    return h


def _n(v) -> int:
    return v if type(v) is int else -1


CONFIG_CHECKS = (
    ("kernel", _opt_str, "a file name"),
    ("disk", _opt_str, "a file name or nil"),
    ("bootargs", _str, "a string"),
    ("harts", lambda v: type(v) is int and 1 <= v <= MAX_HARTS, f"an integer from 1 to {MAX_HARTS}"),
    ("seed", _uint, "an unsigned 64-bit integer"),
    ("mem_mib", lambda v: type(v) is int and MIN_MEM_MIB <= v <= MAX_MEM_MIB,
     f"an integer from {MIN_MEM_MIB} to {MAX_MEM_MIB}"),
)


def check_config(config: dict) -> None:
    for key, ok, what in CONFIG_CHECKS:
        if key in config and not ok(config[key]):
            raise Invalid(f"its config's {key} is {_show(config[key])}, expected {what}")


# --- bounded decompression -----------------------------------------------------------------

def inflate(data: bytes, *, declared: int | None, cap: int, what: str,
            undeclared: int | None = None) -> bytes:
    """zlib-inflate `data`, never producing more than `declared` bytes (`cap` at most; with
    no declared size, `undeclared` or else `cap`).

    A bomb -- a small body that inflates to gigabytes -- stops at the limit
    with Invalid instead of filling the memory."""
    limit = declared if declared is not None else min(cap, undeclared or cap)
    if limit > cap:
        raise Invalid(f"the {what} claims {limit} bytes, more than the {cap >> 20} MiB allowed")
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as exc:
        raise Invalid(f"the {what} is corrupted ({exc})") from None
    if len(out) > limit:
        if declared is None:
            raise Invalid(f"the {what} inflates to more than {limit >> 20} MiB")
        raise Invalid(f"the {what} inflates to more than its declared {declared} bytes")
    if not d.eof:
        raise Invalid(f"the {what} is cut short")
    if declared is not None and len(out) != declared:
        raise Invalid(f"the {what} inflates to {len(out)} bytes, not its declared {declared}")
    return out
