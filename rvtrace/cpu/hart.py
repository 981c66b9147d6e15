"""The hart: architectural state and the loop that runs translated blocks.

See docs/architecture.md ("The hart") for the interface the machine uses. The
pieces live in mixins: `CsrFile` (csr.py), `Mmu` (mmu.py), `Traps` (traps.py);
the instructions themselves are translated blocks (translate.py).

Counting: `run(budget)` retires at most `budget` instructions and says how
many. A block only runs whole when it fits in what is left of the budget;
otherwise the hart steps one instruction at a time. A trap inside a block
retires the instructions before it (the hart records the index of the
instruction that raised, `_idx`). While a block runs, `instret` is exact at
every point the hart is asked (CSR reads, MMIO): see `instret`.
"""

from __future__ import annotations

import os

from rvtrace.cpu.csr import MENVCFG_STCE, CsrFile
from rvtrace.cpu.mmu import Mmu
from rvtrace.cpu.signals import MmioExit, Resync, Trap
from rvtrace.cpu.cold import HOT
from rvtrace.cpu.translate import MAX_BLOCK, find_block
from rvtrace.cpu.traps import Traps


STUCK_LIMIT = 64         # traps in a row without retiring anything before run() gives up


class Hart(CsrFile, Mmu, Traps):
    max_block = MAX_BLOCK    # longest block, in instructions (1: every instruction alone)
    # tight loops run in bulk (accel.py); off for comparisons with plain execution
    accel = os.environ.get("RVTRACE_ACCEL", "") != "off"
    # a new block runs as pre-decoded steps this many times before it is translated
    # (cold.py); 0: translate at once
    hot_after = int(os.environ.get("RVTRACE_HOT", "")) if os.environ.get("RVTRACE_HOT", "").isdigit() else HOT

    def __init__(self, hartid: int, bus, cache, time_fn=None):
        self.hartid = hartid
        self.bus = bus
        self.ram = bus.ram
        self.ram_base = bus.ram_base
        self.ram_size = bus.ram_size
        self.code_cache = cache
        cache.attach(self)
        self.time_fn = time_fn if time_fn is not None else (lambda: self.instret)
        self.x = [0] * 32
        self.pc = 0
        self.priv = 3
        self.reservation = None
        self.waiting = False
        # observers (docs/architecture.md); None costs nothing
        self.on_trap = None
        self.on_xret = None
        self.on_satp = None
        self.on_watch = None
        self._watch = frozenset()
        self._watch_version = 0
        # counting: instret = _instret0 + (_budget - _left) + _idx while a block runs
        self._instret0 = 0
        self._budget = 0
        self._left = 0
        self._idx = 0
        self._exit = False
        self._yield = False      # set by a CSR write that moves a timer deadline
        self._resync = False     # set by a CSR write after which the block must stop
        self._reset_csrs()
        self._contexts = {}
        self._w_owners = {}      # physical page -> [(write TLB, virtual page)] leading there
        self._select_context()

    # --- public state ------------------------------------------------------------------

    @property
    def instret(self) -> int:
        """Instructions retired by this hart; exact even in the middle of a block."""
        return self._instret0 + (self._budget - self._left) + self._idx

    @instret.setter
    def instret(self, value: int) -> None:
        self._instret0 = value - (self._budget - self._left) - self._idx

    @property
    def watch_pcs(self) -> frozenset:
        return self._watch

    @watch_pcs.setter
    def watch_pcs(self, pcs) -> None:
        """Assign a new set (it is copied): translated blocks are split at these pcs."""
        self._watch = frozenset(pcs or ())
        self._watch_version += 1
        self._drop_blocks()

    # --- checkpoints (replay) ------------------------------------------------------------

    _STATE_ATTRS = ("pc", "priv", "reservation", "waiting", "mstatus", "medeleg", "mideleg", "mie",
                    "_mip", "_seip_sw", "mtvec", "stvec", "mepc", "sepc", "mcause", "scause", "mtval",
                    "stval", "mscratch", "sscratch", "mcounteren", "scounteren", "mcountinhibit",
                    "menvcfg", "senvcfg", "stimecmp", "satp", "_cycle_offset", "_instret_offset")

    def get_state(self) -> dict:
        """Everything architectural about this hart (not RAM), for a checkpoint."""
        state = {a: getattr(self, a) for a in self._STATE_ATTRS}
        state.update(x=list(self.x), pmpcfg=list(self.pmpcfg), pmpaddr=list(self.pmpaddr),
                     instret=self.instret)
        return state

    def set_state(self, state: dict) -> None:
        """Restore a get_state() result. If RAM was restored too, call
        `code_cache.flush_all()` (translations and TLBs derive from RAM)."""
        for a in self._STATE_ATTRS:
            setattr(self, a, state[a])
        self.x[:] = state["x"]
        self.pmpcfg[:] = state["pmpcfg"]
        self.pmpaddr[:] = state["pmpaddr"]
        self.instret = state["instret"]
        self._select_context()

    def set_priv(self, priv: int) -> None:
        """Change privilege directly (tests, debugger); traps and xRET do it themselves."""
        self.priv = priv
        self._select_context()

    def set_pending(self, mask: int, level: bool) -> None:
        """Devices raise (level true) or lower mip bits (MEIP, SEIP, MTIP, MSIP)."""
        if level:
            self._mip |= mask
        else:
            self._mip &= ~mask

    def timer_deadline(self) -> int | None:
        """Sstc: the mtime at which STIP rises, when menvcfg.STCE enables stimecmp."""
        return self.stimecmp if self.menvcfg & MENVCFG_STCE else None

    # --- running -------------------------------------------------------------------------

    def run(self, budget: int) -> int:
        """Retire at most `budget` instructions; return how many were retired.

        Returns early when the hart waits in wfi with nothing pending, when a
        device asked the bus to stop, when a timer deadline moved (a CSR write
        to stimecmp/menvcfg) or when traps keep coming without progress.
        """
        if self.waiting:
            if not self._mip_value() & self.mie:
                return 0
            self.waiting = False
        bus = self.bus
        self._yield = self._exit = self._resync = False
        self._budget = self._left = budget
        self._idx = 0
        stuck = 0
        try:
            while self._left > 0:
                cause = self.pending_interrupt()
                if cause is not None:
                    self.take_trap(cause, 0, self.pc)
                before = self._left
                if self._watch:
                    self._execute_watched()
                else:
                    self._execute()
                if self.waiting or bus.stop_requested or self._yield:
                    break
                # A handler that itself faults at once retires nothing, forever:
                # give the machine back control so it can report the loop.
                stuck = stuck + 1 if self._left == before else 0
                if stuck >= STUCK_LIMIT:
                    break
        finally:
            retired = self._budget - self._left
            self._instret0 += retired
            self._budget = self._left = self._idx = 0
        return retired

    def step(self) -> int:
        """Retire exactly one instruction (the debugger's stepi).

        If the instruction at pc traps, the trap is taken and the handler's
        first instruction is the one retired: the time axis counts retired
        instructions only. Returns 0 only when the hart waits in wfi or is stuck.
        """
        return self.run(1)

    def _execute(self) -> None:
        """Run blocks until the budget is spent or something needs attention.

        This is the hot loop: keep it lean. Everything unusual arrives as an
        exception from a block (signals.py).
        """
        ctx = self._ctx
        blocks, singles, R, W = ctx.blocks, ctx.singles, ctx.r, ctx.w
        x, ram, pc, left = self.x, self.ram, self.pc, self._left
        n = 0
        b = None
        try:
            while True:
                try:                                # (costs nothing in CPython >= 3.11 unless raised)
                    t = blocks[pc]
                except KeyError:
                    self._left, self._idx = left, 0
                    t = self._lookup(pc, False)
                    if t is None:
                        return                      # fetch fault taken
                fn, n, b = t
                if n > left:
                    if left <= 0:
                        break
                    t = singles.get(pc)             # the budget ends inside this block: step
                    if t is None:
                        self._left, self._idx = left, 0
                        t = self._lookup(pc, True)
                        if t is None:
                            return
                    fn, n, b = t
                pc = fn(self, x, ram, R, W, left)
                left = self._left
        except (Trap, Resync, MmioExit) as exc:
            self._left_block(exc, b)
            return
        self._left = left
        self._idx = 0
        self.pc = pc

    def _execute_watched(self) -> None:
        """Like _execute, calling on_watch before each watched pc (blocks split there)."""
        ctx = self._ctx
        blocks, singles, R, W = ctx.blocks, ctx.singles, ctx.r, ctx.w
        x, ram, pc, left = self.x, self.ram, self.pc, self._left
        watch = self._watch
        n = 0
        b = None
        try:
            while True:
                t = blocks.get(pc)
                if t is None:
                    self._left, self._idx = left, 0
                    t = self._lookup(pc, False)
                    if t is None:
                        return
                fn, n, b = t
                if n > left:
                    if left <= 0:
                        break
                    t = singles.get(pc)             # the budget ends inside this block: step
                    if t is None:
                        self._left, self._idx = left, 0
                        t = self._lookup(pc, True)
                        if t is None:
                            return
                    fn, n, b = t
                if pc in watch and self.on_watch is not None:
                    self.pc, self._left, self._idx = pc, left, 0
                    self.on_watch(self, pc)
                pc = fn(self, x, ram, R, W, left)
                left = self._left
        except (Trap, Resync, MmioExit) as exc:
            self._left_block(exc, b)
            return
        self._left = left
        self._idx = 0
        self.pc = pc

    def _left_block(self, exc, b) -> None:
        """Settle the count and pc after an exception left block `b` at instruction self._idx.

        The block stored the budget left at the start of its current round in
        self._left before calling the hart (blocks may loop: not the caller's `left`).
        """
        idx = self._idx
        self._idx = 0
        if isinstance(exc, Trap):
            self._left -= idx
            self.take_trap(exc.cause, exc.tval, b.pcs[idx])
            return
        self._left -= idx + 1                       # the instruction that exited retired
        if isinstance(exc, Resync):
            self.pc = exc.pc
            self._resync = False
        else:                                       # MmioExit: go on after the access
            self.pc = b.pcs[idx + 1]
            self._exit = False

    def _lookup(self, pc: int, single: bool):
        """The (fn, n, block) for pc, translating it if needed; None if fetching faulted."""
        ctx = self._ctx
        try:
            ppc = self.fetch_address(pc) + self.ram_base
        except Trap as e:
            self.pc = pc
            self.take_trap(e.cause, e.tval, pc)
            return None
        key = (pc, ppc, single, self._watch_version if self._watch else 0)
        cache = self.code_cache
        blk = cache.get(key)
        if blk is None:
            try:
                blk = find_block(self, pc, ppc, single)
            except Trap as e:            # the second half of a page-straddling instruction
                self.pc = pc
                self.take_trap(e.cause, e.tval, pc)
                return None
            cache.put(key, blk)
        if cache.activity is not None:
            cache.activity.ran_block(blk.pcs)
        t = (blk.fn, blk.n, blk)
        (ctx.singles if single else ctx.blocks)[pc] = t
        return t
