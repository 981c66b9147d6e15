// RISC-V privileged architecture: CSR access, status bits, Sv39 page tables.
// Everything here is a thin, inlined wrapper around one instruction so that a
// reader can match C code against the privileged specification.
#ifndef KERNEL_RISCV_H
#define KERNEL_RISCV_H
#ifndef __ASSEMBLER__

#include "types.h"

// CSR_READ / CSR_WRITE generate r_<name>() and w_<name>(x) for one CSR.
// The CSR is named by number or by its assembler name.
#define CSR_READ(name, csr)                                        \
  static inline uint64 r_##name(void) {                            \
    uint64 x;                                                      \
    asm volatile("csrr %0, " #csr : "=r"(x));                      \
    return x;                                                      \
  }
#define CSR_WRITE(name, csr)                                       \
  static inline void w_##name(uint64 x) {                          \
    asm volatile("csrw " #csr ", %0" : : "r"(x));                  \
  }
#define CSR_RW(name, csr) CSR_READ(name, csr) CSR_WRITE(name, csr)

// Machine mode.
CSR_READ(mhartid, mhartid)
CSR_RW(mstatus, mstatus)
CSR_RW(mepc, mepc)
CSR_RW(medeleg, medeleg)
CSR_RW(mideleg, mideleg)
CSR_RW(mie, mie)
CSR_RW(mcounteren, mcounteren)
CSR_RW(menvcfg, 0x30a)        // machine environment configuration
CSR_RW(pmpcfg0, pmpcfg0)
CSR_RW(pmpaddr0, pmpaddr0)

// Supervisor mode.
CSR_RW(sstatus, sstatus)
CSR_RW(sip, sip)
CSR_RW(sie, sie)
CSR_RW(sepc, sepc)
CSR_RW(stvec, stvec)
CSR_RW(satp, satp)
CSR_RW(sscratch, sscratch)
CSR_READ(scause, scause)
CSR_READ(stval, stval)
CSR_RW(stimecmp, 0x14d)       // Sstc: supervisor timer compare
CSR_READ(time, time)          // the platform timer (mtime), readable thanks to mcounteren.TM

// mstatus fields.
#define MSTATUS_MPP_MASK (3L << 11)   // privilege mode mret returns to
#define MSTATUS_MPP_M    (3L << 11)
#define MSTATUS_MPP_S    (1L << 11)
#define MSTATUS_MPP_U    (0L << 11)

// sstatus fields.
#define SSTATUS_SPP  (1L << 8)   // trap came from S mode (1) or U mode (0)
#define SSTATUS_SPIE (1L << 5)   // interrupts enabled before the trap
#define SSTATUS_SIE  (1L << 1)   // supervisor interrupts enabled
#define SSTATUS_SUM  (1L << 18)  // supervisor may touch user pages (we leave it off)

// sie / sip bits.
#define SIE_SSIE (1L << 1)   // software
#define SIE_STIE (1L << 5)   // timer
#define SIE_SEIE (1L << 9)   // external (PLIC)

// menvcfg.STCE: let S mode use stimecmp (Sstc).
#define MENVCFG_STCE (1L << 63)
// mcounteren.TM: let S and U modes read the time CSR.
#define MCOUNTEREN_TM (1L << 1)

// scause values we act on (bit 63 marks interrupts).
#define SCAUSE_INTR        (1UL << 63)
#define IRQ_S_TIMER        5
#define IRQ_S_EXTERNAL     9
#define EXC_ECALL_U        8
#define EXC_INST_PAGEFAULT 12
#define EXC_LOAD_PAGEFAULT 13
#define EXC_STORE_PAGEFAULT 15

static inline void intr_on(void)  { w_sstatus(r_sstatus() | SSTATUS_SIE); }
static inline void intr_off(void) { w_sstatus(r_sstatus() & ~SSTATUS_SIE); }
static inline int  intr_get(void) { return (r_sstatus() & SSTATUS_SIE) != 0; }

// tp holds this hart's id while in the kernel (start() puts it there).
static inline uint64 r_tp(void) { uint64 x; asm volatile("mv %0, tp" : "=r"(x)); return x; }
static inline void w_tp(uint64 x) { asm volatile("mv tp, %0" : : "r"(x)); }
static inline uint64 r_sp(void) { uint64 x; asm volatile("mv %0, sp" : "=r"(x)); return x; }
static inline uint64 r_fp(void) { uint64 x; asm volatile("mv %0, s0" : "=r"(x)); return x; }

// Flush the whole TLB of this hart.
static inline void sfence_vma(void) { asm volatile("sfence.vma zero, zero"); }

// ---- Sv39 paging ----
#define PGSIZE 4096
#define PGSHIFT 12
#define PGROUNDUP(a)   (((a) + PGSIZE - 1) & ~((uint64)PGSIZE - 1))
#define PGROUNDDOWN(a) ((a) & ~((uint64)PGSIZE - 1))

#define SATP_SV39 (8L << 60)
#define MAKE_SATP(pagetable) (SATP_SV39 | (((uint64)(pagetable)) >> 12))

#define PTE_V (1L << 0)  // valid
#define PTE_R (1L << 1)
#define PTE_W (1L << 2)
#define PTE_X (1L << 3)
#define PTE_U (1L << 4)  // user may access
#define PTE_A (1L << 6)  // accessed (we set it up front so hardware never has to)
#define PTE_D (1L << 7)  // dirty
#define PTE_COW (1L << 8) // RSW bit: page shared copy-on-write; writable once copied

// A PTE holds the physical page number in bits 10..53.
#define PA2PTE(pa) ((((uint64)(pa)) >> 12) << 10)
#define PTE2PA(pte) (((pte) >> 10) << 12)
#define PTE_FLAGS(pte) ((pte) & 0x3FF)

// Each of the three levels is indexed by 9 bits of the virtual address.
#define PXSHIFT(level) (PGSHIFT + 9 * (level))
#define PX(level, va) ((((uint64)(va)) >> PXSHIFT(level)) & 0x1FF)

// One above the highest address Sv39 lets us use. We stay below bit 38 so
// that every address is positive (no sign extension to worry about).
#define MAXVA (1L << (9 + 9 + 9 + 12 - 1))

#endif // __ASSEMBLER__
#endif
