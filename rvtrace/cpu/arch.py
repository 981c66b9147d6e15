"""Architecture facts, written once: CSR numbers, mstatus and interrupt bits, trap causes,
privilege modes, register ABI names, Sv39 page-table bits, and one Sv39 walker.

Everything that needs one of these numbers imports it from here -- the hart
(csr.py, traps.py, mmu.py), the machine, the kernel introspection, the
recorder, the replay and the debugger -- so a number is never typed twice.
The facts are the RISC-V unprivileged and privileged specifications'.

The walker (`sv39_leaf`, `sv39_translate`) has no side effects (it sets no
A/D bits and checks no permissions): it is for looking at a page table, over
any reader of physical memory (`ram_reader` makes one over a RAM bytearray).
The hart's own hot-path translation (mmu.py) is a separate, inlined walk for
speed, built from the same constants.
"""

from __future__ import annotations

from typing import Callable

XLEN_MASK = (1 << 64) - 1

# --- privilege modes -------------------------------------------------------------
PRIV_U, PRIV_S, PRIV_M = 0, 1, 3
PRIV_NAMES = {PRIV_U: "U", PRIV_S: "S", PRIV_M: "M"}

# --- integer registers -----------------------------------------------------------
# ABI names in register-number order (x0..x31).
ABI_NAMES = ("zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3",
             "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
             "t3", "t4", "t5", "t6")
REGISTER_NUMBER = {name: i for i, name in enumerate(ABI_NAMES)}
REGISTER_NUMBER.update({f"x{i}": i for i in range(32)})
REGISTER_NUMBER["fp"] = 8
REG_RA, REG_SP, REG_FP, REG_A0, REG_A1, REG_A7 = 1, 2, 8, 10, 11, 17

# --- CSR numbers -----------------------------------------------------------------
SSTATUS, SIE, STVEC, SCOUNTEREN, SENVCFG = 0x100, 0x104, 0x105, 0x106, 0x10A
SSCRATCH, SEPC, SCAUSE, STVAL, SIP, STIMECMP, SATP = 0x140, 0x141, 0x142, 0x143, 0x144, 0x14D, 0x180
MSTATUS, MISA, MEDELEG, MIDELEG, MIE, MTVEC, MCOUNTEREN = 0x300, 0x301, 0x302, 0x303, 0x304, 0x305, 0x306
MENVCFG, MCOUNTINHIBIT = 0x30A, 0x320
MSCRATCH, MEPC, MCAUSE, MTVAL, MIP = 0x340, 0x341, 0x342, 0x343, 0x344
PMPCFG0, PMPADDR0 = 0x3A0, 0x3B0
MCYCLE, MINSTRET = 0xB00, 0xB02
# Debug triggers (Sdtrig): this hart has none, and says so as the debug spec prescribes
TSELECT, TDATA1, TDATA2, TDATA3, TINFO, TCONTROL = 0x7A0, 0x7A1, 0x7A2, 0x7A3, 0x7A4, 0x7A5
CYCLE, TIME, INSTRET = 0xC00, 0xC01, 0xC02
MVENDORID, MARCHID, MIMPID, MHARTID, MCONFIGPTR = 0xF11, 0xF12, 0xF13, 0xF14, 0xF15

