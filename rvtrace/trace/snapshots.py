"""Snapshot records: the whole machine at an instruction count, laid by the recorder.

A replay that must reach instruction N re-executes from the nearest state it
has; in a fresh process that is boot. The recorder therefore lays, every few
million instructions, a snapshot record between two chunks:

    ["snapshot", crc, icount, events, body]

`events` is the number of events written to the file before that moment
(the replay's checker continues from there), `body` a zlib-compressed
msgpack map described by `SCHEMA` below, `crc` the CRC-32 of
msgpack([icount, events]) followed by `body`. RAM and the disk image are
stored as page deltas since the previous snapshot (RAM from all zeros, the
disk from the image in the header), so a snapshot costs what the guest
changed; everything else is an explicit map of named fields of known types.

A trace is untrusted input: `decode` inflates no more than the machine could
hold and checks every field against the schema (names, types, ranges,
lengths) before anything uses it; nothing is ever evaluated, unpickled or set
by a name the file chose. Anything wrong raises `Invalid`, and the replay
then does without that snapshot (re-execution from an earlier state gives
the same answer, only later).
"""

from __future__ import annotations

import zlib

from rvtrace.trace import format as fmt
from rvtrace.trace.limits import MAX_DEPTH, MAX_ICOUNT, MAX_PID, MAX_U64, Invalid, depth_ok

PAGE = 4096
LEVEL = 3                      # zlib level: 1/3 the time of level 6 on big deltas, ~1.5x the size
MAX_LIST = 1 << 16             # entries of any list but the page lists
MAX_STR = 4096

# --- the schema -------------------------------------------------------------------------
#
# A type is one of:
#   ("int", lo, hi)        an integer in [lo, hi] (bool is not an int here)
#   ("bool",)
#   ("bytes", max_len)     msgpack bin
#   ("str", max_len)
#   ("any",)               any msgpack value nested at most MAX_DEPTH deep (syscall args)
#   ("opt", T)             nil or T
#   ("list", T, max_len)   a list of T ("harts" as max_len: exactly one per hart)
#   ("tuple", T1, T2, ...) a list of exactly these
#   ("map", {name: T})     a map with exactly these keys

U64, S64 = ("int", 0, MAX_U64), ("int", -(1 << 63), MAX_U64)
ICOUNT, PID, SMALL = ("int", 0, MAX_ICOUNT), ("int", 0, MAX_PID), ("int", 0, 1 << 20)
BOOL = ("bool",)
ANY = ("any",)


def _opt(t):
    return ("opt", t)


def _list(t, n=MAX_LIST):
    return ("list", t, n)


def _ints(n=MAX_LIST):
    return _list(U64, n)


# [page numbers, their bytes (zlib-compressed), fills]: fills [first page, count, byte] are pages of
# one repeated byte.
PAGE_NUMBER = ("int", 0, MAX_U64 >> 12)
PAGES = ("tuple", _list(PAGE_NUMBER, 1 << 20), ("bytes", 1 << 31),
         _list(("tuple", PAGE_NUMBER, ("int", 1, 1 << 20), ("int", 0, 255)), 1 << 20))

HART_INTS = ("pc", "priv", "mstatus", "medeleg", "mideleg", "mie", "_mip", "_seip_sw", "mtvec", "stvec",
             "mepc", "sepc", "mcause", "scause", "mtval", "stval", "mscratch", "sscratch", "mcounteren",
             "scounteren", "mcountinhibit", "menvcfg", "senvcfg", "stimecmp", "satp", "_cycle_offset",
             "_instret_offset", "instret")
HART = ("map", {**{name: S64 for name in HART_INTS}, "reservation": _opt(U64), "waiting": BOOL,
                "x": _list(U64, 32), "pmpcfg": _ints(64), "pmpaddr": _ints(64)})

BOARD = ("map", {"icount": ICOUNT, "time": ICOUNT, "next_poll": ICOUNT,
                 "carry": _opt(("tuple", SMALL, ICOUNT)), "last_hart": _opt(SMALL),
                 "decisions": ICOUNT})                  # decisions taken (the replay's position)

