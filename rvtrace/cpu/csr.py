"""Control and status registers: numbers, field masks, and their read/write rules.

`CsrFile` is a mixin of `Hart`. `csr_op` is what the csrr* instructions call
(with the privilege, read-only and counter-enable checks of the privileged
specification); `read_csr`/`write_csr` are the debugger's and tests' door
(no privilege checks, no traps).
"""

from __future__ import annotations

from rvtrace.cpu.signals import Trap

from rvtrace.cpu.arch import (  # noqa: F401  (numbers and bits re-exported for the hart's modules)
    CAUSE_ILLEGAL, CYCLE, INSTRET, MARCHID, MCAUSE, MCONFIGPTR, MCOUNTEREN, MCOUNTINHIBIT, MCYCLE,
    MEDELEG, MEIP, MENVCFG, MEPC, MHARTID, MIDELEG, MIE, MIMPID, MINSTRET, MIP, MISA, MS_MIE,
    MS_MPIE, MS_MPP, MS_MPP_SHIFT, MS_MPRV, MS_MXR, MS_SIE, MS_SPIE, MS_SPP, MS_SUM, MS_TSR, MS_TVM,
    MS_TW, MS_UXL_SXL, MSCRATCH, MSIP, MSTATUS, MTIP, MTVAL, MTVEC, MVENDORID, PMPADDR0, PMPCFG0,
    SATP, SATP_MODE_BARE, SATP_MODE_SHIFT, SATP_MODE_SV39, SCAUSE, SCOUNTEREN, SEIP, SENVCFG, SEPC, SIE, SIP, SSCRATCH,
    SSIP, SSTATUS, STIMECMP, STIP, STVAL, STVEC, TIME, XLEN_MASK as M64,
    TCONTROL, TDATA1, TDATA2, TDATA3, TINFO, TSELECT)

# --- which bits software can write -----------------------------------------------------
MSTATUS_WRITABLE = (MS_SIE | MS_MIE | MS_SPIE | MS_MPIE | MS_SPP | MS_MPP | MS_MPRV | MS_SUM
                    | MS_MXR | MS_TVM | MS_TW | MS_TSR)
# sstatus is a view of mstatus: these bits show, and the first five can be written
SSTATUS_WRITABLE = MS_SIE | MS_SPIE | MS_SPP | MS_SUM | MS_MXR
SSTATUS_READABLE = (SSTATUS_WRITABLE | (1 << 6) | (3 << 9) | (3 << 13) | (3 << 15)
                    | (3 << 32) | (1 << 63))

ALL_INTERRUPTS = SSIP | MSIP | STIP | MTIP | SEIP | MEIP
S_INTERRUPTS = SSIP | STIP | SEIP             # the ones mideleg can hand to S-mode
MEDELEG_WRITABLE = 0xB3FF                      # causes 0-9, 12, 13, 15 (not ecall from M)

MISA_VALUE = (2 << 62) | sum(1 << (ord(c) - ord("A")) for c in "IMACSU")
MENVCFG_STCE = 1 << 63
MENVCFG_WRITABLE = MENVCFG_STCE | 1            # STCE, FIOM


