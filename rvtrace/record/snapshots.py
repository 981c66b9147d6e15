"""Snapshots laid while recording, and putting one back into a machine (replay).

`SnapshotLayer` writes a snapshot record (trace/snapshots.py) every
`SNAPSHOT_EVERY` instructions: the pages of RAM and of the disk image that
changed since the previous one, and the rest of the state as named fields.
It is called by the interval log at its cuts, so the machine is between two
`Machine.run` calls -- the same place a replay stops when it runs to that
instruction count -- and the pages that can have changed are the intervals'
`written` sets (all of RAM is compared only for the first snapshot).

What a snapshot holds is what the *replay's* machine needs to go on exactly
as the recording did: the scheduler's position in the recorded decisions
(not the recording scheduler's random state), and the recorder's
bookkeeping, whose held-back events are the file's next events.

`capture`/`apply` are the two directions; `apply` takes a state that
trace/snapshots.py has already checked field by field, and checks what a
schema cannot (references between fields, hart numbers) before it changes
anything.
"""

from __future__ import annotations

import ctypes
import mmap
import zlib
from collections import deque

from rvtrace.record.output import Placeholder
from rvtrace.trace.snapshots import LEVEL, PAGE, encode
from rvtrace.trace.limits import Invalid

# Instructions between two snapshots. A replay re-executes at most this many to
# reach any point from a fresh start (about a second; the engine's own
# checkpoints every 100,000 make later moves nearby cheap). A multiple of the
# interval log's 200,000 and of the engine's checkpoint spacing. Short runs
# (forkexec: 600,000 instructions) get none.
SNAPSHOT_EVERY = 2_000_000

BIG = 1 << 20                    # memcmp first over 1 MiB blocks, then pages inside changed ones
FILLED = [bytes([b]) * PAGE for b in range(256)]     # the pages of one repeated byte

_libc = ctypes.CDLL(None)
_memcmp = _libc.memcmp
_memcmp.restype = ctypes.c_int
_memcmp.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]


def zeros(n: int) -> mmap.mmap:
    """n zero bytes that cost nothing until written (a bytearray(n) writes all of them)."""
    return mmap.mmap(-1, n) if n else bytearray()


def address(buf) -> int:
    """The address of a bytearray's or mmap's bytes (for memcmp)."""
    return ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))


