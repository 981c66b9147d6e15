// Machine-mode set-up, run once by every hart straight after entry.S.
//
// The kernel itself runs in supervisor mode. Machine mode only has to open
// the doors: hand every trap and interrupt to S mode, let S mode touch all of
// physical memory (PMP) and program its own timer (Sstc's stimecmp), and then
// "return" into main() in S mode with mret. After that nothing ever comes
// back to machine mode.

#include "types.h"
#include "param.h"
#include "riscv.h"
#include "defs.h"

void main(void);

// One boot stack per hart; entry.S points sp at the top of ours. Its own
// section keeps it out of .bss, which hart 0 clears while the others run.
__attribute__((aligned(16), section(".bootstack"))) char stack0[BOOTSTACK * NCPU];

// The device tree's address, as hart 0 received it in a1 (fdt.c reads it).
uint64 boot_fdt;

void start(uint64 hartid, uint64 fdt)
{
  // mret will drop to S mode and continue at main().
  uint64 x = r_mstatus();
  x = (x & ~MSTATUS_MPP_MASK) | MSTATUS_MPP_S;
  w_mstatus(x);
  w_mepc((uint64)main);

  // No paging until the kernel page table exists.
  w_satp(0);

  // All exceptions and the S-level interrupts (software, timer, external)
  // are handled by S mode. Bits that cannot be delegated read back as 0.
  w_medeleg(0xffff);
  w_mideleg(SIE_SSIE | SIE_STIE | SIE_SEIE);
  w_sie(r_sie() | SIE_SSIE | SIE_STIE | SIE_SEIE);

  // PMP: one region, top-of-range up to the highest address, R+W+X.
  // Without any PMP entry S mode could not access memory at all.
  w_pmpaddr0(0x3fffffffffffffUL);
  w_pmpcfg0(0xf);

  // Sstc: S mode reads `time` and programs stimecmp itself; the timer
  // interrupt then arrives directly as a supervisor timer interrupt.
  w_menvcfg(r_menvcfg() | MENVCFG_STCE);
  w_mcounteren(r_mcounteren() | MCOUNTEREN_TM);
  w_stimecmp(r_time() + TIMER_INTERVAL);

  // cpuid() reads the hart id from tp.
  w_tp(hartid);
  if (hartid == 0)
    boot_fdt = fdt;

  asm volatile("mret");
}
