# The first instructions every hart runs, in machine mode at 0x80000000.
# a0 = hart id, a1 = physical address of the device tree (the board sets both).
#
# Each hart takes its own boot stack from stack0 and calls start() in
# start.c; hart 0 first zeroes .bss (C expects it). The other harts need not
# wait for that: their stacks live outside .bss, start() reads nothing from
# .bss, and main() keeps them away from everything else until hart 0 is done.
# Only temporaries are used here, so a0 and a1 reach start() untouched.

#include "param.h"

        .section .text.entry
        .globl _entry
_entry:
        csrr t0, mhartid
        li t1, NCPU
        bgeu t0, t1, park       # more harts than the kernel has room for
        bnez t0, set_stack

        # hart 0: clear [bss_start, bss_end), 64 bytes a round (kernel.ld
        # aligns both ends to 64)
        la t1, bss_start
        la t2, bss_end
clear_loop:
        bgeu t1, t2, cleared
        sd zero, 0(t1)
        sd zero, 8(t1)
        sd zero, 16(t1)
        sd zero, 24(t1)
        sd zero, 32(t1)
        sd zero, 40(t1)
        sd zero, 48(t1)
        sd zero, 56(t1)
        addi t1, t1, 64
        j clear_loop
cleared:
        fence rw, rw

set_stack:
        # sp = stack0 + (hartid + 1) * BOOTSTACK: the top of this hart's stack
        la sp, stack0
        li t1, BOOTSTACK
        addi t2, t0, 1
        mul t1, t1, t2
        add sp, sp, t1
        call start
spin:
        j spin

        # A hart beyond NCPU has no stack and no struct cpu: it sleeps for
        # good (nothing wakes it: all its interrupts are off).
park:
        csrw mie, zero
1:      wfi
        j 1b
