/* Reads back PLIC, CLINT and virtio-mmio registers after writes, for
 * comparison with QEMU: field widths, reset values, hard-wired bits. */
#include "lib.h"

static uint64_t seen[64];
static int n;

static void see(uint64_t v) { seen[n++] = v; }

int guest_main(uint64_t hartid, uint64_t fdt)
{
    if (hartid != 0)
        for (;;)
            __asm__ volatile("wfi");
    /* PLIC: priority width, enables (source 0 is hard-wired off), threshold, empty claim */
    see(REG32(PLIC + 4 * 10));
    REG32(PLIC + 4 * 10) = 0xffffffff;
    see(REG32(PLIC + 4 * 10));
    REG32(PLIC + 0x2080) = 0xffffffff;
    see(REG32(PLIC + 0x2080));
    see(REG32(PLIC + 0x2084));
    REG32(PLIC + 0x201000) = 0xffffffff;
    see(REG32(PLIC + 0x201000));
    REG32(PLIC + 0x201000) = 0;
    see(REG32(PLIC + 0x201004));
    see(REG32(PLIC + 0x1000));
    REG32(PLIC + 0x2080) = 0;
    /* CLINT: msip is one bit, mtimecmp resets to all ones, 32-bit halves */
    see(REG32(CLINT_MSIP(0)));
    see(REG64(CLINT_MTIMECMP(0)));
    REG32(CLINT_MTIMECMP(0)) = 0x12345678;
    see(REG64(CLINT_MTIMECMP(0)));
    REG32(CLINT_MTIMECMP(0) + 4) = 0x9;
    see(REG64(CLINT_MTIMECMP(0)));
    REG64(CLINT_MTIMECMP(0)) = ~0UL;
    /* virtio-mmio slot 0 (a block device) and slot 7 (empty) */
    see(REG32(VIRTIO0 + 0x000)); see(REG32(VIRTIO0 + 0x004)); see(REG32(VIRTIO0 + 0x008));
    see(REG32(VIRTIO0 + 0x00c)); see(REG32(VIRTIO0 + 0x070)); see(REG32(VIRTIO0 + 0x034));
    see(REG32(VIRTIO0 + 0x044)); see(REG32(VIRTIO0 + 0x060)); see(REG32(VIRTIO0 + 0x0fc));
    REG32(VIRTIO0 + 0x014) = 1;
    see(REG32(VIRTIO0 + 0x010) & 1);    /* VERSION_1 */
    see(REG64(VIRTIO0 + 0x100));        /* capacity */
    see(REG32(VIRTIO0 + 0x7000 + 0x000)); see(REG32(VIRTIO0 + 0x7000 + 0x004));
    see(REG32(VIRTIO0 + 0x7000 + 0x008)); see(REG32(VIRTIO0 + 0x7000 + 0x00c));
    for (int i = 0; i < n; i++) {
        puthex(seen[i]);
        putc_(i % 4 == 3 ? '\n' : ' ');
    }
    puts_("\ndevregs: done\n");
    return 0;
}
