/* Counts forever: for --max-insns. */
#include "lib.h"

int guest_main(uint64_t hartid, uint64_t fdt)
{
    volatile uint64_t n = 0;
    if (hartid == 0)
        puts_("spinning\n");
    for (;;)
        n++;
}