def dirty_pages(buf, ref) -> list[int]:
    """Pages where `buf` differs from `ref` (same length; libc memcmp: ~25 ms for 128 MiB)."""
    a, b, n = address(buf), address(ref), len(buf)
    out = []
    for big in range(0, n, BIG):
        size = min(BIG, n - big)
        if _memcmp(a + big, b + big, size):
            for p in range(big, big + size, PAGE):
                if _memcmp(a + p, b + p, min(PAGE, n - p)):
                    out.append(p // PAGE)
    return out


def dirty_among(buf, ref, candidates) -> list[int]:
    """Pages among `candidates` where `buf` differs from `ref`, ascending."""
    a, b, n = address(buf), address(ref), len(buf)
    return sorted(p for p in candidates
                  if 0 <= p * PAGE < n and _memcmp(a + p * PAGE, b + p * PAGE, min(PAGE, n - p * PAGE)))


class PageDelta:
    """The pages of a buffer that changed since the previous `take` (the first: since `base`)."""

    def __init__(self, buf, base: bytes | None = None):
        self.buf, self.base = buf, base
        self.ref: bytearray | None = None       # made at the first take: no cost for short runs

    def take(self, candidates=None) -> list:
        """[page numbers, their bytes zlib-compressed, fills] that changed: pages of one repeated byte (a kernel
        fills every page it frees with junk) as fills [first page, count, byte], the others
        whole. `candidates` (page numbers) hold every page written since the previous take, or
        None to compare all."""
        buf = self.buf
        if self.ref is None:
            self.ref = bytearray(self.base) if self.base is not None else zeros(len(buf))
            candidates = None
        ref = self.ref
        pages = dirty_pages(buf, ref) if candidates is None else dirty_among(buf, ref, candidates)
        whole, fills = [], []
        z = zlib.compressobj(LEVEL)
        out = []
        for p in pages:
            lo = p * PAGE
            data = buf[lo:lo + PAGE]
            ref[lo:lo + PAGE] = data
            if data == FILLED[data[0]]:                 # memcmp: stops at the first other byte
                if fills and fills[-1][0] + fills[-1][1] == p and fills[-1][2] == data[0]:
                    fills[-1][1] += 1
                else:
                    fills.append([p, 1, data[0]])
                continue
            whole.append(p)
            out.append(z.compress(data if len(data) == PAGE else data + bytes(PAGE - len(data))))  # short last page
        out.append(z.flush())
        return [whole, b"".join(out), fills]


class SnapshotLayer:
    """Lays snapshots into `writer` while `machine` records; `interval_done(written)` at each cut
    of the interval log (written: the physical pages stored into during that interval)."""

    def __init__(self, machine, recorder, writer, disk: bytes | None, every: int = SNAPSHOT_EVERY):
        self.m, self.rec, self.writer, self.every = machine, recorder, writer, every
        self.ram = PageDelta(machine.bus.ram)
        self.disk = PageDelta(machine.disk.disk, disk) if machine.disk.disk is not None else None
        self.written: set[int] = set()
        self.laid = 0

    def interval_done(self, written) -> None:
        self.written |= written
        m = self.m
        if m.icount % self.every == 0 and m.bus.power_off is None:
            base = m.bus.ram_base // PAGE
            self.lay([p - base for p in self.written])
            self.written = set()

    def lay(self, candidates=None) -> None:
        state = capture(self.m, self.rec)
        state["ram"] = self.ram.take(candidates if self.laid else None)
        state["disk"] = self.disk.take() if self.disk is not None else None
        self.writer.snapshot(self.m.icount, encode(state))
        self.laid += 1


# --- the state, both ways ------------------------------------------------------------------

CLINT_FIELDS = ("msip", "mtimecmp", "_mtip")
PLIC_FIELDS = ("priority", "level", "pending", "claimed", "enable", "threshold", "_out")
UART_FIELDS = ("listening", "ier", "lcr", "mcr", "scr", "fcr", "dll", "dlm", "thr_pending")
DISK_FIELDS = ("status", "dev_features_sel", "drv_features_sel", "driver_features", "queue_sel", "num",
               "ready", "desc", "avail", "used", "int_status", "last_avail", "used_idx", "_seq", "error")


def capture(m, rec) -> dict:
    """Everything but RAM and disk pages, as trace/snapshots.py's SCHEMA has it."""
    disk = m.disk if m.disk.disk is not None else None
    return {
        "harts": [h.get_state() for h in m.harts],
        "board": {"icount": m.icount, "time": m._time0, "next_poll": m._next_poll,
                  "carry": list(m._carry) if m._carry is not None else None,
                  "last_hart": m.harts.index(m._last_hart) if m._last_hart is not None else None,
                  "decisions": m.scheduler.made},
        "clint": {f: list(getattr(m.clint, f)) for f in CLINT_FIELDS},
        "plic": {**{f: list(getattr(m.plic, f)) for f in PLIC_FIELDS},
                 "enable": [list(e) for e in m.plic.enable]},
        "uart": {**{f: getattr(m.uart, f) for f in UART_FIELDS},
                 "rx": bytes(m.uart.rx), "held": bytes(m.uart.held)},
        "disk_device": None if disk is None else {
            **{f: getattr(disk, f) for f in DISK_FIELDS},
            "inflight": [[*r[:5], [list(s) for s in r[5]]] for r in disk.inflight]},
        "recorder": _recorder_state(rec),
    }


def _recorder_state(rec) -> dict:
    out = rec.out
    held = list(out.held)
    where = {id(p): i for i, p in enumerate(held) if isinstance(p, Placeholder)}

    def ref(p):
        return None if p is None else where.get(id(p), -1)
    run = out._console
    queue = list(rec.console.queue)
    spaces = rec.spaces
    return {
        "held": [0 if not isinstance(p, Placeholder) else 1 if p.ready else 2 for p in held],
        "console_run": None if run is None else [run[0], run[1], run[2], bytes(run[3])],
        "current": list(rec.current), "last_cause": list(rec.last_cause),
        "leaving": [ref(p) for p in rec.leaving], "irq_wait": [ref(p) for p in rec.irq_wait],
        "kernel_faults": [[[ref(p), va, before, satp] for p, va, before, satp in f] for f in rec.kernel_faults],
        "user_faults": [[pid, [[ref(p), va, before] for p, va, before in f]] for pid, f in rec.user_faults.items()],
        "pending": [[pid, num, list(regs), args, satp] for pid, (num, regs, args, satp) in rec.pending.items()],
        "exit_status": [[pid, s] for pid, s in rec.exit_status.items()],
        "forked": sorted(rec.forked), "in_user": sorted(rec.in_user),
        "forks_unclaimed": list(rec.forks_unclaimed),
        "names": [[pid, name] for pid, name in rec.names.items()],
        "disk_reqs": [[head, *v] for head, v in rec.disk_reqs.items()],
        "fork_pages": [[child, *v] for child, v in rec.fork_pages.items()],
        "poweroff_code": rec.poweroff_code, "picked": rec.picked,
        "console_pids": [pid for pid, _ in queue], "console_bytes": bytes(b for _, b in queue),
        "spaces": None if spaces is None else [spaces.kernel_satp, [[r, n] for r, n in spaces.numbers.items()],
                                              spaces.last],
    }


def apply(state: dict, m, rec, held_events: list) -> None:
    """Put a checked snapshot state (not its pages) into machine `m` and recorder `rec`.
    `held_events`: the file's events the recorder held back then (len(state.recorder.held)).
    Raises Invalid, before changing anything, when its parts do not fit together."""
    n = len(m.harts)
    board = state["board"]
    carry, last = board["carry"], board["last_hart"]
    _hart_ok([carry[0]] if carry else [], n)
    _hart_ok([last] if last is not None else [], n)
    if (state["disk_device"] is None) != (m.disk.disk is None):
        raise Invalid("the snapshot's disk does not match the machine's")
    for hart, hs in zip(m.harts, state["harts"]):
        if hs["priv"] not in (0, 1, 3) or len(hs["x"]) != 32 or len(hs["pmpcfg"]) != len(hart.pmpcfg) \
                or len(hs["pmpaddr"]) != len(hart.pmpaddr):
            raise Invalid("the snapshot's hart state does not fit the machine's harts")
    for dev, name, fields in ((m.clint, "clint", CLINT_FIELDS), (m.plic, "plic", PLIC_FIELDS)):
        if any(len(state[name][f]) != len(getattr(dev, f)) for f in fields):
            raise Invalid(f"the snapshot's {name} does not fit the machine's")
    if any(len(e) != len(m.plic.enable[0]) for e in state["plic"]["enable"]):
        raise Invalid("the snapshot's plic does not fit the machine's")
    parts = _recorder_parts(state["recorder"], held_events, n)
    for hart, hs in zip(m.harts, state["harts"]):
        hart.set_state(hs)
    m.icount, m._time0, m._next_poll = board["icount"], board["time"], board["next_poll"]
    m._carry = tuple(carry) if carry else None
    m._last_hart = m.harts[last] if last is not None else None
    m._running = None
    m.bus.power_off, m.bus.stop_requested = None, False
    m.scheduler.pos = board["decisions"]
    for f in CLINT_FIELDS:
        setattr(m.clint, f, list(state["clint"][f]))
    for f in PLIC_FIELDS:
        setattr(m.plic, f, list(state["plic"][f]))
    m.plic.enable = [list(e) for e in state["plic"]["enable"]]
    uart = state["uart"]
    for f in UART_FIELDS:
        setattr(m.uart, f, uart[f])
    m.uart.rx, m.uart.held = deque(uart["rx"]), deque(uart["held"])
    disk = state["disk_device"]
    if disk is not None:
        for f in DISK_FIELDS:
            setattr(m.disk, f, disk[f])
        m.disk.inflight = [(*r[:5], [tuple(s) for s in r[5]]) for r in disk["inflight"]]
    if m.watchdog is not None:        # its counts only make it fire sooner: started afresh, never early
        m.watchdog.storms, m.watchdog.spins = [None] * n, [None] * n
    for name, value in parts.items():
        if name == "out":
            rec.out.held, rec.out.open, rec.out._console = value
        elif name == "console":
            rec.console.queue = value
        elif name == "spaces":
            if value is not None and rec.spaces is not None:
                rec.spaces.kernel_satp, rec.spaces.numbers, rec.spaces.last = value
        else:
            setattr(rec, name, value)


def _hart_ok(ids, n: int) -> None:
    if any(not 0 <= i < n for i in ids):
        raise Invalid(f"the snapshot names a hart the machine does not have ({n} hart{'s' if n > 1 else ''})")


def _recorder_parts(s: dict, held_events: list, n: int) -> dict:
    """The recorder's attributes a snapshot sets, built (and cross-checked) without touching it."""
    if len(held_events) != len(s["held"]):
        raise Invalid("the snapshot's held events are not in the trace")
    items = []
    for kind, ev in zip(s["held"], held_events):
        if kind == 0:
            items.append(list(ev))
        else:
            p = Placeholder(list(ev))
            p.ready = kind == 1
            items.append(p)
    released = Placeholder([])
    released.ready = True

    def ref(i):
        if i is None:
            return None
        if i == -1:
            return released
        if i >= len(items) or not isinstance(items[i], Placeholder):
            raise Invalid("the snapshot refers to a held event that is no placeholder")
        return items[i]
    _hart_ok([s["picked"]] if s["picked"] is not None else [], n)
    run = s["console_run"]
    if len(s["console_pids"]) != len(s["console_bytes"]):
        raise Invalid("the snapshot's console queue does not add up")
    return {
        "out": (deque(items), {p for p in items if isinstance(p, Placeholder) and not p.ready},
                None if run is None else [run[0], run[1], run[2], bytearray(run[3])]),
        "console": deque(zip(s["console_pids"], s["console_bytes"])),
        "current": list(s["current"]), "last_cause": list(s["last_cause"]),
        "leaving": [ref(i) for i in s["leaving"]], "irq_wait": [ref(i) for i in s["irq_wait"]],
        "kernel_faults": [[(ref(i), va, before, satp) for i, va, before, satp in f] for f in s["kernel_faults"]],
        "user_faults": {pid: [(ref(i), va, before) for i, va, before in f] for pid, f in s["user_faults"]},
        "pending": {pid: (num, list(regs), args, satp) for pid, num, regs, args, satp in s["pending"]},
        "exit_status": dict(map(tuple, s["exit_status"])),
        "forked": set(s["forked"]), "in_user": set(s["in_user"]), "forks_unclaimed": list(s["forks_unclaimed"]),
        "names": dict(map(tuple, s["names"])),
        "disk_reqs": {head: (h, pid, block) for head, h, pid, block in s["disk_reqs"]},
        "fork_pages": {child: (a, b) for child, a, b in s["fork_pages"]},
        "poweroff_code": s["poweroff_code"], "picked": s["picked"],
        "spaces": None if s["spaces"] is None else (s["spaces"][0], dict(map(tuple, s["spaces"][1])),
                                                    s["spaces"][2]),
    }
