/* Interrupt signalling between the 16550 and the PLIC, as kernels written for
 * QEMU's virt board see it (hart 0, M-mode context 0 of the PLIC).
 *
 * Part 1 drives the UART as xv6 2022 does: the THR-empty interrupt is on and
 * the handler claims and completes without ever reading IIR, so the UART's
 * interrupt condition stays up the whole time. Each byte written to THR must
 * bring exactly one interrupt, not a storm.
 *
 * Part 2 polls the PLIC with interrupts off and prints what claim, complete,
 * the pending bits, the threshold and mip.MEIP show at each step. Every value
 * is collected first and printed at the end, so printing (which writes THR
 * and therefore signals) does not disturb what is measured.
 */
#include "lib.h"

#define U(r) REG8(UART0 + (r))
#define IRQ_UART 10
#define PRIORITY(irq) REG32(PLIC + 4 * (irq))
#define PENDING REG32(PLIC + 0x1000)
#define ENABLE0 REG32(PLIC + 0x2000)
#define THRESHOLD0 REG32(PLIC + 0x200000)
#define CLAIM0 REG32(PLIC + 0x200004)
#define MIP_MEIP (1UL << 11)
#define MIE_MEIE (1UL << 11)
#define MSTATUS_MIE (1UL << 3)

static volatile int interrupts, wrong;

__attribute__((interrupt("machine"), aligned(4))) void m_trap(void)
{
    if (csr_read(mcause) != ((1UL << 63) | 11)) {
        wrong++;
        csr_write(mepc, csr_read(mepc) + 4);
        return;
    }
    uint32_t irq = CLAIM0;
    if (irq == IRQ_UART)
        interrupts++;
    else
        wrong++;
    if (irq)
        CLAIM0 = irq;             /* complete; IIR is never read */
}

static uint64_t seen[64];
static int n;

static void see(uint64_t v) { seen[n++] = v; }

static int meip(void) { return (csr_read(mip) & MIP_MEIP) != 0; }

/* Wait until the interrupt count passes `before`, then as long again:
 * a storm would keep counting during the second wait. */
static void settle(int before)
{
    for (int i = 0; i < 200000 && interrupts == before; i++)
        __asm__ volatile("nop");
    for (volatile int i = 0; i < 20000; i++)
        ;
}

static void part1(void)
{
    static const char msg[] = "abcde\n";
    csr_write(mtvec, (uint64_t)m_trap);
    csr_set(mie, MIE_MEIE);
    csr_set(mstatus, MSTATUS_MIE);
    U(1) = 0x03;                  /* RX and THR-empty interrupts on: one due at once */
    settle(0);
    see(interrupts);
    for (int i = 0; msg[i]; i++) {
        int before = interrupts;
        U(0) = msg[i];
        settle(before);
        see(interrupts - before);
    }
    csr_clear(mstatus, MSTATUS_MIE);
}

static void part2(void)
{
    /* Printing part 1's figures wrote THR: the source is pending again. */
    see(PENDING >> IRQ_UART & 1); see(meip()); see(CLAIM0);
    CLAIM0 = IRQ_UART;
    see(PENDING >> IRQ_UART & 1); /* claimed and completed; the line is still high */
    U(7) = 0x55;                  /* scratch, LCR, MCR writes and LSR, MSR reads */
    U(3) = 0x03;                  /* do not signal the PLIC */
    U(4) = 0x08;
    (void)U(5); (void)U(6);
    see(PENDING >> IRQ_UART & 1); see(meip());
    U(0) = 'x';                   /* a THR write signals: pending again */
    see(PENDING >> IRQ_UART & 1); see(meip());
    see(CLAIM0);                  /* claim: 10, pending cleared */
    see(PENDING >> IRQ_UART & 1); see(meip());
    see(CLAIM0);                  /* in flight: nothing to claim */
    U(0) = 'y';                   /* signalled while claimed: pending, but held back */
    see(PENDING >> IRQ_UART & 1); see(meip()); see(CLAIM0);
    CLAIM0 = IRQ_UART;            /* complete: the pending signal comes through */
    see(meip());
    THRESHOLD0 = 1;               /* threshold = priority masks it */
    see(meip()); see(CLAIM0); see(PENDING >> IRQ_UART & 1);
    THRESHOLD0 = 0;
    see(meip());
    see(CLAIM0);
    CLAIM0 = IRQ_UART;            /* complete with the line still high: no re-pend */
    see(PENDING >> IRQ_UART & 1); see(meip()); see(CLAIM0);
    U(0) = 'z';                   /* pending again; reading IIR acknowledges THR empty */
    see(U(2) & 0x0f);             /* and signals low, which leaves pending alone */
    see(PENDING >> IRQ_UART & 1); see(meip()); see(CLAIM0);
    see(U(2) & 0x0f);             /* nothing left to report */
    CLAIM0 = IRQ_UART;
    CLAIM0 = IRQ_UART;            /* completing what is not claimed changes nothing */
    see(PENDING >> IRQ_UART & 1); see(meip()); see(CLAIM0);
}

int guest_main(uint64_t hartid, uint64_t fdt)
{
    if (hartid != 0)
        for (;;)
            __asm__ volatile("wfi");
    while (!(U(5) & 0x40))        /* let anything pending drain */
        ;
    U(1) = 0x00;
    U(2) = 0x07;                  /* FIFOs on and reset */
    PRIORITY(IRQ_UART) = 1;
    ENABLE0 = 1u << IRQ_UART;
    THRESHOLD0 = 0;
    (void)CLAIM0;                 /* forget anything pending from before */
    CLAIM0 = IRQ_UART;
    part1();
    puts_("\ninterrupts per byte:");
    for (int i = 0; i < 7; i++) {
        putc_(' ');
        putdec(seen[i]);
    }
    puts_("\n");
    int first = n;
    part2();
    puts_("polled:");
    for (int i = first; i < n; i++) {
        putc_(' ');
        putdec(seen[i]);
    }
    puts_(wrong ? "\nunexpected traps\n" : "\nplicuart: done\n");
    return wrong != 0;
}
