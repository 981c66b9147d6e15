"""Machine snapshots: capture and restore everything a run's future depends on.

Two kinds of state, handled differently:

- Big buffers (RAM, the in-memory disk image) are kept as page versions.
  `PageStore` compares the buffer with its state at the previous checkpoint
  (libc memcmp through ctypes: a 128 MiB RAM is scanned in ~25 ms) and keeps
  only the pages that changed, so a checkpoint costs what the guest wrote.
- Everything else (harts' registers and CSRs, devices, the scheduler's
  position, the recorder's bookkeeping) is small: the attribute dicts of
  those objects are deep-copied in one go, with every shared object (the
  objects themselves, RAM, the kernel image, decision lists...) mapped to
  itself so references between them survive.

Derived caches are not state: on restore each hart's TLBs and translated
blocks are flushed, and the code cache forgets the pages whose bytes
changed (`CodeCache.written`), exactly as if the guest had stored there.
"""

from __future__ import annotations

import bisect
import copy
from dataclasses import dataclass, field

from rvtrace.record.snapshots import dirty_among, dirty_pages, zeros

PAGE = 4096

# Hart attributes that are caches or wiring, not architectural state.
HART_SKIP = frozenset({"bus", "ram", "code_cache", "time_fn", "on_trap", "on_xret", "on_satp",
                       "on_watch", "_watch", "_watch_version", "_contexts", "_ctx", "_w_owners"})
OTHER_SKIP = frozenset({"on_console_output", "on_turn", "on_request", "on_complete", "on_mmio", "on_decision",
                        "code_cache", "disk", "ram", "sink"})

class PageStore:
    """Versions of one bytearray's pages, one version per checkpoint that changed the page.

    Checkpoints are numbered 0, 1, 2, ... in the order they are taken, and are
    only ever taken in that order (each one extends the furthest).
    """

    def __init__(self, buf: bytearray):
        self.buf = buf
        self.ref = zeros(len(buf))              # the buffer at the latest checkpoint (zeros before any)
        self.versions: dict[int, tuple[list[int], list[bytes]]] = {}   # page -> (checkpoints, bytes)
        self.changed: list[list[int]] = []      # checkpoint -> pages stored there

    def _dirty(self) -> list[int]:
        """Pages where the buffer differs from `ref`."""
        return dirty_pages(self.buf, self.ref)

    def take(self, candidates=None) -> int:
        """Record the buffer as the next checkpoint; returns the number of pages stored.
        `candidates`: every page written since the previous checkpoint is among these (so
        only they are compared), or None to compare them all."""
        k = len(self.changed)
        pages = self._dirty() if candidates is None else dirty_among(self.buf, self.ref, candidates)
        buf, ref = self.buf, self.ref
        for p in pages:
            lo = p * PAGE
            data = bytes(buf[lo:lo + PAGE])
            ref[lo:lo + PAGE] = data
            ks, vs = self.versions.setdefault(p, ([], []))
            ks.append(k)
            vs.append(data)
        self.changed.append(pages)
        return len(pages)

    def content(self, page: int, k: int) -> bytes | None:
        """The page as it was at checkpoint k (None: never written, all zeros)."""
        entry = self.versions.get(page)
        if entry is None:
            return None
        ks, vs = entry
        i = bisect.bisect_right(ks, k) - 1
        return vs[i] if i >= 0 else None

    def restore(self, k: int, on_page=None) -> int:
        """Make the buffer what it was at checkpoint k; `on_page(page)` for each page rewritten."""
        todo = set(self._dirty())               # changed since the latest checkpoint
        for later in self.changed[k + 1:]:
            todo.update(later)                  # changed between checkpoint k and the latest
        buf = self.buf
        zero = bytes(PAGE)
        n = 0
        for p in todo:
            lo = p * PAGE
            want = self.content(p, k)
            if want is None:
                want = zero[:min(PAGE, len(buf) - lo)]
            if buf[lo:lo + PAGE] != want:
                buf[lo:lo + PAGE] = want
                n += 1
                if on_page is not None:
                    on_page(p)
        return n

    @property
    def stored_bytes(self) -> int:
        return sum(len(v) for _, vs in self.versions.values() for v in vs)


@dataclass
class Snapshot:
    number: int                  # the checkpoint's number in its PageStores
    icount: int
    objects: dict                # id(obj) -> copied attribute dict
    extra: dict = field(default_factory=dict)


class MachineSnapshots:
    """Checkpoints of one Machine (plus any observer objects whose state must travel with it).

    `objects`: the stateful objects; `shared`: objects referenced from their
    state that must stay themselves (kernel image, decision list, sinks).
    """

    def __init__(self, machine, objects: list, shared: list):
        self.m = machine
        self.objects = list(objects)
        self.ram = PageStore(machine.bus.ram)
        self.disks = [PageStore(d.disk) for d in machine.disks if getattr(d, "disk", None) is not None]
        self._shared = {id(o): o for o in [*self.objects, *shared, machine.bus.ram, machine.cache,
                                           *(d.disk for d in machine.disks if d.disk is not None)]}
        self.count = 0

    def _memo(self) -> dict:
        return dict(self._shared)

    def _state(self) -> dict:
        out = {}
        for obj in self.objects:
            skip = HART_SKIP if hasattr(obj, "hartid") else OTHER_SKIP
            out[id(obj)] = {k: v for k, v in vars(obj).items() if k not in skip}
        return out

    def take(self, extra: dict | None = None, written=None) -> Snapshot:
        """`written`: physical page numbers that hold every RAM store since the previous
        checkpoint (an activity log), or None: RAM is compared page by page."""
        number = self.count
        if written is not None:
            base = self.m.bus.ram_base // PAGE
            written = [p - base for p in written]
        self.ram.take(written)
        for store in self.disks:
            store.take()
        self.count += 1
        objects = copy.deepcopy(self._state(), self._memo())
        return Snapshot(number, self.m.icount, objects, dict(extra or {}))

    def restore(self, snap: Snapshot) -> None:
        cache = self.m.cache

        def rewritten(page: int) -> None:
            ppage = self.m.bus.ram_base // PAGE + page
            if cache.is_watched_page(ppage):
                cache.written(ppage)
        self.ram.restore(snap.number, rewritten)
        for store in self.disks:
            store.restore(snap.number)
        state = copy.deepcopy(snap.objects, self._memo())
        for obj in self.objects:
            vars(obj).update(state[id(obj)])
        self._derived()

    def _derived(self) -> None:
        for hart in self.m.harts:                 # derived caches: rebuilt on demand
            hart.flush_tlb()
            hart._drop_blocks()
            hart._select_context()

    def after_ram_change(self) -> None:
        """RAM was rewritten wholesale behind the harts' back (a recording's snapshot restored):
        drop every translation and TLB, as for a restore."""
        self.m.cache.flush_all()
        self._derived()