class CsrFile:
    """CSR state and rules, mixed into Hart."""

    def _reset_csrs(self) -> None:
        self.mstatus = MS_UXL_SXL
        self.medeleg = self.mideleg = 0
        self.mie = 0
        self._mip = 0                 # pending bits set by software and devices
        self._seip_sw = 0             # SEIP as written by software (ORed with the device line)
        self.mtvec = self.stvec = 0
        self.mepc = self.sepc = 0
        self.mcause = self.scause = 0
        self.mtval = self.stval = 0
        self.mscratch = self.sscratch = 0
        self.mcounteren = self.scounteren = 0
        self.mcountinhibit = 0
        self.menvcfg = self.senvcfg = 0
        self.stimecmp = M64
        self.satp = 0
        self.pmpcfg = [0] * 16
        self.pmpaddr = [0] * 64
        self._cycle_offset = 0        # mcycle/minstret as written minus the retired count
        self._instret_offset = 0

    # --- the csrr* instructions ------------------------------------------------------

    def csr_op(self, csr: int, op: int, value: int, do_read: bool, do_write: bool, bits: int,
               idx: int) -> int:
        """csrrw (op 0), csrrs (1), csrrc (2). Returns the old value for rd."""
        self._idx = idx
        if not self._csr_allowed(csr, do_write):
            raise Trap(CAUSE_ILLEGAL, bits)
        old = self._csr_read(csr)
        if do_write:
            new = value if op == 0 else (old | value) if op == 1 else (old & ~value)
            ctx = self._ctx
            self._csr_write(csr, new & M64)
            if csr in (MCYCLE, MINSTRET):
                # the written value replaces this instruction's own increment
                self._adjust_counter(csr, -1)
            if csr in (STIMECMP, MENVCFG):
                self._yield = True        # a new timer deadline: run() returns so the machine sees it
                self._resync = True
            elif csr == SATP or self._ctx is not ctx:
                self._resync = True       # translation changed: the block's TLB views are stale
            elif csr in _INTERRUPT_CSRS and (csr not in (MSTATUS, SSTATUS) or (new & ~old) & (MS_MIE | MS_SIE)) \
                    and self.pending_interrupt() is not None:
                self._resync = True       # an interrupt can be taken now (only enabling can do that)
        return old

    def _csr_allowed(self, csr: int, write: bool) -> bool:
        if csr not in self._CSR_NAMES and not self._is_array_csr(csr):
            return False
        if self.priv < (csr >> 8) & 3:
            return False
        if write and (csr >> 10) == 3:
            return False                          # read-only CSR
        if csr == SATP and self.priv == 1 and self.mstatus & MS_TVM:
            return False
        if csr == STIMECMP and self.priv < 3:
            if not self.menvcfg & MENVCFG_STCE or not self.mcounteren & 2:
                return False
        if 0xC00 <= csr <= 0xC1F and self.priv < 3:
            bit = 1 << (csr & 31)
            if not self.mcounteren & bit:
                return False
            if self.priv == 0 and not self.scounteren & bit:
                return False
        return True

    @staticmethod
    def _is_array_csr(csr: int) -> bool:
        return (PMPCFG0 <= csr <= PMPCFG0 + 15 and csr % 2 == 0) or PMPADDR0 <= csr <= PMPADDR0 + 63 \
            or 0xB03 <= csr <= 0xB1F or 0xC03 <= csr <= 0xC1F or 0x323 <= csr <= 0x33F

    def _adjust_counter(self, csr: int, delta: int) -> None:
        if csr == MCYCLE:
            self._cycle_offset += delta
        else:
            self._instret_offset += delta

    # --- the debugger's door -------------------------------------------------------

    def read_csr(self, csr: int) -> int:
        if csr not in self._CSR_NAMES and not self._is_array_csr(csr):
            raise KeyError(f"no CSR {csr:#x}")
        return self._csr_read(csr)

    def write_csr(self, csr: int, value: int) -> None:
        if csr not in self._CSR_NAMES and not self._is_array_csr(csr):
            raise KeyError(f"no CSR {csr:#x}")
        self._csr_write(csr, value & M64)

    # --- values --------------------------------------------------------------------

    def _mip_value(self) -> int:
        mip = self._mip | (SEIP if self._seip_sw else 0)
        if self.menvcfg & MENVCFG_STCE:
            mip &= ~STIP
            if self.time_fn() >= self.stimecmp:
                mip |= STIP
        return mip

    def _csr_read(self, csr: int) -> int:
        if csr == MSTATUS:
            return self.mstatus
        if csr == SSTATUS:
            return self.mstatus & SSTATUS_READABLE
        if csr == MIP:
            return self._mip_value()
        if csr == SIP:
            return self._mip_value() & self.mideleg
        if csr == SIE:
            return self.mie & self.mideleg
        if csr in (CYCLE, MCYCLE):
            return (self.instret + self._cycle_offset) & M64
        if csr in (INSTRET, MINSTRET):
            return (self.instret + self._instret_offset) & M64
        if csr == TIME:
            return self.time_fn() & M64
        if csr == MHARTID:
            return self.hartid
        if csr == MISA:
            return MISA_VALUE
        if TSELECT <= csr <= TCONTROL:
            # The debug specification's hart with no triggers: tselect holds only 0,
            # tdata1 there has type 0 ("no trigger"), tinfo says only type 0 exists
            # (bit 0), the rest read 0; every write is ignored. Software probing for
            # triggers (as the ISA tests do) finds none instead of trapping.
            return 1 if csr == TINFO else 0
        if PMPCFG0 <= csr <= PMPCFG0 + 15:
            return self.pmpcfg[csr - PMPCFG0]
        if PMPADDR0 <= csr <= PMPADDR0 + 63:
            return self.pmpaddr[csr - PMPADDR0]
        attr = self._CSR_ATTRS.get(csr)
        return getattr(self, attr) if attr else 0     # ids, hpm counters and events read 0

    def _csr_write(self, csr: int, v: int) -> None:
        if csr == MSTATUS:
            self._set_mstatus((self.mstatus & ~MSTATUS_WRITABLE) | (v & MSTATUS_WRITABLE))
        elif csr == SSTATUS:
            self._set_mstatus((self.mstatus & ~SSTATUS_WRITABLE) | (v & SSTATUS_WRITABLE))
        elif csr == MIP:
            writable = SSIP | SEIP | (0 if self.menvcfg & MENVCFG_STCE else STIP)
            self._seip_sw = v & SEIP
            self._mip = (self._mip & ~(writable & ~SEIP)) | (v & writable & ~SEIP)
        elif csr == SIP:
            writable = SSIP & self.mideleg
            self._mip = (self._mip & ~writable) | (v & writable)
        elif csr == MIE:
            self.mie = v & ALL_INTERRUPTS
        elif csr == SIE:
            self.mie = (self.mie & ~self.mideleg) | (v & self.mideleg & S_INTERRUPTS)
        elif csr == MIDELEG:
            self.mideleg = v & S_INTERRUPTS
        elif csr == MEDELEG:
            self.medeleg = v & MEDELEG_WRITABLE
        elif csr in (MTVEC, STVEC):
            if v & 3 < 2:                           # modes 2 and 3 are reserved: keep the old value
                setattr(self, "mtvec" if csr == MTVEC else "stvec", v)
        elif csr in (MEPC, SEPC):
            setattr(self, "mepc" if csr == MEPC else "sepc", v & ~1)
        elif csr == SATP:
            self._set_satp(v)
        elif csr == MCYCLE:
            self._cycle_offset = v - self.instret
        elif csr == MINSTRET:
            self._instret_offset = v - self.instret
        elif csr == MENVCFG:
            self.menvcfg = v & MENVCFG_WRITABLE
        elif csr == SENVCFG:
            self.senvcfg = v & 1
        elif csr in (MCOUNTEREN, SCOUNTEREN):
            setattr(self, "mcounteren" if csr == MCOUNTEREN else "scounteren", v & 0xFFFFFFFF)
        elif PMPCFG0 <= csr <= PMPCFG0 + 15:
            self.pmpcfg[csr - PMPCFG0] = v          # stored, not enforced
        elif PMPADDR0 <= csr <= PMPADDR0 + 63:
            self.pmpaddr[csr - PMPADDR0] = v & ((1 << 54) - 1)
        elif csr in self._CSR_ATTRS and csr not in _READ_ONLY_ATTRS:
            setattr(self, self._CSR_ATTRS[csr], v)
        # everything else (ids, hpm counters/events, trigger CSRs) ignores writes

    def _set_mstatus(self, value: int) -> None:
        if (value >> MS_MPP_SHIFT) & 3 == 2:          # MPP is WARL: 2 is reserved, becomes U
            value &= ~MS_MPP
        old, self.mstatus = self.mstatus, value | MS_UXL_SXL
        if (old ^ value) & _TRANSLATION_BITS:
            self._select_context()

    def _set_satp(self, v: int) -> None:
        mode = v >> SATP_MODE_SHIFT
        if mode not in (SATP_MODE_BARE, SATP_MODE_SV39):
            return                                     # unsupported modes: the write is ignored
        old, self.satp = self.satp, v
        self._select_context()                     # TLBs are per address space: nothing to flush
        if self.on_satp is not None:
            self.on_satp(self, old, v)

    _CSR_ATTRS = {
        MSCRATCH: "mscratch", SSCRATCH: "sscratch", MCAUSE: "mcause", SCAUSE: "scause",
        MTVAL: "mtval", STVAL: "stval", MEPC: "mepc", SEPC: "sepc", MTVEC: "mtvec", STVEC: "stvec",
        MEDELEG: "medeleg", MIDELEG: "mideleg", MIE: "mie", SATP: "satp",
        MCOUNTEREN: "mcounteren", SCOUNTEREN: "scounteren", MCOUNTINHIBIT: "mcountinhibit",
        MENVCFG: "menvcfg", SENVCFG: "senvcfg", STIMECMP: "stimecmp",
    }
    _CSR_NAMES = set(_CSR_ATTRS) | {
        MSTATUS, SSTATUS, MIP, SIP, SIE, MISA, CYCLE, TIME, INSTRET, MCYCLE, MINSTRET,
        MVENDORID, MARCHID, MIMPID, MHARTID, MCONFIGPTR,
        TSELECT, TDATA1, TDATA2, TDATA3, TINFO, TCONTROL,
    }


_TRANSLATION_BITS = MS_MPRV | MS_MPP | MS_SUM | MS_MXR
_INTERRUPT_CSRS = {MSTATUS, SSTATUS, MIE, SIE, MIP, SIP, MIDELEG}
_READ_ONLY_ATTRS = {MVENDORID, MARCHID, MIMPID, MHARTID, MCONFIGPTR}

