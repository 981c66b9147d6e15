# _start: where exec enters every user program.
#
# exec leaves argc in a0 and argv in a1, so main(argc, argv) can be called
# directly; whatever main returns is still in a0 when we call exit with it.

        .section .text.start, "ax"
        .globl _start
        .type _start, @function
_start:
        li s0, 0                # end of the frame-pointer chain: backtraces stop here
        call main
        call exit               # exit(main's return value); never returns
1:      j 1b
        .size _start, . - _start
