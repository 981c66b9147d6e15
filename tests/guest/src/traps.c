/* Traps and Sv39 paging, smoke test.
 *
 * M-mode: illegal instruction, breakpoint, ecall and an access fault, each
 * caught by the M handler, which notes (cause, tval) and skips the
 * instruction. Then Sv39 with three gigapages and one 4 KiB table, entered in
 * S-mode: a store to a read-only page (store page fault, to M), hardware-set
 * A/D bits, a user page touched without and with SUM and an unmapped page
 * (load page faults, delegated to the S handler), a jump to U-mode into code
 * that is not user code (instruction page fault), and ecall back to M.
 * Everything noted is printed at the end, in order.
 */
#include "lib.h"

#define PTE_V 1
#define PTE_R 2
#define PTE_W 4
#define PTE_X 8
#define PTE_U 16
#define PTE_A 64
#define PTE_D 128
#define VA_TEST 0x40000000UL

static uint64_t root[512] __attribute__((aligned(4096)));
static uint64_t l1[512] __attribute__((aligned(4096)));
static uint64_t l0[512] __attribute__((aligned(4096)));
static uint8_t pages[3][4096] __attribute__((aligned(4096)));

static struct { char who; uint64_t cause, tval; } notes[32];
static volatile int nnotes;
static volatile int finishing;

static void note(char who, uint64_t cause, uint64_t tval)
{
    notes[nnotes].who = who;
    notes[nnotes].cause = cause;
    notes[nnotes].tval = tval;
    nnotes++;
}

static uint64_t insn_len(uint64_t pc)
{
    return (*(volatile uint16_t *)pc & 3) == 3 ? 4 : 2;
}

static void m_finish(void);
static void s_after_user(void);

__attribute__((interrupt("machine"), aligned(4))) void m_trap(void)
{
    uint64_t cause = csr_read(mcause), epc = csr_read(mepc);
    note('M', cause, cause == 3 || cause == 9 || cause == 11 ? 0 : csr_read(mtval));
    if (cause == 9 && finishing) {          /* ecall from S: the end */
        csr_set(mstatus, 3UL << 11);        /* MPP = M */
        csr_write(mepc, (uint64_t)m_finish);
    } else if (cause == 12) {               /* U-mode fetch of non-user code */
        uint64_t ms = csr_read(mstatus);
        csr_write(mstatus, (ms & ~(3UL << 11)) | (1UL << 11));
        csr_write(mepc, (uint64_t)s_after_user);
    } else {
        csr_write(mepc, epc + insn_len(epc));
    }
}

__attribute__((interrupt("supervisor"), aligned(4))) void s_trap(void)
{
    uint64_t epc = csr_read(sepc);
    note('S', csr_read(scause), csr_read(stval));
    csr_write(sepc, epc + insn_len(epc));
}

static uint64_t load(uint64_t va)
{
    uint64_t v = 0xdead;
    __asm__ volatile("ld %0, 0(%1)" : "+r"(v) : "r"(va) : "memory");
    return v;
}

static void store(uint64_t va, uint64_t v)
{
    __asm__ volatile("sd %0, 0(%1)" :: "r"(v), "r"(va) : "memory");
}

static void user_code(void)
{
    for (;;)
        ;
}

static void s_main(void)
{
    csr_write(stvec, (uint64_t)s_trap);
    note('s', 0, load(VA_TEST));                       /* read-only page reads fine */
    store(VA_TEST, 1);                                 /* store page fault -> M */
    store(VA_TEST + 0x1000, 0x1234);                   /* RW page: hardware sets A and D */
    note('s', 1, l0[1] & (PTE_A | PTE_D));
    note('s', 2, load(VA_TEST + 0x1000));
    load(VA_TEST + 0x2000);                            /* U page without SUM -> S */
    csr_set(sstatus, 1UL << 18);                       /* SUM */
    note('s', 3, load(VA_TEST + 0x2000));
    csr_clear(sstatus, 1UL << 18);
    load(VA_TEST + 0x3000);                            /* unmapped -> S */
    /* sret to U-mode in code that is not user code: instruction page fault -> M */
    csr_clear(sstatus, 1UL << 8);                      /* SPP = U */
    csr_write(sepc, (uint64_t)user_code);
    __asm__ volatile("sret");
}

static void s_after_user(void)
{
    finishing = 1;
    __asm__ volatile("ecall");
}

static void m_finish(void)
{
    csr_write(satp, 0);
    for (int i = 0; i < nnotes; i++) {
        putc_(notes[i].who);
        puts_(" cause ");
        puthex(notes[i].cause);
        puts_(" value ");
        puthex(notes[i].tval);
        putc_('\n');
    }
    puts_("traps: done\n");
    guest_exit(0);
}

int guest_main(uint64_t hartid, uint64_t fdt)
{
    if (hartid != 0)
        for (;;)
            __asm__ volatile("wfi");
    csr_write(mtvec, (uint64_t)m_trap);

    __asm__ volatile(".word 0x0000b00b");              /* custom-0 opcode: illegal */
    __asm__ volatile("ebreak");
    __asm__ volatile("ecall");
    note('m', 0, *(volatile uint32_t *)0x18000000UL == 0);   /* access fault, then 0 */

    for (int i = 0; i < 3; i++)
        memset(pages[i], 0, 4096);
    *(uint64_t *)pages[0] = 0x1111;
    *(uint64_t *)pages[2] = 0x2222;
    root[0] = (0x0UL >> 12 << 10) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;          /* devices */
    root[1] = ((uint64_t)l1 >> 12 << 10) | PTE_V;
    root[2] = (0x80000000UL >> 12 << 10) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
    l1[0] = ((uint64_t)l0 >> 12 << 10) | PTE_V;
    l0[0] = ((uint64_t)pages[0] >> 12 << 10) | PTE_V | PTE_R | PTE_A;
    l0[1] = ((uint64_t)pages[1] >> 12 << 10) | PTE_V | PTE_R | PTE_W;
    l0[2] = ((uint64_t)pages[2] >> 12 << 10) | PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D;

    csr_write(pmpaddr0, 0x3fffffffffffffUL);
    csr_write(pmpcfg0, 0xf);
    csr_write(medeleg, 1UL << 13);                      /* load page faults go to S */
    csr_write(satp, (8UL << 60) | ((uint64_t)root >> 12));
    __asm__ volatile("sfence.vma");
    uint64_t ms = csr_read(mstatus);
    csr_write(mstatus, (ms & ~(3UL << 11)) | (1UL << 11));
    csr_write(mepc, (uint64_t)s_main);
    __asm__ volatile("mret");
    return 99;
}
