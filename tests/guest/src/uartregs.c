/* Walks the 16550's registers and prints what it reads, for comparison with
 * QEMU: IIR/LSR/MSR after reset, the THR-empty interrupt and its
 * acknowledgement, the divisor latch, scratch, FIFO control, loopback. The
 * values are collected first and printed at the end, so printing does not
 * disturb what is measured. */
#include "lib.h"

#define U(r) REG8(UART0 + (r))

static uint8_t seen[64];
static int n;

static void see(uint8_t v) { seen[n++] = v; }

int guest_main(uint64_t hartid, uint64_t fdt)
{
    if (hartid != 0)
        for (;;)
            __asm__ volatile("wfi");
    while (!(U(5) & 0x40))      /* let anything pending drain */
        ;
    see(U(1)); see(U(2)); see(U(3)); see(U(4)); see(U(5)); see(U(6));
    U(1) = 0x02;                /* THR-empty interrupt on: due at once */
    see(U(2));                  /* reports it ... */
    see(U(2));                  /* ... and reading IIR acknowledged it */
    U(1) = 0x00;
    U(1) = 0x02;
    see(U(2));
    U(1) = 0x00;
    U(3) = 0x80;                /* DLAB */
    U(0) = 0x34; U(1) = 0x12;
    see(U(0)); see(U(1)); see(U(3));
    U(3) = 0x03;
    see(U(1));
    U(7) = 0xa5; see(U(7));
    U(2) = 0x07;                /* FIFOs on and cleared */
    see(U(2)); see(U(5));
    U(4) = 0x10 | 0x0f;         /* loopback with all modem outputs set */
    see(U(6) & 0xf0);
    U(0) = 'L';
    for (int i = 0; i < 1000 && !(U(5) & 1); i++)
        ;
    see(U(5) & 0x61); see(U(0)); see(U(5) & 0x61);
    U(4) = 0x00;
    U(2) = 0x00;
    see(U(2));
    for (int i = 0; i < n; i++) {
        puthex(seen[i]);
        putc_(i % 8 == 7 ? '\n' : ' ');
    }
    puts_("\nuartregs: done\n");
    return 0;
}