# CSRs by name, for people (`$satp`, `info registers sstatus`).
CSR_NUMBERS = {
    "sstatus": SSTATUS, "sie": SIE, "stvec": STVEC, "scounteren": SCOUNTEREN, "senvcfg": SENVCFG,
    "sscratch": SSCRATCH, "sepc": SEPC, "scause": SCAUSE, "stval": STVAL, "sip": SIP,
    "stimecmp": STIMECMP, "satp": SATP, "mstatus": MSTATUS, "misa": MISA, "medeleg": MEDELEG,
    "mideleg": MIDELEG, "mie": MIE, "mtvec": MTVEC, "mcounteren": MCOUNTEREN, "menvcfg": MENVCFG,
    "mcountinhibit": MCOUNTINHIBIT, "mscratch": MSCRATCH, "mepc": MEPC, "mcause": MCAUSE,
    "mtval": MTVAL, "mip": MIP, "mcycle": MCYCLE, "minstret": MINSTRET, "cycle": CYCLE,
    "time": TIME, "instret": INSTRET, "mvendorid": MVENDORID, "marchid": MARCHID,
    "mimpid": MIMPID, "mhartid": MHARTID, "mconfigptr": MCONFIGPTR, "tselect": TSELECT,
    "tdata1": TDATA1, "tdata2": TDATA2, "tdata3": TDATA3, "tinfo": TINFO, "tcontrol": TCONTROL,
}

# --- mstatus fields --------------------------------------------------------------
MS_SIE, MS_MIE, MS_SPIE, MS_MPIE, MS_SPP = 1 << 1, 1 << 3, 1 << 5, 1 << 7, 1 << 8
MS_MPP_SHIFT = 11
MS_MPP = 3 << MS_MPP_SHIFT
MS_MPRV, MS_SUM, MS_MXR = 1 << 17, 1 << 18, 1 << 19
MS_TVM, MS_TW, MS_TSR = 1 << 20, 1 << 21, 1 << 22
MS_UXL_SXL = (2 << 32) | (2 << 34)           # XLEN 64 for U and S

# --- interrupt bits (mip/mie) and their cause codes ------------------------------
SSIP, MSIP, STIP, MTIP, SEIP, MEIP = 1 << 1, 1 << 3, 1 << 5, 1 << 7, 1 << 9, 1 << 11
IRQ_S_SOFT, IRQ_M_SOFT, IRQ_S_TIMER, IRQ_M_TIMER, IRQ_S_EXT, IRQ_M_EXT = 1, 3, 5, 7, 9, 11
INTERRUPT_NAMES = {IRQ_S_SOFT: "software", IRQ_S_TIMER: "timer", IRQ_S_EXT: "external",
                   IRQ_M_SOFT: "m-software", IRQ_M_TIMER: "m-timer", IRQ_M_EXT: "m-external"}
TIMER_INTERRUPTS = (IRQ_S_SOFT, IRQ_M_SOFT, IRQ_S_TIMER, IRQ_M_TIMER)   # old xv6 forwards the timer as SSIP
EXTERNAL_INTERRUPTS = (IRQ_S_EXT, IRQ_M_EXT)

# --- trap causes (mcause/scause) -------------------------------------------------
INTERRUPT = 1 << 63                          # the interrupt bit of a cause
CAUSE_MISALIGNED_FETCH, CAUSE_FETCH_ACCESS, CAUSE_ILLEGAL, CAUSE_BREAKPOINT = 0, 1, 2, 3
CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS, CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS = 4, 5, 6, 7
CAUSE_ECALL_U, CAUSE_ECALL_S, CAUSE_ECALL_M = 8, 9, 11
CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT = 12, 13, 15
PAGE_FAULT_CAUSES = (CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT)
CAUSE_NAMES = {
    0: "instruction address misaligned", 1: "instruction access fault", 2: "illegal instruction",
    3: "breakpoint", 4: "load address misaligned", 5: "load access fault",
    6: "store/AMO address misaligned", 7: "store/AMO access fault", 8: "ecall from U-mode",
    9: "ecall from S-mode", 11: "ecall from M-mode", 12: "instruction page fault",
    13: "load page fault", 15: "store/AMO page fault",
}
# A page fault's access, in one word (the trace's page-fault `cause`).
PAGE_FAULT_WORDS = {CAUSE_FETCH_PAGE_FAULT: "exec", CAUSE_LOAD_PAGE_FAULT: "load",
                    CAUSE_STORE_PAGE_FAULT: "store"}


