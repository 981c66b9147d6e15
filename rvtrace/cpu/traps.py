"""Traps: taking exceptions and interrupts, delegation, and the xRET/wfi/fence rules.

A mixin of `Hart`. Everything here is on the slow path: translated code calls
these only for system instructions.
"""

from __future__ import annotations

from rvtrace.cpu.arch import (CAUSE_BREAKPOINT, CAUSE_ECALL_U, CAUSE_ILLEGAL, INTERRUPT, IRQ_M_EXT,
                              IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER, MEIP, MS_MIE,
                              MS_MPIE, MS_MPP, MS_MPP_SHIFT, MS_MPRV, MS_SIE, MS_SPIE, MS_SPP, MS_TSR,
                              MS_TVM, MS_TW, MSIP, MTIP, SEIP, SSIP, STIP)
from rvtrace.cpu.signals import Trap

# The order in which simultaneous interrupts are taken (privileged spec 3.1.9)
PRIORITY = [(MEIP, IRQ_M_EXT), (MSIP, IRQ_M_SOFT), (MTIP, IRQ_M_TIMER), (SEIP, IRQ_S_EXT),
            (SSIP, IRQ_S_SOFT), (STIP, IRQ_S_TIMER)]


class Traps:
    """Mixed into Hart."""

    # --- taking a trap --------------------------------------------------------------

    def take_trap(self, cause: int, tval: int, epc: int) -> None:
        """Enter the trap handler for `cause` (bit 63 set for interrupts) raised at epc."""
        self.reservation = None
        interrupt = cause >> 63
        code = cause & ~INTERRUPT
        deleg = self.mideleg if interrupt else self.medeleg
        from_priv = self.priv
        ms = self.mstatus
        if from_priv <= 1 and (deleg >> code) & 1:
            self.scause, self.sepc, self.stval = cause, epc, tval
            ms = (ms & ~(MS_SPIE | MS_SIE | MS_SPP)) | (MS_SPIE if ms & MS_SIE else 0) \
                | (MS_SPP if from_priv else 0)
            to_priv, tvec = 1, self.stvec
        else:
            self.mcause, self.mepc, self.mtval = cause, epc, tval
            ms = (ms & ~(MS_MPIE | MS_MIE | MS_MPP)) | (MS_MPIE if ms & MS_MIE else 0) \
                | (from_priv << MS_MPP_SHIFT)
            to_priv, tvec = 3, self.mtvec
        self.mstatus = ms
        base = tvec & ~3
        self.pc = base + 4 * code if (tvec & 1 and interrupt) else base
        self.priv = to_priv
        self._select_context()
        if self.on_trap is not None:
            self.on_trap(self, cause, tval, epc, from_priv, to_priv)

    def pending_interrupt(self) -> int | None:
        """The interrupt cause (with bit 63) to take now, or None."""
        pend = self._mip_value() & self.mie
        if not pend:
            return None
        priv, ms = self.priv, self.mstatus
        to_m = pend & ~self.mideleg
        if to_m and (priv < 3 or ms & MS_MIE):
            return self._highest(to_m)
        to_s = pend & self.mideleg
        if to_s and (priv < 1 or (priv == 1 and ms & MS_SIE)):
            return self._highest(to_s)
        return None

    @staticmethod
    def _highest(bits: int) -> int:
        for bit, code in PRIORITY:
            if bits & bit:
                return INTERRUPT | code
        raise AssertionError("no known interrupt bit")      # pragma: no cover

    # --- instructions that trap -------------------------------------------------------

    def ecall(self, idx: int) -> None:
        self._idx = idx
        raise Trap(CAUSE_ECALL_U + self.priv, 0)

    def ebreak(self, pc: int, idx: int) -> None:
        self._idx = idx
        raise Trap(CAUSE_BREAKPOINT, pc)           # stval = the breakpoint's address, as QEMU

    def illegal(self, bits: int, idx: int) -> None:
        self._idx = idx
        raise Trap(CAUSE_ILLEGAL, bits)

    # --- returns and waits --------------------------------------------------------------

    def mret(self, bits: int, idx: int) -> int:
        self._idx = idx
        if self.priv != 3:
            raise Trap(CAUSE_ILLEGAL, bits)
        ms = self.mstatus
        to_priv = (ms & MS_MPP) >> MS_MPP_SHIFT
        ms = (ms & ~(MS_MIE | MS_MPP)) | (MS_MIE if ms & MS_MPIE else 0) | MS_MPIE
        if to_priv != 3:
            ms &= ~MS_MPRV
        return self._xret("mret", ms, to_priv, self.mepc)

    def sret(self, bits: int, idx: int) -> int:
        self._idx = idx
        if self.priv < 1 or (self.priv == 1 and self.mstatus & MS_TSR):
            raise Trap(CAUSE_ILLEGAL, bits)
        ms = self.mstatus
        to_priv = 1 if ms & MS_SPP else 0
        ms = (ms & ~(MS_SIE | MS_SPP | MS_MPRV)) | (MS_SIE if ms & MS_SPIE else 0) | MS_SPIE
        return self._xret("sret", ms, to_priv, self.sepc)

    def _xret(self, kind: str, mstatus: int, to_priv: int, new_pc: int) -> int:
        from_priv = self.priv
        self.mstatus = mstatus
        self.priv = to_priv
        self.reservation = None
        self._select_context()
        if self.on_xret is not None:
            self.on_xret(self, kind, from_priv, to_priv, new_pc)
        return new_pc

    def wfi(self, bits: int, idx: int) -> None:
        self._idx = idx
        if self.priv == 0 or (self.priv == 1 and self.mstatus & MS_TW):
            raise Trap(CAUSE_ILLEGAL, bits)
        if not self._mip_value() & self.mie:
            self.waiting = True

    def sfence_vma(self, vaddr: int, asid: int, bits: int, idx: int) -> None:
        self._idx = idx
        if self.priv == 0 or (self.priv == 1 and self.mstatus & MS_TVM):
            raise Trap(CAUSE_ILLEGAL, bits)
        # Nothing to flush: our TLBs follow page-table stores (mmu.py), so they are never stale.

    def fence_i(self, idx: int) -> None:
        self._idx = idx
        self.code_cache.flush()
