// A spinlock: mutual exclusion between harts for short critical sections.
// Interrupts stay off on a hart while it holds any spinlock, so an interrupt
// handler can never spin on a lock its own hart already holds.
#ifndef KERNEL_SPINLOCK_H
#define KERNEL_SPINLOCK_H

#include "types.h"

struct spinlock {
  uint locked;       // 0: free, 1: held
  char *name;        // for debugging messages
  struct cpu *cpu;   // the hart holding it
};

#endif
