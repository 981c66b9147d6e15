/* A CPU-bound loop mixing ALU work, loads, stores, branches and calls; used
 * by bench/bench_machine.py. Prints a checksum so a wrong CPU shows. */
#include "lib.h"

#ifndef ROUNDS
#define ROUNDS 2000
#endif

#ifndef WORKERS
#define WORKERS 1               /* harts that run the loop (bench: --harts) */
#endif

static uint64_t tables[WORKERS][256];
static volatile int finished;

__attribute__((noinline)) static uint64_t mix(uint64_t x, uint64_t i)
{
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x + i * 0x9e3779b97f4a7c15UL;
}

int guest_main(uint64_t hartid, uint64_t fdt)
{
    if (hartid >= WORKERS)
        for (;;)
            __asm__ volatile("wfi");
    uint64_t *table = tables[hartid];
    uint64_t x = 88172645463325252UL, sum = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < 64; i++) {
            x = mix(x, i);
            uint64_t slot = x & 255;
            if (table[slot] & 1)
                sum += table[slot] >> 3;
            else
                sum ^= table[slot] * 3;
            table[slot] = x + sum;
        }
    }
    __atomic_fetch_add(&finished, 1, __ATOMIC_SEQ_CST);
    if (hartid != 0)
        for (;;)
            __asm__ volatile("wfi");
    while (finished < WORKERS)
        ;
    puts_("cpuloop checksum ");
    puthex(sum);
    putc_('\n');
    return 0;
}
