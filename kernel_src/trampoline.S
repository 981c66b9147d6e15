# The trampoline page: the code that crosses between user and kernel space.
#
# It is mapped at the same virtual address (TRAMPOLINE) in the kernel page
# table and in every user page table, because it switches satp while running
# and must find its next instruction in both address spaces.
#
# uservec: a trap from user mode lands here (stvec points here while user
#   code runs). Save all user registers into the trapframe (at TRAPFRAME in
#   the user page table), load the kernel's sp, tp and page table from it, and
#   jump to usertrap().
# userret(satp): called by usertrapret() to go back: switch to the user page
#   table, restore the user registers from the trapframe, sret.
#
# Offsets follow struct trapframe in proc.h.


# TRAPFRAME = MAXVA - 2*PGSIZE, MAXVA = 1 << 38 (memlayout.h, riscv.h)
#define TF_ADDR ((1 << 38) - 2 * 4096)

        .section trampsec
        .globl trampoline
        .globl uservec
        .balign 4
uservec:
        # Every register holds a user value; park a0 in sscratch to get a
        # register for the trapframe's address.
        csrw sscratch, a0
        li a0, TF_ADDR

        sd ra, 40(a0)
        sd sp, 48(a0)
        sd gp, 56(a0)
        sd tp, 64(a0)
        sd t0, 72(a0)
        sd t1, 80(a0)
        sd t2, 88(a0)
        sd s0, 96(a0)
        sd s1, 104(a0)
        sd a1, 120(a0)
        sd a2, 128(a0)
        sd a3, 136(a0)
        sd a4, 144(a0)
        sd a5, 152(a0)
        sd a6, 160(a0)
        sd a7, 168(a0)
        sd s2, 176(a0)
        sd s3, 184(a0)
        sd s4, 192(a0)
        sd s5, 200(a0)
        sd s6, 208(a0)
        sd s7, 216(a0)
        sd s8, 224(a0)
        sd s9, 232(a0)
        sd s10, 240(a0)
        sd s11, 248(a0)
        sd t3, 256(a0)
        sd t4, 264(a0)
        sd t5, 272(a0)
        sd t6, 280(a0)
        csrr t0, sscratch
        sd t0, 112(a0)          # the user's a0

        ld sp, 8(a0)            # kernel_sp
        ld tp, 32(a0)           # kernel_hartid
        ld t0, 16(a0)           # kernel_trap: usertrap()
        ld t1, 0(a0)            # kernel_satp

        # Finish all user-space memory accesses, then enter the kernel's
        # address space and drop any user translations.
        sfence.vma zero, zero
        csrw satp, t1
        sfence.vma zero, zero

        # End the kernel's frame-pointer chain here, so backtraces (and
        # debuggers) stop at usertrap instead of wandering into user values.
        li s0, 0
        li ra, 0
        jr t0                   # usertrap() never returns here

        .globl userret
userret:
        # a0: the user page table's satp value.
        sfence.vma zero, zero
        csrw satp, a0
        sfence.vma zero, zero

        li a0, TF_ADDR
        ld ra, 40(a0)
        ld sp, 48(a0)
        ld gp, 56(a0)
        ld tp, 64(a0)
        ld t0, 72(a0)
        ld t1, 80(a0)
        ld t2, 88(a0)
        ld s0, 96(a0)
        ld s1, 104(a0)
        ld a1, 120(a0)
        ld a2, 128(a0)
        ld a3, 136(a0)
        ld a4, 144(a0)
        ld a5, 152(a0)
        ld a6, 160(a0)
        ld a7, 168(a0)
        ld s2, 176(a0)
        ld s3, 184(a0)
        ld s4, 192(a0)
        ld s5, 200(a0)
        ld s6, 208(a0)
        ld s7, 216(a0)
        ld s8, 224(a0)
        ld s9, 232(a0)
        ld s10, 240(a0)
        ld s11, 248(a0)
        ld t3, 256(a0)
        ld t4, 264(a0)
        ld t5, 272(a0)
        ld t6, 280(a0)
        ld a0, 112(a0)          # last: a0 held the trapframe address

        sret                    # to user mode at sepc
