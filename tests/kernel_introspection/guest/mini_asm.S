# Assembly routines as kernels write them: an untyped global label (like
# swtch) and a sized function with a label inside it.
.section .text
.globl swtch
swtch:
        sd ra, 0(a0)
        ret

.globl sized_asm
.type sized_asm, @function
sized_asm:
        nop
inner_label:
        nop
        ret
.size sized_asm, .-sized_asm
