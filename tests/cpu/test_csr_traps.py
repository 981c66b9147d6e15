"""CSRs, privilege, traps, delegation, interrupts, xRET, wfi."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from cpuutil import M64, RAM_BASE, asm, code, make_hart

from rvtrace.cpu import csr as C

HANDLER_M = RAM_BASE + 0x10000
HANDLER_S = RAM_BASE + 0x20000
SPIN = code([asm("jal", rd=0, imm=0)])


def hart_with(words, priv=3, **kw):
    h = make_hart(words, **kw)
    h.bus.put(HANDLER_M, SPIN)
    h.bus.put(HANDLER_S, SPIN)
    h.mtvec, h.stvec = HANDLER_M, HANDLER_S
    h.set_priv(priv)
    return h


def csrr(n, rd=5):
    return asm("csrrs", rd=rd, rs1=0, csr=n)


def csrw(n, rs1=6):
    return asm("csrrw", rd=0, rs1=rs1, csr=n)


# --- CSR basics -------------------------------------------------------------------------

def test_csrrw_csrrs_csrrc_and_immediates():
    words = [
        csrw(C.MSCRATCH),                                    # x6 -> mscratch
        asm("csrrs", rd=7, rs1=8, csr=C.MSCRATCH),           # read old, set bits x8
        asm("csrrc", rd=9, rs1=10, csr=C.MSCRATCH),          # read, clear bits x10
        asm("csrrwi", rd=11, imm=0x1F, csr=C.SSCRATCH),
        asm("csrrsi", rd=12, imm=0, csr=C.SSCRATCH),         # no write
        asm("csrrci", rd=13, imm=0x3, csr=C.SSCRATCH),
    ]
    h = hart_with(words)
    h.x[6], h.x[8], h.x[10] = 0xF0, 0x0F, 0x11
    h.run(6)
    assert (h.x[7], h.x[9], h.mscratch) == (0xF0, 0xFF, 0xEE)
    assert (h.x[11], h.x[12], h.sscratch) == (0, 0x1F, 0x1C)


def test_read_only_csr_write_traps_with_instruction_bits():
    w = csrw(C.MHARTID)
    h = hart_with([w])
    h.run(1)
    assert (h.mcause, h.mtval, h.mepc) == (2, w, RAM_BASE)
    # but reading it is fine, and csrrs with x0 does not write
    h = hart_with([asm("csrrs", rd=5, rs1=0, csr=C.MHARTID)], hartid=3)
    h.run(1)
    assert h.x[5] == 3 and h.mcause == 0


def test_unknown_and_fp_csrs_are_illegal():
    for n in (0x001, 0x003, 0x7B0, 0x3A1):                   # fflags, fcsr, dcsr (debug mode), pmpcfg1 (RV32)
        h = hart_with([csrr(n)])
        h.run(1)
        assert h.mcause == 2, hex(n)


def test_fp_instruction_is_illegal_with_bits_in_tval():
    flw = 0x00052007                                         # flw f0, 0(a0)
    h = hart_with([flw])
    h.run(1)
    assert (h.mcause, h.mtval) == (2, flw)
    h = hart_with([0x2108])                                   # c.fld
    h.run(1)
    assert (h.mcause, h.mtval) == (2, 0x2108)


def test_machine_mode_ids_and_misa():
    h = hart_with([])
    assert h.read_csr(C.MISA) == (2 << 62) | 0x141105
    assert h.read_csr(C.MVENDORID) == h.read_csr(C.MARCHID) == h.read_csr(C.MIMPID) == 0
    assert (h.read_csr(C.MSTATUS) >> 32) & 0xF == 0xA        # UXL = SXL = 2
    assert (h.read_csr(C.MSTATUS) >> 13) & 3 == 0            # FS = 0


def test_mstatus_warl_and_sstatus_view():
    h = hart_with([])
    h.write_csr(C.MSTATUS, M64)
    ms = h.read_csr(C.MSTATUS)
    assert ms & C.MSTATUS_WRITABLE == C.MSTATUS_WRITABLE
    assert ms & (3 << 13) == 0 and ms >> 36 == 0             # FS, SD, ... stay 0
    h.write_csr(C.MSTATUS, 2 << C.MS_MPP_SHIFT)              # MPP = 2 is reserved
    assert (h.read_csr(C.MSTATUS) >> C.MS_MPP_SHIFT) & 3 == 0
    h.write_csr(C.MSTATUS, C.MS_MIE | C.MS_TVM)
    h.write_csr(C.SSTATUS, M64)                              # only S fields change
    ms = h.read_csr(C.MSTATUS)
    assert ms & C.MS_MIE and ms & C.MS_TVM and ms & C.SSTATUS_WRITABLE == C.SSTATUS_WRITABLE
    assert h.read_csr(C.SSTATUS) == ms & C.SSTATUS_READABLE
    assert not h.read_csr(C.SSTATUS) & C.MS_MIE


def test_sip_sie_masks_follow_mideleg():
    h = hart_with([])
    h.write_csr(C.MIE, M64)
    assert h.read_csr(C.MIE) == C.ALL_INTERRUPTS
    assert h.read_csr(C.SIE) == 0                            # nothing delegated
    h.write_csr(C.MIDELEG, M64)
    assert h.read_csr(C.MIDELEG) == C.S_INTERRUPTS
    assert h.read_csr(C.SIE) == C.S_INTERRUPTS
    h.write_csr(C.SIE, 0)
    assert h.read_csr(C.MIE) == C.ALL_INTERRUPTS & ~C.S_INTERRUPTS
    h.write_csr(C.SIP, M64)                                  # only SSIP is writable through sip
    assert h.read_csr(C.MIP) == C.SSIP
    h.write_csr(C.MIP, M64)                                  # M sees SSIP, STIP, SEIP writable
    assert h.read_csr(C.MIP) == C.SSIP | C.STIP | C.SEIP
    h.set_pending(C.MTIP, True)
    assert h.read_csr(C.MIP) & C.MTIP and h.read_csr(C.SIP) & C.MTIP == 0


def test_medeleg_cannot_delegate_ecall_from_m():
    h = hart_with([])
    h.write_csr(C.MEDELEG, M64)
    assert h.read_csr(C.MEDELEG) == 0xB3FF


def test_mepc_sepc_clear_bit0_and_tvec_mode():
    h = hart_with([])
    h.write_csr(C.MEPC, 0x1001)
    h.write_csr(C.SEPC, 0x2003)
    assert (h.mepc, h.sepc) == (0x1000, 0x2002)
    h.write_csr(C.MTVEC, 0x4001)
    h.write_csr(C.MTVEC, 0x8002)                             # reserved mode: ignored
    assert h.mtvec == 0x4001


def test_satp_modes():
    h = hart_with([])
    h.write_csr(C.SATP, (8 << 60) | 0x1234)
    assert h.satp == (8 << 60) | 0x1234
    h.write_csr(C.SATP, (9 << 60) | 0x1)                     # Sv48: not supported, ignored
    assert h.satp == (8 << 60) | 0x1234


# --- counters -------------------------------------------------------------------------------

def test_counters_count_retired_instructions():
    words = [asm("addi", rd=0, rs1=0, imm=0)] * 3 + [csrr(C.INSTRET), csrr(C.MINSTRET, 6),
                                                     csrr(C.CYCLE, 7)]
    h = hart_with(words)
    h.run(6)
    assert (h.x[5], h.x[6], h.x[7]) == (3, 4, 5)


def test_minstret_write():
    h = hart_with([csrw(C.MINSTRET), asm("addi", rd=0, rs1=0, imm=0), csrr(C.MINSTRET)])
    h.x[6] = 100
    h.run(3)
    assert h.x[5] in (101, 102)       # the write takes effect; the csrw itself may or may not count
    assert h.instret == 3


@pytest.mark.parametrize("priv,mcounteren,scounteren,ok", [
    (1, 0, 0, False), (1, 4, 0, True), (0, 4, 0, False), (0, 4, 4, True), (0, 0, 4, False),
])
def test_counter_access_gated_by_counteren(priv, mcounteren, scounteren, ok):
    h = hart_with([csrr(C.INSTRET)], priv=priv)
    h.mcounteren, h.scounteren = mcounteren, scounteren
    h.run(1)
    assert (h.mcause == 0) == ok


def test_time_reads_time_fn():
    h = hart_with([csrr(C.TIME)])
    h.time_fn = lambda: 12345
    h.mcounteren = 2
    h.run(1)
    assert h.x[5] == 12345


def test_s_mode_cannot_touch_m_csrs():
    h = hart_with([csrr(C.MSTATUS)], priv=1)
    h.run(1)
    assert h.mcause == 2 and h.priv == 3


def test_stimecmp_needs_stce_and_tm_in_s_mode():
    h = hart_with([csrw(C.STIMECMP)], priv=1)
    h.run(1)
    assert h.mcause == 2
    h = hart_with([csrw(C.STIMECMP)], priv=1)
    h.menvcfg, h.mcounteren = C.MENVCFG_STCE, 2
    h.x[6] = 500
    h.run(1)
    assert h.mcause == 0 and h.stimecmp == 500 and h.timer_deadline() == 500


def test_sstc_stip_follows_time_and_is_read_only():
    h = hart_with([])
    now = [0]
    h.time_fn = lambda: now[0]
    h.menvcfg, h.stimecmp = C.MENVCFG_STCE, 100
    assert not h.read_csr(C.MIP) & C.STIP
    h.write_csr(C.MIP, C.STIP)                                # read-only under Sstc
    assert not h.read_csr(C.MIP) & C.STIP
    now[0] = 100
    assert h.read_csr(C.MIP) & C.STIP


def test_stimecmp_write_ends_the_run():
    h = hart_with([csrw(C.STIMECMP), asm("addi", rd=7, rs1=0, imm=1)])
    assert h.run(10) == 1 and h.x[7] == 0


# --- exceptions -----------------------------------------------------------------------------

@pytest.mark.parametrize("priv,cause", [(0, 8), (1, 9), (3, 11)])
def test_ecall_causes_and_no_retire(priv, cause):
    h = hart_with([asm("ecall")], priv=priv)
    h.mtvec = HANDLER_M
    assert h.run(1) == 1                                     # the handler's jump, not the ecall
    assert (h.mcause, h.mepc, h.priv) == (cause, RAM_BASE, 3)
    assert (h.mstatus >> C.MS_MPP_SHIFT) & 3 == priv
    assert h.instret == 1


def test_ebreak_tval_is_pc():
    h = hart_with([asm("addi", rd=0, rs1=0, imm=0), asm("ebreak")])
    h.run(1)
    assert h.instret == 1
    h.run(1)
    assert (h.mcause, h.mtval, h.mepc) == (3, RAM_BASE + 4, RAM_BASE + 4)


def test_delegated_exception_goes_to_s():
    h = hart_with([asm("ecall")], priv=0)
    h.medeleg = 1 << 8
    h.mstatus |= C.MS_SIE
    h.run(1)
    assert (h.scause, h.sepc, h.priv, h.pc) == (8, RAM_BASE, 1, HANDLER_S)
    ms = h.mstatus
    assert not ms & C.MS_SPP and ms & C.MS_SPIE and not ms & C.MS_SIE
    assert h.mcause == 0


def test_delegation_does_not_apply_to_m_mode():
    h = hart_with([asm("ebreak")], priv=3)
    h.medeleg = 0xB3FF
    h.run(1)
    assert h.mcause == 3 and h.scause == 0


def test_mret_restores_mpp_mpie_and_clears_mprv():
    h = hart_with([asm("mret")])
    h.mepc = RAM_BASE + 0x100
    h.bus.put(RAM_BASE + 0x100, SPIN)
    h.mstatus = (h.mstatus & ~C.MS_MPP) | (1 << C.MS_MPP_SHIFT) | C.MS_MPIE | C.MS_MPRV
    h.run(1)
    assert h.priv == 1 and h.pc == RAM_BASE + 0x100
    ms = h.mstatus
    assert ms & C.MS_MIE and ms & C.MS_MPIE and not ms & C.MS_MPP and not ms & C.MS_MPRV


def test_sret_restores_spp_spie():
    h = hart_with([asm("sret")], priv=1)
    h.sepc = RAM_BASE + 0x100
    h.mstatus |= C.MS_SPIE                                   # SPP = 0: back to U
    h.run(1)
    assert h.priv == 0 and h.pc == RAM_BASE + 0x100
    assert h.mstatus & C.MS_SIE and h.mstatus & C.MS_SPIE


@pytest.mark.parametrize("words,priv,bit", [
    ([asm("sret")], 1, C.MS_TSR),
    ([asm("sfence.vma")], 1, C.MS_TVM),
    ([csrr(C.SATP)], 1, C.MS_TVM),
    ([asm("wfi")], 1, C.MS_TW),
])
def test_tsr_tvm_tw_trap_in_s_mode(words, priv, bit):
    h = hart_with(words, priv=priv)
    h.mstatus |= bit
    h.run(1)
    assert (h.mcause, h.mtval) == (2, words[0])
    h = hart_with(words, priv=priv)                          # without the bit: no trap
    h.sepc = RAM_BASE
    h.run(1)
    assert h.mcause == 0


def test_mret_in_s_mode_and_wfi_in_u_mode_are_illegal():
    for words, priv in (([asm("mret")], 1), ([asm("wfi")], 0), ([asm("sret")], 0)):
        h = hart_with(words, priv=priv)
        h.run(1)
        assert h.mcause == 2


# --- interrupts -------------------------------------------------------------------------------

def test_interrupt_priority_order():
    h = hart_with([])
    h.mie = C.ALL_INTERRUPTS
    h.mstatus |= C.MS_MIE
    h.set_pending(C.MTIP | C.MSIP | C.MEIP, True)
    h.run(1)
    assert h.mcause == (1 << 63) | 11                        # MEI first
    h = hart_with([])
    h.mie, h.mstatus = C.ALL_INTERRUPTS, h.mstatus | C.MS_MIE
    h.set_pending(C.MTIP | C.MSIP, True)
    h.run(1)
    assert h.mcause == (1 << 63) | 3                         # then MSI, then MTI


def test_m_interrupts_masked_by_mie_only_in_m_mode():
    h = hart_with([asm("addi", rd=5, rs1=0, imm=1)])
    h.mie = C.MTIP
    h.set_pending(C.MTIP, True)
    h.run(1)
    assert h.x[5] == 1 and h.mcause == 0                     # M-mode with MIE = 0: not taken
    h = hart_with([asm("addi", rd=5, rs1=0, imm=1)], priv=0)
    h.mie = C.MTIP
    h.set_pending(C.MTIP, True)
    h.run(1)
    assert h.mcause == (1 << 63) | 7 and h.mepc == RAM_BASE and h.x[5] == 0


def test_delegated_interrupt_goes_to_s_and_vectored_mode():
    h = hart_with([asm("addi", rd=5, rs1=0, imm=1)], priv=0)
    h.mideleg = C.STIP
    h.mie = C.STIP
    h.stvec = HANDLER_S | 1                                  # vectored
    h.bus.put(HANDLER_S + 4 * 5, SPIN)
    h.write_csr(C.MIP, C.STIP)
    h.run(1)
    assert h.scause == (1 << 63) | 5 and h.priv == 1
    assert h.pc == HANDLER_S + 4 * 5


def test_s_interrupt_not_taken_in_m_mode_and_needs_sie_in_s():
    h = hart_with([asm("addi", rd=5, rs1=0, imm=1)], priv=3)
    h.mideleg, h.mie = C.SSIP, C.SSIP
    h.mstatus |= C.MS_MIE | C.MS_SIE
    h.write_csr(C.MIP, C.SSIP)
    h.run(1)
    assert h.x[5] == 1 and h.scause == 0
    h = hart_with([asm("addi", rd=5, rs1=0, imm=1)], priv=1)
    h.mideleg, h.mie = C.SSIP, C.SSIP
    h.write_csr(C.MIP, C.SSIP)
    h.run(1)
    assert h.x[5] == 1                                       # SIE = 0
    h.mstatus |= C.MS_SIE
    h.run(1)
    assert h.scause == (1 << 63) | 1


def test_exception_vectored_mode_uses_base():
    h = hart_with([asm("ecall")])
    h.mtvec = HANDLER_M | 1
    h.run(1)
    assert h.mcause == 11 and h.pc == HANDLER_M              # exceptions ignore vectoring


def test_interrupt_enabled_by_csr_write_is_taken_after_it():
    words = [asm("csrrsi", rd=0, imm=C.MS_MIE, csr=C.MSTATUS), asm("addi", rd=5, rs1=0, imm=1)]
    h = hart_with(words)
    h.mie = C.MSIP
    h.set_pending(C.MSIP, True)
    h.run(2)
    assert h.mcause == (1 << 63) | 3 and h.mepc == RAM_BASE + 4 and h.x[5] == 0


def test_wfi_waits_and_wakes_on_pending_even_if_disabled():
    h = hart_with([asm("wfi"), asm("addi", rd=5, rs1=0, imm=1)])
    h.mie = C.MTIP
    assert h.run(10) == 1 and h.waiting                      # wfi retired, now waiting
    assert h.run(10) == 0                                    # still nothing pending
    h.set_pending(C.MTIP, True)                              # MIE = 0: wakes but no trap
    assert h.run(1) == 1 and not h.waiting and h.x[5] == 1 and h.mcause == 0


def test_fetch_fault_loop_returns():
    h = hart_with([asm("ecall")])
    h.mtvec = 0x1000                                         # nothing there
    assert h.run(1000) == 0
    assert h.mcause == 1 and h.mtval == 0x1000


def test_observers():
    seen = []
    h = hart_with([asm("ecall")], priv=0)
    h.on_trap = lambda hart, *a: seen.append(("trap",) + a)
    h.on_xret = lambda hart, *a: seen.append(("xret",) + a)
    h.on_satp = lambda hart, *a: seen.append(("satp",) + a)
    h.bus.put(HANDLER_M, code([csrw(C.SATP), asm("mret")]))
    h.x[6] = 8 << 60
    h.mepc = 0
    h.run(2)
    assert seen[0] == ("trap", 8, 0, RAM_BASE, 0, 3)
    assert seen[1] == ("satp", 0, 8 << 60)
    assert seen[2][:3] == ("xret", "mret", 3)


def test_watch_pcs_called_before_the_instruction():
    words = [asm("addi", rd=5, rs1=5, imm=1)] * 4
    h = hart_with(words)
    calls = []
    h.on_watch = lambda hart, pc: calls.append((pc, hart.x[5], hart.instret))
    h.watch_pcs = {RAM_BASE + 8}
    assert h.run(4) == 4
    assert calls == [(RAM_BASE + 8, 2, 2)]


def test_get_state_set_state_round_trip():
    words = [asm("addi", rd=5, rs1=5, imm=1)] * 8
    h = hart_with(words, priv=1)
    h.run(3)
    saved = h.get_state()
    ram = bytes(h.bus.ram)
    h.run(3)
    after = (list(h.x), h.pc, h.instret)
    h.set_state(saved)
    h.bus.ram[:] = ram
    h.code_cache.flush_all()
    assert (h.x[5], h.pc, h.instret, h.priv) == (3, RAM_BASE + 12, 3, 1)
    h.run(3)
    assert (list(h.x), h.pc, h.instret) == after


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci"]),
       st.integers(0, (1 << 64) - 1), st.integers(0, (1 << 64) - 1), st.sampled_from([0, 1, 3]),
       st.booleans(), st.booleans())
def test_sstatus_fast_path_matches_csr_op(name, start, value, priv, rd_zero, rs_zero):
    # translated code inlines sstatus (translate._sstatus); csr_op is the definition
    if name.endswith("i"):
        word = asm(name, rd=0 if rd_zero else 5, imm=0 if rs_zero else value & 31, csr=C.SSTATUS)
    else:
        word = asm(name, rd=0 if rd_zero else 5, rs1=0 if rs_zero else 6, csr=C.SSTATUS)
    start &= ~C.MS_SIE                                       # no interrupt before the instruction
    h = hart_with([word, asm("addi", rd=7, rs1=0, imm=1)], priv=priv)
    h.write_csr(C.MSTATUS, start)
    h.x[6] = value
    if priv:                                                 # (in U mode it would be taken at once)
        h.mie = C.SSIP
        h.mideleg = C.SSIP
        h.write_csr(C.MIP, C.SSIP)                           # SIE turning on makes it takeable
    h.sepc = RAM_BASE + 4
    model = hart_with([], priv=priv)
    model.write_csr(C.MSTATUS, start)
    op = {"csrrw": 0, "csrrs": 1, "csrrc": 2}[name.rstrip("i")]
    v = (value & 31) if name.endswith("i") else value
    if rs_zero:
        v = 0
    try:
        want_rd = model.csr_op(C.SSTATUS, op, v, True, op == 0 or not rs_zero, word, 0)
        trapped = False
    except Exception:
        trapped = True
    h.run(1)
    if trapped:
        assert h.mcause == 2
        return
    assert h.mcause == 0 or h.mcause == (1 << 63) | 1 or h.scause == (1 << 63) | 1
    assert h.mstatus & ~(C.MS_SPIE | C.MS_SIE | C.MS_SPP | C.MS_MPIE | C.MS_MIE | C.MS_MPP) == \
        model.mstatus & ~(C.MS_SPIE | C.MS_SIE | C.MS_SPP | C.MS_MPIE | C.MS_MIE | C.MS_MPP)
    if h.scause == 0 and h.mcause == 0:                       # no interrupt taken: all of it equal
        assert h.mstatus == model.mstatus
    assert h.x[5] == (0 if rd_zero else want_rd)


def test_on_xret_sees_registers_written_earlier_in_the_same_block():
    # xv6's trampoline loads a0 and executes sret in one block: an observer
    # reading the return value at on_xret must see the loaded value.
    words = [asm("addi", rd=10, rs1=0, imm=42), asm("mret")]
    h = hart_with(words)
    h.mepc = RAM_BASE
    seen = []
    h.on_xret = lambda hart, *a: seen.append(hart.x[10])
    h.run(2)
    assert seen == [42]
