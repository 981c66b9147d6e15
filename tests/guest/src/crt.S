# Entry of every test guest: each hart gets its own 16 KiB stack, then
# guest_main(hartid, fdt) runs; its return value becomes the exit code.
        .section .text.entry
        .globl _start
_start:
        la      sp, guest_stacks
        addi    t0, a0, 1
        slli    t0, t0, 14
        add     sp, sp, t0
        call    guest_main
        call    guest_exit
1:      j       1b

        .bss
        .align  4
        .globl  guest_stacks
guest_stacks:
        .space  16384 * 8
