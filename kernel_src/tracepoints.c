// Trace points: empty functions that mark moments a tracer wants to see.
//
// rvtrace's recorder stops at the first instruction of each of these (it
// watches their addresses, found in the symbol table) and reads the
// arguments from a0..a2. They do nothing, so the kernel behaves the same
// with or without a tracer. A kernel without them (xv6) still records: the
// recorder then sees copy-on-write only through page faults, and fork
// without its page counts, and the trace says so.
//
// noinline and the empty asm keep the compiler from dropping the calls.

#include "types.h"
#include "defs.h"

// A copy-on-write page was made writable for the process whose page table
// this is: copied (1) or taken over as the last sharer (0). The recorder
// tells from its caller's frames whether a trap or a kernel copy (copyout)
// asked for it.
__attribute__((noinline)) void trace_cow(uint64 va, int copied)
{
  asm volatile("" : : "r"(va), "r"(copied) : "memory");
}

// fork gave child `pid` its memory: `shared` pages mapped into both
// processes (copy-on-write or read-only), `copied` pages copied at once.
__attribute__((noinline)) void trace_fork(int pid, uint64 shared, uint64 copied)
{
  asm volatile("" : : "r"(pid), "r"(shared), "r"(copied) : "memory");
}
