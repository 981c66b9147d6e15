/* Sleeps in wfi with no timer armed and no interrupt enabled: idle forever. */
#include "lib.h"

int guest_main(uint64_t hartid, uint64_t fdt)
{
    if (hartid == 0)
        puts_("going to sleep\n");
    for (;;)
        __asm__ volatile("wfi");
}