FLAGS = _list(BOOL, 1 << 12)
CLINT = ("map", {"msip": _ints(64), "mtimecmp": _ints(64), "_mtip": FLAGS})
PLIC = ("map", {"priority": _ints(1 << 12), "level": FLAGS, "pending": FLAGS, "claimed": FLAGS,
                "enable": _list(FLAGS, 64), "threshold": _ints(64), "_out": FLAGS})
UART = ("map", {"rx": ("bytes", MAX_LIST), "held": ("bytes", 1 << 24), "listening": BOOL, "ier": U64,
                "lcr": U64, "mcr": U64, "scr": U64, "fcr": U64, "dll": U64, "dlm": U64, "thr_pending": BOOL})
# An in-flight disk request: (due, seq, head, kind, sector, [(addr, len, write), ...]) as the device keeps it.
REQUEST = ("tuple", ICOUNT, U64, U64, U64, U64, _list(("tuple", U64, U64, BOOL), 1 << 10))
DISK = ("map", {"status": U64, "dev_features_sel": U64, "drv_features_sel": U64, "driver_features": U64,
                "queue_sel": U64, "num": U64, "ready": U64, "desc": U64, "avail": U64, "used": U64,
                "int_status": U64, "last_avail": U64, "used_idx": U64, "inflight": _list(REQUEST, 1 << 10),
                "_seq": U64, "error": _opt(("str", MAX_STR))})

# The recorder's bookkeeping. Events it holds back (placeholders waiting for a field, and
# what queues behind them) are the file's next events after `events`: `held` gives only
# their kinds of entry (0 event, 1 filled placeholder, 2 open placeholder), and references
# to a placeholder are indexes into `held` (-1: one already written).
REF = ("int", -1, MAX_LIST)
RECORDER = ("map", {
    "held": _list(("int", 0, 2)),
    "console_run": _opt(("tuple", ICOUNT, SMALL, PID, ("bytes", MAX_LIST))),
    "current": _list(PID, "harts"), "last_cause": _list(U64, "harts"),
    "leaving": _list(_opt(REF), "harts"), "irq_wait": _list(_opt(REF), "harts"),
    "kernel_faults": _list(_list(("tuple", REF, U64, _opt(U64), U64)), "harts"),
    "user_faults": _list(("tuple", PID, _list(("tuple", REF, U64, _opt(U64))))),
    "pending": _list(("tuple", PID, U64, _list(U64, 6), ANY, U64)),
    "exit_status": _list(("tuple", PID, ANY)),
    "forked": _list(PID), "in_user": _list(PID), "forks_unclaimed": _list(PID),
    "names": _list(("tuple", PID, ("str", MAX_STR))),
    "disk_reqs": _list(("tuple", U64, SMALL, PID, U64)),
    "fork_pages": _list(("tuple", PID, U64, U64)),
    "poweroff_code": _opt(U64), "picked": _opt(SMALL),
    "console_pids": _list(PID), "console_bytes": ("bytes", MAX_LIST),
    "spaces": _opt(("tuple", _opt(U64), _list(("tuple", U64, PID)), PID)),
})

SCHEMA = ("map", {"ram": PAGES, "disk": _opt(PAGES), "harts": _list(HART, "harts"), "board": BOARD,
                  "clint": CLINT, "plic": PLIC, "uart": UART, "disk_device": _opt(DISK),
                  "recorder": RECORDER})


