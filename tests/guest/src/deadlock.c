/* A hart that spins with interrupts off on a lock nobody will release.
 * rvtrace must stop and say where it spins. */
#include "lib.h"

static volatile int lock = 1;       /* taken by nobody that will ever give it back */

static void acquire(volatile int *lk)
{
    while (__sync_lock_test_and_set(lk, 1) != 0)
        ;
}

int guest_main(uint64_t hartid, uint64_t fdt)
{
    if (hartid != 0)
        for (;;)
            __asm__ volatile("wfi");
    puts_("deadlock: taking the lock\n");
    acquire(&lock);
    puts_("deadlock: got it (impossible)\n");
    return 1;
}
