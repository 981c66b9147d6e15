/* Prints a line and exits with code 3: checks exit code passthrough. */
#include "lib.h"

int guest_main(uint64_t hartid, uint64_t fdt)
{
    if (hartid != 0)
        for (;;)
            __asm__ volatile("wfi");
    puts_("exit with 3\n");
    return 3;
}
