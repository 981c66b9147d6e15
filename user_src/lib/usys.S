# System call stubs: one tiny function per call.
#
# The arguments are already in a0..a5 (the C calling convention and the
# kernel's system-call convention agree), so a stub only loads the call's
# number into a7 and traps into the kernel with ecall; the result comes back
# in a0. The numbers come from the kernel's own syscall.h, the one place they
# are written down.

#include "syscall.h"

#define SYSCALL(name)                   \
        .globl name;                    \
        .type name, @function;          \
name:   li a7, SYS_##name;              \
        ecall;                          \
        ret;                            \
        .size name, . - name

        .text
SYSCALL(fork)
SYSCALL(exit)
SYSCALL(wait)
SYSCALL(pipe)
SYSCALL(read)
SYSCALL(kill)
SYSCALL(exec)
SYSCALL(fstat)
SYSCALL(chdir)
SYSCALL(dup)
SYSCALL(getpid)
SYSCALL(sbrk)
SYSCALL(sleep)
SYSCALL(uptime)
SYSCALL(open)
SYSCALL(write)
SYSCALL(mknod)
SYSCALL(unlink)
SYSCALL(link)
SYSCALL(mkdir)
SYSCALL(close)
SYSCALL(poweroff)
SYSCALL(kstats)
