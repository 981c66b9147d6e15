// A sleeplock: a lock held for a long time (across disk I/O). A process that
// finds it taken sleeps instead of spinning, so the hart can run others.
#ifndef KERNEL_SLEEPLOCK_H
#define KERNEL_SLEEPLOCK_H

#include "types.h"
#include "spinlock.h"

struct sleeplock {
  uint locked;          // held?
  struct spinlock lk;   // protects this structure
  char *name;
  int pid;              // holder, for debugging
};

#endif