def cause_name(cause: int) -> str:
    """`load page fault`, `interrupt 5` -- an mcause/scause value in words."""
    if cause >> 63:
        return f"interrupt {cause & ~INTERRUPT}"
    return CAUSE_NAMES.get(cause, f"exception {cause}")


# --- Sv39 ------------------------------------------------------------------------
PAGE_SIZE = 4096
PAGE_SHIFT = 12
PTE_V, PTE_R, PTE_W, PTE_X, PTE_U, PTE_G, PTE_A, PTE_D = (1 << i for i in range(8))
PTE_PPN_SHIFT = 10
PPN_MASK = (1 << 44) - 1
SATP_MODE_SHIFT = 60
SATP_MODE_BARE, SATP_MODE_SV39 = 0, 8
SATP_PPN_MASK = PPN_MASK
SV39_LEVELS = 3
SV39_VA_BITS = 39
# The top of the lower half of the Sv39 space: xv6-style kernels use addresses below it only
# (MAXVA) and map their trampoline page just under it, in every address space.
SV39_MAXVA = 1 << (SV39_VA_BITS - 1)

ReadFn = Callable[[int, int], "bytes | None"]


def satp_mode(satp: int) -> int:
    return satp >> SATP_MODE_SHIFT


def satp_root(satp: int) -> int:
    """Physical address of the root page table a satp value names."""
    return (satp & SATP_PPN_MASK) << PAGE_SHIFT


def make_satp(root_paddr: int) -> int:
    """The Sv39 satp value for a root page table at `root_paddr` (ASID 0)."""
    return (SATP_MODE_SV39 << SATP_MODE_SHIFT) | (root_paddr >> PAGE_SHIFT)


def sv39_canonical(va: int) -> bool:
    """Bits 63..39 copy bit 38."""
    top = va >> (SV39_VA_BITS - 1)
    return top == 0 or top == (1 << (64 - SV39_VA_BITS + 1)) - 1


def pte_paddr(pte: int) -> int:
    return ((pte >> PTE_PPN_SHIFT) & PPN_MASK) << PAGE_SHIFT


def ram_reader(ram, base: int) -> ReadFn:
    """A physical-memory reader over a RAM bytearray that starts at physical `base`."""
    size = len(ram)

    def read(paddr: int, n: int) -> bytes | None:
        off = paddr - base
        return bytes(ram[off:off + n]) if 0 <= off and off + n <= size else None
    return read


def sv39_leaf(read: ReadFn, satp: int, va: int) -> tuple[int, int] | None:
    """(leaf PTE, its level) mapping `va` under an Sv39 `satp`, or None if unmapped.

    No permission checks and no A/D updates: this only looks. A PTE that is
    valid but neither readable nor executable points to the next level; the
    first readable or executable one is the leaf (level 2: a 1 GiB page,
    1: 2 MiB, 0: 4 KiB).
    """
    if satp_mode(satp) != SATP_MODE_SV39 or not sv39_canonical(va):
        return None
    table = satp_root(satp)
    for level in range(SV39_LEVELS - 1, -1, -1):
        index = (va >> (PAGE_SHIFT + 9 * level)) & 0x1FF
        try:
            raw = read(table + index * 8, 8)
        except Exception:          # a reader that raises on bad memory: unmapped, as for None
            return None
        if raw is None or len(raw) != 8:
            return None
        pte = int.from_bytes(raw, "little")
        if not pte & PTE_V:
            return None
        if pte & (PTE_R | PTE_X):
            return pte, level
        table = pte_paddr(pte)
    return None


def sv39_translate(read: ReadFn, satp: int, va: int) -> int | None:
    """The physical address of `va` under `satp`, or None if unmapped (Bare mode: va itself)."""
    if satp_mode(satp) == SATP_MODE_BARE:
        return va
    leaf = sv39_leaf(read, satp, va)
    if leaf is None:
        return None
    pte, level = leaf
    offset_bits = PAGE_SHIFT + 9 * level
    low = (1 << offset_bits) - 1
    return (pte_paddr(pte) & ~low) | (va & low)
