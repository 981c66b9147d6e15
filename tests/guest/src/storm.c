/* An interrupt storm: the UART handler claims and completes, but re-arms the
 * THR-empty interrupt by turning it off and on again (each IER change makes
 * the UART signal the PLIC), so the same interrupt comes back at once,
 * forever, and nothing else happens. rvtrace must stop and say so. */
#include "lib.h"

#define IRQ_UART 10

__attribute__((interrupt("machine"), aligned(4))) void m_trap(void)
{
    uint32_t irq = REG32(PLIC + 0x200004);
    REG8(UART0 + 1) = 0x00;
    REG8(UART0 + 1) = 0x02;
    if (irq)
        REG32(PLIC + 0x200004) = irq;
}

int guest_main(uint64_t hartid, uint64_t fdt)
{
    if (hartid != 0)
        for (;;)
            __asm__ volatile("wfi");
    puts_("storm: go\n");
    REG32(PLIC + 4 * IRQ_UART) = 1;
    REG32(PLIC + 0x2000) = 1u << IRQ_UART;
    csr_write(mtvec, (uint64_t)m_trap);
    csr_set(mie, 1UL << 11);
    csr_set(mstatus, 1UL << 3);
    REG8(UART0 + 1) = 0x02;
    for (;;)
        __asm__ volatile("wfi");
}
