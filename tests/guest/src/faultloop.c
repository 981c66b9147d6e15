/* Points mtvec at unmapped memory and executes an illegal instruction: every
 * trap then faults again at the vector, forever, retiring nothing. */
#include "lib.h"

int guest_main(uint64_t hartid, uint64_t fdt)
{
    if (hartid != 0)
        for (;;)
            __asm__ volatile("wfi");
    puts_("faulting now\n");
    csr_write(mtvec, 0x18000000UL);
    __asm__ volatile(".word 0x0000b00b");
    return 0;
}
