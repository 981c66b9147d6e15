/* NHARTS harts take timer interrupts and poke each other.
 *
 * Phase 1 (M-mode): each hart arms its CLINT mtimecmp and takes 3 machine
 * timer interrupts. Phase 2: hart h sends a machine software interrupt to
 * hart h+1 (CLINT msip) and waits for its own. Phase 3: each hart enables
 * Sstc, delegates the supervisor timer interrupt, drops to S-mode and takes 3
 * supervisor timer interrupts from stimecmp. Only hart 0 prints, after all
 * harts are done, so the output does not depend on the interleaving.
 */
#include "lib.h"

#ifndef NHARTS
#define NHARTS 4
#endif
#define CSR_STIMECMP 0x14d
#define MIP_SSIP (1UL << 1)
#define MIP_MSIP (1UL << 3)
#define MIP_STIP (1UL << 5)
#define MIP_MTIP (1UL << 7)

static volatile int arrived, phase_done[4];
static volatile int mtimer_hits[8], ipi_hits[8], ipi_from[8], stimer_hits[8];
static volatile uint64_t bad_cause[8];

static inline uint64_t hartid(void) { return csr_read(mhartid); }

__attribute__((interrupt("machine"), aligned(4))) void m_trap(void)
{
    uint64_t h = hartid(), cause = csr_read(mcause);
    if (cause == ((1UL << 63) | 7)) {
        mtimer_hits[h]++;
        if (mtimer_hits[h] < 3)
            REG64(CLINT_MTIMECMP(h)) = REG64(CLINT_MTIME) + 2000 + 300 * h;
        else
            REG64(CLINT_MTIMECMP(h)) = ~0UL;
    } else if (cause == ((1UL << 63) | 3)) {
        REG32(CLINT_MSIP(h)) = 0;
        ipi_hits[h]++;
    } else {
        bad_cause[h] = cause;
        csr_write(mepc, csr_read(mepc) + 4);
    }
}

static inline uint64_t rdtime(void)
{
    uint64_t t;
    __asm__ volatile("rdtime %0" : "=r"(t));
    return t;
}

__attribute__((interrupt("supervisor"), aligned(4))) void s_trap(void)
{
    uint64_t h = 0;
    __asm__ volatile("mv %0, tp" : "=r"(h));
    uint64_t cause = csr_read(scause);
    if (cause == ((1UL << 63) | 5)) {
        stimer_hits[h]++;
        uint64_t next = stimer_hits[h] < 3 ? rdtime() + 1500 + 200 * h : ~0UL;
        __asm__ volatile("csrw 0x14d, %0" :: "r"(next));
    } else {
        bad_cause[h] = cause;
        __asm__ volatile("csrw 0x14d, %0" :: "r"(~0UL));
    }
}

static void barrier(int phase)
{
    __atomic_fetch_add(&phase_done[phase], 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&phase_done[phase], __ATOMIC_SEQ_CST) < NHARTS)
        ;
}

static void s_main(void)
{
    uint64_t h;
    __asm__ volatile("mv %0, tp" : "=r"(h));
    csr_write(stvec, (uint64_t)s_trap);
    csr_set(sie, MIP_STIP);
    uint64_t first = rdtime() + 1000 + 500 * h;
    __asm__ volatile("csrw 0x14d, %0" :: "r"(first));
    csr_set(sstatus, 2);                          /* SIE */
    while (stimer_hits[h] < 3)
        __asm__ volatile("wfi");
    csr_clear(sstatus, 2);
    barrier(3);
    if (h != 0)
        for (;;)
            __asm__ volatile("wfi");
    for (int i = 0; i < NHARTS; i++) {
        puts_("hart ");
        putdec(i);
        puts_(": mtimer ");
        putdec(mtimer_hits[i]);
        puts_(" ipi ");
        putdec(ipi_hits[i]);
        puts_(" from ");
        putdec(ipi_from[i]);
        puts_(" stimer ");
        putdec(stimer_hits[i]);
        puts_(bad_cause[i] ? " BAD\n" : " ok\n");
    }
    for (int i = 0; i < NHARTS; i++)
        if (mtimer_hits[i] != 3 || ipi_hits[i] != 1 || stimer_hits[i] != 3 || bad_cause[i])
            guest_exit(1);
    puts_("multihart: all good\n");
    guest_exit(0);
}

int guest_main(uint64_t h, uint64_t fdt)
{
    if (h >= NHARTS)
        for (;;)
            __asm__ volatile("wfi");
    __asm__ volatile("mv tp, %0" :: "r"(h));
    csr_write(mtvec, (uint64_t)m_trap);
    __atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
    if (h == 0) {
        while (arrived < NHARTS)
            ;
        puts_("multihart: ");
        putdec(NHARTS);
        puts_(" harts\n");
    }

    /* phase 1: machine timer */
    REG64(CLINT_MTIMECMP(h)) = REG64(CLINT_MTIME) + 1000 + 700 * h;
    csr_set(mie, MIP_MTIP);
    csr_set(mstatus, 8);                          /* MIE */
    while (mtimer_hits[h] < 3)
        __asm__ volatile("wfi");
    csr_clear(mie, MIP_MTIP);
    barrier(0);

    /* phase 2: software interrupts around the ring */
    csr_set(mie, MIP_MSIP);
    barrier(1);
    uint64_t to = (h + 1) % NHARTS;
    ipi_from[to] = h;
    REG32(CLINT_MSIP(to)) = 1;
    while (ipi_hits[h] < 1)
        __asm__ volatile("wfi");
    csr_clear(mstatus, 8);
    csr_clear(mie, MIP_MSIP);
    barrier(2);

    /* phase 3: Sstc supervisor timer, delegated to S-mode */
    csr_write(pmpaddr0, 0x3fffffffffffffUL);
    csr_write(pmpcfg0, 0xf);
    csr_write(menvcfg, 1UL << 63);                /* STCE */
    csr_write(mcounteren, 7);
    csr_write(mideleg, MIP_STIP | MIP_SSIP);
    csr_write(satp, 0);
    uint64_t ms = csr_read(mstatus);
    ms = (ms & ~(3UL << 11)) | (1UL << 11);       /* MPP = S */
    csr_write(mstatus, ms);
    csr_write(mepc, (uint64_t)s_main);
    __asm__ volatile("mret");
    return 99;
}
