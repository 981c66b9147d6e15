// The platform-level interrupt controller (PLIC): routes device interrupts
// (UART, virtio disk) to the harts. Each hart's S mode has its own context
// with an enable mask, a priority threshold, and a claim/complete register.

#include "types.h"
#include "param.h"
#include "memlayout.h"
#include "riscv.h"
#include "defs.h"

#define REG(addr) (*(volatile uint32 *)(addr))

// Give our two devices a non-zero priority (0 means "never interrupt").
void plicinit(void)
{
  REG(PLIC_PRIORITY(UART0_IRQ)) = 1;
  REG(PLIC_PRIORITY(VIRTIO0_IRQ)) = 1;
}

// Let this hart's S mode take both devices' interrupts.
void plicinithart(void)
{
  int hart = cpuid();
  REG(PLIC_SENABLE(hart)) = (1 << UART0_IRQ) | (1 << VIRTIO0_IRQ);
  REG(PLIC_SPRIORITY(hart)) = 0;   // threshold: accept any priority above 0
}

// Which device interrupted? (0: none, e.g. another hart claimed it first.)
int plic_claim(void)
{
  return REG(PLIC_SCLAIM(cpuid()));
}

// Done with irq: the PLIC may deliver it again.
void plic_complete(int irq)
{
  REG(PLIC_SCLAIM(cpuid())) = irq;
}
