/* Prints what a kernel finds at boot: hart ids in a0 and the device tree in a1. */
#include "lib.h"

static volatile int checked_in;

static uint32_t be32(uint64_t addr)
{
    uint32_t v = *(volatile uint32_t *)addr;
    return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

int guest_main(uint64_t hartid, uint64_t fdt)
{
    if (hartid != 0) {
        __atomic_fetch_or(&checked_in, 1 << hartid, __ATOMIC_SEQ_CST);
        for (;;)
            __asm__ volatile("wfi");
    }
    puts_("fdt at ");
    puthex(fdt);
    puts_(" magic ");
    puthex(be32(fdt));
    puts_(" mode ");
    puthex(csr_read(mstatus) >> 11 & 3);
    putc_('\n');
    return 0;
}