def check(value, t, harts: int, where: str = "snapshot") -> None:
    """Raise Invalid unless `value` has type `t` (the schema language above)."""
    kind = t[0]
    if kind == "int":
        ok = type(value) is int and t[1] <= value <= t[2]
    elif kind == "bool":
        ok = type(value) is bool
    elif kind == "bytes":
        ok = type(value) is bytes and len(value) <= t[1]
    elif kind == "str":
        ok = type(value) is str and len(value) <= t[1]
    elif kind == "any":
        ok = depth_ok(value, MAX_DEPTH) and not isinstance(value, float)
    elif kind == "opt":
        if value is not None:
            check(value, t[1], harts, where)
        return
    elif kind == "list":
        limit = harts if t[2] == "harts" else t[2]
        ok = type(value) is list and (len(value) == limit if t[2] == "harts" else len(value) <= limit)
        if ok and t[1][0] == "int":             # long lists of page numbers: one pass
            lo, hi = t[1][1], t[1][2]
            ok = all(type(x) is int and lo <= x <= hi for x in value)
        elif ok:
            for i, item in enumerate(value):
                check(item, t[1], harts, f"{where}[{i}]")
    elif kind == "tuple":
        ok = type(value) is list and len(value) == len(t) - 1
        if ok:
            for i, (item, sub) in enumerate(zip(value, t[1:])):
                check(item, sub, harts, f"{where}[{i}]")
    elif kind == "map":
        ok = type(value) is dict and set(value) == set(t[1])
        if ok:
            for name, sub in t[1].items():
                check(value[name], sub, harts, f"{where}.{name}")
        elif type(value) is dict:
            odd = sorted(map(str, set(value) ^ set(t[1])))[:3]
            raise Invalid(f"{where} has the wrong fields ({', '.join(odd)})")
    else:                                       # a schema bug, not bad input
        raise AssertionError(f"unknown schema type {kind!r}")
    if not ok:
        raise Invalid(f"{where} is not a valid value")


def encode(state: dict) -> bytes:
    """The body of a snapshot record (state: a SCHEMA map)."""
    return zlib.compress(fmt.pack(state), LEVEL)


def decode(body: bytes, *, harts: int, ram_size: int, disk_size: int | None, pages: bool = True) -> dict:
    """A snapshot body, inflated within what the machine can hold and checked against SCHEMA
    (`pages` False: the page bytes are left compressed, for `inflate_pages`)."""
    cap = ram_size + (disk_size or 0) + (16 << 20)
    try:
        state = fmt.unpack(inflate(body, declared=None, cap=cap, what="snapshot"))
    except Invalid:
        raise
    except Exception as exc:                    # msgpack's many errors on garbage
        raise Invalid(f"the snapshot is undecodable ({type(exc).__name__})") from None
    check(state, SCHEMA, harts)
    _check_pages(state["ram"], ram_size, "RAM", pages)
    if state["disk"] is not None:
        if disk_size is None:
            raise Invalid("the snapshot holds disk pages but the trace has no disk")
        _check_pages(state["disk"], disk_size, "disk", pages)
    return state


def _check_pages(pages, size: int, what: str, inflate_them: bool) -> None:
    """Check a page delta against the buffer's size, then inflate its page bytes (exactly as
    many as it has page numbers, never more) in place."""
    numbers, data, fills = pages
    if any(b <= a for a, b in zip(numbers, numbers[1:])) or (numbers and numbers[-1] * PAGE >= size):
        raise Invalid(f"the snapshot's {what} page numbers are out of order or outside the {what}")
    if any((first + count) * PAGE > size for first, count, _ in fills):
        raise Invalid(f"the snapshot's {what} fills reach outside the {what}")
    if inflate_them:
        pages[1] = inflate(data, declared=len(numbers) * PAGE, cap=size, what=f"snapshot's {what} pages")


def inflate_pages(delta, count: int) -> bytes:
    """The bytes of the first `count` pages of a checked, still compressed page delta (a
    restore needs no page that a later snapshot holds, so it inflates no further)."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(delta[1], count * PAGE)
    except zlib.error as exc:
        raise Invalid(f"the snapshot's pages are corrupted ({exc})") from None
    if len(out) != count * PAGE:
        raise Invalid("the snapshot's pages are cut short")
    return out


def record_crc(icount: int, events: int, body: bytes) -> int:
    return zlib.crc32(body, zlib.crc32(fmt.pack([icount, events])))


def inflate(data: bytes, **limits) -> bytes:
    """validate.inflate, imported when a snapshot is first read (a recording never loads the
    reader's checks)."""
    from rvtrace.trace import validate
    return validate.inflate(data, **limits)
