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
from itertools import chain, groupby
from operator import itemgetter

from rvtrace.trace.events import KINDS, Kind
from rvtrace.trace.limits import (  # noqa: F401  (re-exported: the checks below and their callers)
    MAX_HARTS, MIN_MEM_MIB, MAX_MEM_MIB, MAX_KERNEL_BYTES, MAX_DISK_BYTES, MAX_UNDECLARED_BYTES, MAX_CHUNK_EVENTS,
    MAX_CHUNK_BYTES, MAX_DEPTH, MAX_PID, MAX_ICOUNT, MAX_U64, Invalid, depth_ok)


# --- values ------------------------------------------------------------------------

def _any(v) -> bool:
    return type(v) not in (list, tuple, dict) or depth_ok(v)


# What each payload field holds, by name (events.KINDS names the fields of each
# kind): a category, and for integers their range. A field not named here -- one
# added by a newer table -- may hold any value of bounded depth.
U16, U64, S64, PID = (0, (1 << 16) - 1), (0, MAX_U64), (-(1 << 63), MAX_U64), (0, MAX_PID)
FIELD_TYPES = {
    "num": ("int", U16), "ret": ("int", S64), "out": ("opt_bytes", None), "cause": ("int", U64),
    "va": ("int", U64), "pc": ("int", U64), "mode": ("int", U16), "resolution": ("int", U16),
    "from_pid": ("int", PID), "to_pid": ("int", PID), "reason": ("int", U16),
    "backtrace": ("str_list", None), "irq": ("int", U16), "req": ("int", U64), "block": ("int", U64),
    "write": ("int", U16), "child": ("int", PID), "status": ("int", S64), "path": ("opt_str", None),
    "argv": ("str_list", None), "data": ("bytes", None), "decision": ("int", U16), "code": ("int", U64),
    "how": ("int", U16), "via": ("int", U16), "detail": ("opt_str", None),
}
ANY = ("any", None)

WORDS = {"bytes": "bytes", "opt_bytes": "bytes or nil", "opt_str": "a string or nil",
         "str_list": "a list of strings", "any": f"a value nested at most {MAX_DEPTH} deep"}


def _what(category, bounds) -> str:
    if category == "int":
        return f"an integer from {bounds[0]} to {bounds[1]}"
    return WORDS[category]


def _value_ok(category, bounds, v) -> bool:
    if category == "int":
        return type(v) is int and bounds[0] <= v <= bounds[1]
    if category == "bytes":
        return type(v) is bytes
    if category == "opt_bytes":
        return v is None or type(v) is bytes
    if category == "opt_str":
        return v is None or type(v) is str
    if category == "str_list":
        return type(v) is list and all(type(x) is str for x in v)
    return _any(v)


def _column_ok(category, bounds, column: list) -> bool:
    """_value_ok for a whole column of values at once (sets and min/max: no per-value calls)."""
    if not column:
        return True
    types = set(map(type, column))
    if category == "int":
        return types == {int} and bounds[0] <= min(column) and max(column) <= bounds[1]
    if category == "bytes":
        return types == {bytes}
    if category == "opt_bytes":
        return types <= {bytes, type(None)}
    if category == "opt_str":
        return types <= {str, type(None)}
    if category == "str_list":
        return types == {list} and set(map(type, chain.from_iterable(column))) <= {str}
    return column_depth_ok(column)


CONTAINERS = (list, tuple, dict)


def column_depth_ok(column: list, limit: int = MAX_DEPTH) -> bool:
    """depth_ok for every value of `column`, one nesting level of all of them at a time."""
    level = [v for v in column if type(v) in CONTAINERS]
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return False
        inner: list = []
        for v in level:
            if type(v) is dict:
                inner.extend(v.keys())
                inner.extend(v.values())
            else:
                inner.extend(v)
        level = [v for v in inner if type(v) in CONTAINERS]
    return True


def _field_checks():
    return {int(kind): tuple((name, *FIELD_TYPES.get(name, ANY))
                             for name in info.fields)
            for kind, info in KINDS.items()}


FIELD_CHECKS = _field_checks()
END = int(Kind.END)


