// Spinlocks, and the interrupt on/off nesting they rely on.

#include "types.h"
#include "param.h"
#include "riscv.h"
#include "spinlock.h"
#include "proc.h"
#include "defs.h"

// mycpu(), inlined: every system call and interrupt takes many locks, and
// a function call each time we look at tp would double their cost.
static inline struct cpu *this_cpu(void)
{
  return &cpus[r_tp()];
}

void initlock(struct spinlock *lk, char *name)
{
  lk->name = name;
  lk->locked = 0;
  lk->cpu = 0;
}

// Spin until the lock is ours. Turning interrupts off first matters: if an
// interrupt arrived while we held the lock and its handler wanted the same
// lock, this hart would wait for itself forever.
void acquire(struct spinlock *lk)
{
  push_off();
  if (holding(lk)) {
    printf("lock %s: ", lk->name);
    panic("acquire: this hart already holds it");
  }
  // amoswap.w.aq: atomically store 1 and look at what was there.
  while (__sync_lock_test_and_set(&lk->locked, 1) != 0)
    ;
  // Neither the compiler nor the hart may move the critical section's
  // loads and stores above this point.
  __sync_synchronize();
  lk->cpu = this_cpu();
}

void release(struct spinlock *lk)
{
  if (!holding(lk)) {
    printf("lock %s: ", lk->name);
    panic("release: lock not held by this hart");
  }
  lk->cpu = 0;
  // Every store of the critical section becomes visible before the lock
  // reads as free.
  __sync_synchronize();
  __sync_lock_release(&lk->locked);
  pop_off();
}

// Does this hart hold the lock? Interrupts must be off (so we cannot move
// to another hart between the two reads).
int holding(struct spinlock *lk)
{
  return lk->locked && lk->cpu == this_cpu();
}

// push_off/pop_off are intr_off/intr_on that nest: interrupts come back on
// only at the outermost pop_off, and only if they were on at the first
// push_off.
void push_off(void)
{
  int was_on = intr_get();
  intr_off();
  struct cpu *c = this_cpu();
  if (c->noff == 0)
    c->intena = was_on;
  c->noff += 1;
}

void pop_off(void)
{
  struct cpu *c = this_cpu();
  if (intr_get())
    panic("pop_off: interrupts are on");
  if (c->noff < 1)
    panic("pop_off: not pushed");
  c->noff -= 1;
  if (c->noff == 0 && c->intena)
    intr_on();
}
