"""Probes: what a search watches for while the engine re-executes (engine.search_forward/backward).

A probe names the pcs and physical pages to watch and reports the icounts of
its hits. `AtPc`: a hart reaching a pc (with a condition on its registers);
`Changes`: the bytes at a physical address changing value; `Reads`: a load
from them; `StopProbe`: a debugger's pc stops and watchpoints at once.
"""

from __future__ import annotations

PAGE = 4096


def call_at(code: bytes | None) -> tuple[int, bool]:
    """(size, is a call or ecall) of the instruction whose bytes start `code`."""
    if not code or len(code) < 2:
        return 4, False
    low = int.from_bytes(code[:2], "little")
    if low & 3 != 3:                                   # compressed
        # c.jalr: funct4 1001, rs1 != 0, rs2 == 0, op 10 (c.jal is RV32 only)
        return 2, (low >> 12) == 0b1001 and (low >> 7) & 31 != 0 and (low >> 2) & 31 == 0 and low & 3 == 2
    if len(code) < 4:
        return 4, False
    ins = int.from_bytes(code[:4], "little")
    opcode, rd = ins & 0x7F, (ins >> 7) & 31
    if opcode in (0x6F, 0x67) and rd in (1, 5):        # jal/jalr linking ra or t0
        return 4, True
    return 4, ins == 0x00000073                         # ecall: "next" steps over the system call


class AtPc:
    """Hart `hart` about to execute one of `pcs` in privilege `priv`, and `cond(hart)` holds."""

    pages = ()

    def __init__(self, hart: int | None, pcs, priv: int | None, cond=None, now=None):
        """`hart` None: any hart. `now()` gives the icount of a hit (for `harts`)."""
        self.hart, self.pcs, self.priv, self.cond = hart, frozenset(pcs or ()), priv, cond
        self.now = now
        self.harts: dict[int, int] = {}       # icount of a hit -> the hart that hit

    def begin(self) -> None:
        pass

    def on_pc(self, hart, pc, report) -> None:
        if self.hart is not None and hart.hartid != self.hart:
            return
        if self.priv is not None and hart.priv != self.priv:
            return
        if self.cond is None or self.cond(hart):
            if self.now is not None:
                self.harts[self.now()] = hart.hartid
            report()

    def end(self, report) -> None:
        pass


class Changes:
    """The `size` bytes at physical `paddr` change: reported at the icount just after the store.

    The hook runs before each store into the page, so the value seen there is
    the one the previous store left: a difference means the previous store
    changed it. At the end of a stretch the final value is compared too.
    """

    pcs = ()

    def __init__(self, engine, paddr: int, size: int):
        self.e, self.paddr, self.size = engine, paddr, size
        self.pages = frozenset(range(paddr // PAGE, (paddr + size - 1) // PAGE + 1))
        self.history: dict[int, bytes] = {}    # icount just after a change -> the value before it
        self.harts: dict[int, int | None] = {}  # icount just after a change -> the hart that stored
        self.last_hart = None

    def _value(self) -> bytes:
        m = self.e.m
        off = self.paddr - m.bus.ram_base
        return bytes(m.bus.ram[off:off + self.size])

    def begin(self) -> None:
        self.last = self._value()
        self.last_store = None                 # icount of the latest store seen into the page

    def on_store(self, ppage, report) -> None:
        now = self.e.now()
        self._settle(report)
        self.last_store = now
        hart = self.e.m.bus.current_hart
        self.last_hart = hart.hartid if hart is not None else None

    def _settle(self, report) -> None:
        value = self._value()
        if value != self.last and self.last_store is not None:
            at = self.last_store + 1
            self.history[at] = self.last
            self.harts[at] = self.last_hart
            self.last = value
            report(at)
        self.last = value

    def end(self, report) -> None:
        self._settle(report)

    def value_before(self, icount: int) -> bytes:
        return self.history.get(icount, b"")



class Reads:
    """A load from the `size` bytes at physical `paddr`: reported just after the reading
    instruction (loads by the harts; DMA reads by devices are not seen)."""

    pcs = ()

    def __init__(self, engine, paddr: int, size: int):
        self.e, self.paddr, self.size = engine, paddr, size
        self.pages = frozenset(range(paddr // PAGE, (paddr + size - 1) // PAGE + 1))

    def begin(self) -> None:
        pass

    def on_store(self, ppage, report) -> None:
        pass

    def on_load(self, hart, pa: int, size: int, report) -> None:
        if pa < self.paddr + self.size and self.paddr < pa + size:
            report(self.e.now() + 1)

    def end(self, report) -> None:
        pass


class StopProbe:
    """The pc stops and watch stops of a StopSet as one probe.

    Watch changes are only known at the next store into their page (or the end
    of a stretch), so before a pc hit is reported every watch is settled: an
    earlier change is always reported first."""

    def __init__(self, engine, pc_stops, watch_stops):
        from rvtrace.replay.stops import PcContext
        self.e, self._ctx = engine, PcContext
        self.pc_stops = list(pc_stops)
        self.pcs = frozenset(pc for st in self.pc_stops for pc in st.pcs)
        self.code_pages = frozenset(pc >> 12 for pc in self.pcs)
        self.watches = [(w, (Reads if w.read else Changes)(engine, w.paddr, w.size)) for w in watch_stops]
        self.pages = frozenset(p for _, sub in self.watches for p in sub.pages)
        if not any(w.read for w, _ in self.watches):
            self.on_load = None
        self.hits: dict[int, tuple] = {}       # icount -> (key, hart, old, new-or-None)

    def begin(self) -> None:
        for _, sub in self.watches:
            sub.begin()

    def _reporter(self, w, sub, report):
        def rep(g=None):
            g = self.e.now() if g is None else g
            if g not in self.hits:
                if w.read:
                    hart = self.e.m.bus.current_hart
                    self.hits[g] = (w.key, hart.hartid if hart is not None else None, b"", None)
                else:
                    self.hits[g] = (w.key, sub.harts.get(g), sub.value_before(g), sub.last)
            report(g)
        return rep

    def _settle(self, report) -> None:
        for w, sub in self.watches:
            if not w.read:
                sub.end(self._reporter(w, sub, report))

    def on_pc(self, hart, pc, report) -> None:
        ctx = None
        for st in self.pc_stops:
            if pc not in st.pcs:
                continue
            if st.condition is not None:
                ctx = ctx or self._ctx(self.e, hart, pc)
                if not st.condition(ctx):
                    continue
            self._settle(report)
            now = self.e.now()
            self.hits.setdefault(now, (st.key, hart.hartid, None, None))
            report(now)
            return

    def on_store(self, ppage, report) -> None:
        for w, sub in self.watches:
            if not w.read and ppage in sub.pages:
                sub.on_store(ppage, self._reporter(w, sub, report))

    def on_load(self, hart, pa, size, report) -> None:
        for w, sub in self.watches:
            if w.read:
                sub.on_load(hart, pa, size, self._reporter(w, sub, report))

    def end(self, report) -> None:
        self._settle(report)