def check_events(stored: list, *, first_event: int, first_icount: int, harts: int, last_chunk: bool) -> None:
    """Check a chunk's stored events in place of trust; Invalid names the first bad one.

    `stored` holds `[kind, dicount, hart, pid, *payload]` arrays as the file has them.
    A chunk is checked column by column (a few set operations per field, fast); only
    when that finds something is it walked event by event to name the first bad one."""
    try:
        if _chunk_ok(stored, harts, last_chunk):
            return
    except TypeError:        # values that do not even compare: walk to the bad one
        pass
    _first_bad(stored, first_event, harts, last_chunk)
    raise Invalid(f"events {first_event}..{first_event + len(stored) - 1} are malformed")


def _chunk_ok(stored: list, harts: int, last_chunk: bool) -> bool:
    if not stored:
        return True
    if set(map(type, stored)) != {list} or min(map(len, stored)) < 4:
        return False
    kinds = [ev[0] for ev in stored]
    dicounts = [ev[1] for ev in stored]
    hart_ids = {ev[2] for ev in stored}
    pids = {ev[3] for ev in stored}
    if set(map(type, kinds)) != {int} or not set(kinds) <= FIELD_CHECKS.keys():
        return False
    if set(map(type, dicounts)) != {int} or min(dicounts) < 0 or dicounts[0] != 0:
        return False
    if set(map(type, hart_ids)) != {int} or min(hart_ids) < 0 or max(hart_ids) >= harts:
        return False
    if set(map(type, pids)) != {int} or min(pids) < 0 or max(pids) > MAX_PID:
        return False
    if END in kinds and (not last_chunk or kinds.index(END) != len(kinds) - 1):
        return False
    for kind, grouped in groupby(sorted(stored, key=itemgetter(0)), key=itemgetter(0)):
        group = list(grouped)
        fields = FIELD_CHECKS[kind]
        shortest, longest = min(map(len, group)), max(map(len, group))
        columns = list(zip(*group))           # one tuple per position, up to the shortest event
        for j, (_, category, bounds) in enumerate(fields):
            column = columns[4 + j] if 4 + j < shortest else [ev[4 + j] for ev in group if len(ev) > 4 + j]
            if not _column_ok(category, bounds, column):
                return False
        if longest > 4 + len(fields):
            extra = [v for ev in group for v in ev[4 + len(fields):]]
            if not column_depth_ok(extra):
                return False
    return True


def _first_bad(stored: list, first_event: int, harts: int, last_chunk: bool) -> None:
    """Walk the events in order; raise Invalid for the first one that breaks a rule."""
    last = len(stored) - 1
    for i, ev in enumerate(stored):
        n = first_event + i
        if type(ev) is not list or len(ev) < 4:
            raise Invalid(f"event {n} is not an event array")
        kind, dicount, hart, pid = ev[0], ev[1], ev[2], ev[3]
        fields = FIELD_CHECKS.get(kind) if type(kind) is int else None
        if fields is None:
            raise Invalid(f"event {n} has an unknown kind {_show(kind)}")
        if type(dicount) is not int or dicount < 0 or (i == 0 and dicount != 0):
            raise Invalid(f"event {n}: its icount goes back in time")
        if type(hart) is not int or not 0 <= hart < harts:
            raise Invalid(f"event {n}: hart {_show(hart)} on a {harts}-hart machine")
        if type(pid) is not int or not 0 <= pid <= MAX_PID:
            raise Invalid(f"event {n}: pid {_show(pid)} is not a process id")
        if kind == END and not (last_chunk and i == last):
            raise Invalid(f"event {n}: an END event before the last event")
        for j in range(4, len(ev)):
            name, category, bounds = fields[j - 4] if j - 4 < len(fields) else (f"#{j - 4}", *ANY)
            if not _value_ok(category, bounds, ev[j]):
                raise Invalid(f"event {n} ({KINDS[kind].name}): field {name} is {_show(ev[j])}, "
                              f"expected {_what(category, bounds)}")


def _show(v) -> str:
    text = repr(v) if depth_ok(v, 2) else f"a {type(v).__name__} nested too deep"
    return text if len(text) <= 40 else text[:37] + "..."


# --- the header ----------------------------------------------------------------------

def _uint(v) -> bool:
    return type(v) is int and 0 <= v <= MAX_U64


def _str(v) -> bool:
    return type(v) is str


def _opt_str(v) -> bool:
    return v is None or type(v) is str


def _opt_bytes(v) -> bool:
    return v is None or type(v) is bytes


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
