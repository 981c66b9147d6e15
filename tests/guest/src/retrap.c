/* A trap handler that returns to the faulting load without fixing anything:
 * the same load access fault at the same pc, over and over. */
#include "lib.h"

__attribute__((interrupt("machine"), aligned(4))) void m_trap(void)
{
}

int guest_main(uint64_t hartid, uint64_t fdt)
{
    if (hartid != 0)
        for (;;)
            __asm__ volatile("wfi");
    puts_("retrying a bad load\n");
    csr_write(mtvec, (uint64_t)m_trap);
    return *(volatile uint32_t *)0x18000000UL;
}
