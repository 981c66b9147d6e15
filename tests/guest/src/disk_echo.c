/* Reads sector 1 of the disk through virtio-mmio (modern) and prints it, then
 * echoes one line typed on the console. Both waits are interrupt driven: the
 * PLIC routes the device to hart 0's M context and the hart sleeps in wfi
 * (with mstatus.MIE off, wfi still wakes on a pending enabled interrupt), then
 * claims and completes the interrupt by hand.
 */
#include "lib.h"

#define VIRTIO_IRQ 1
#define UART_IRQ 10
#define R(off) REG32(VIRTIO0 + (off))
#define MIP_MEIP (1UL << 11)

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct req { uint32_t type, reserved; uint64_t sector; };

#define QSIZE 8
static struct desc ring_desc[QSIZE] __attribute__((aligned(4096)));
static struct { uint16_t flags, idx, ring[QSIZE], used_event; } avail __attribute__((aligned(4096)));
static struct { uint16_t flags, idx; struct { uint32_t id, len; } ring[QSIZE]; uint16_t avail_event; } used
    __attribute__((aligned(4096)));
static struct req hdr;
static uint8_t data[512];
static volatile uint8_t status;

static void fail(const char *why)
{
    puts_("FAIL: ");
    puts_(why);
    putc_('\n');
    guest_exit(1);
}

static uint32_t plic_wait(void)
{
    uint32_t irq;
    while ((irq = REG32(PLIC + 0x200004)) == 0)
        __asm__ volatile("wfi");
    return irq;
}

static void virtio_init(void)
{
    if (R(0x000) != 0x74726976 || R(0x004) != 2 || R(0x008) != 2 || R(0x00c) != 0x554d4551)
        fail("no modern virtio block device at 0x10001000");
    R(0x070) = 0;
    R(0x070) = 1;                       /* ACKNOWLEDGE */
    R(0x070) = 1 | 2;                   /* DRIVER */
    R(0x014) = 1;
    if (!(R(0x010) & 1))
        fail("device does not offer VIRTIO_F_VERSION_1");
    R(0x024) = 0;
    R(0x020) = 0;                       /* nothing from the low 32 bits */
    R(0x024) = 1;
    R(0x020) = 1;                       /* VERSION_1 */
    R(0x070) = 1 | 2 | 8;               /* FEATURES_OK */
    if (!(R(0x070) & 8))
        fail("FEATURES_OK refused");
    R(0x030) = 0;
    if (R(0x034) < QSIZE)
        fail("queue too small");
    R(0x038) = QSIZE;
    R(0x080) = (uint64_t)ring_desc;
    R(0x084) = (uint64_t)ring_desc >> 32;
    R(0x090) = (uint64_t)&avail;
    R(0x094) = (uint64_t)&avail >> 32;
    R(0x0a0) = (uint64_t)&used;
    R(0x0a4) = (uint64_t)&used >> 32;
    R(0x044) = 1;
    R(0x070) = 1 | 2 | 8 | 4;           /* DRIVER_OK */
}

static void read_sector(uint64_t sector)
{
    hdr.type = 0;
    hdr.sector = sector;
    status = 0xff;
    ring_desc[0] = (struct desc){(uint64_t)&hdr, sizeof hdr, 1, 1};
    ring_desc[1] = (struct desc){(uint64_t)data, sizeof data, 1 | 2, 2};
    ring_desc[2] = (struct desc){(uint64_t)&status, 1, 2, 0};
    avail.ring[avail.idx % QSIZE] = 0;
    __sync_synchronize();
    avail.idx++;
    __sync_synchronize();
    R(0x050) = 0;
    if (plic_wait() != VIRTIO_IRQ)
        fail("expected the virtio interrupt");
    R(0x064) = R(0x060) & 3;            /* acknowledge */
    REG32(PLIC + 0x200004) = VIRTIO_IRQ;
    __sync_synchronize();
    if (used.idx != 1 || used.ring[0].id != 0 || status != 0)
        fail("request did not complete");
}

static void echo_line(void)
{
    char line[80];
    int n = 0;
    REG8(UART0 + 1) = 1;                /* IER: receive interrupts */
    for (;;) {
        int c = getc_poll();
        if (c < 0) {
            if (plic_wait() != UART_IRQ)
                fail("expected the UART interrupt");
            REG32(PLIC + 0x200004) = UART_IRQ;
            continue;
        }
        if (c == '\r' || c == '\n')
            break;
        if (n < (int)sizeof line - 1)
            line[n++] = c;
    }
    line[n] = 0;
    puts_("echo: ");
    puts_(line);
    putc_('\n');
}

int guest_main(uint64_t hartid, uint64_t fdt)
{
    if (hartid != 0)
        for (;;)
            __asm__ volatile("wfi");
    REG32(PLIC + 4 * VIRTIO_IRQ) = 1;
    REG32(PLIC + 4 * UART_IRQ) = 1;
    REG32(PLIC + 0x2000) = (1 << VIRTIO_IRQ) | (1 << UART_IRQ);
    REG32(PLIC + 0x200000) = 0;
    csr_set(mie, MIP_MEIP);
    virtio_init();
    read_sector(1);
    puts_("sector 1: ");
    for (int i = 0; i < 32 && data[i]; i++)
        putc_(data[i]);
    putc_('\n');
    echo_line();
    puts_("disk_echo: done\n");
    return 0;
}
