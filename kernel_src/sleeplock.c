// Sleeplocks: built from a spinlock plus sleep/wakeup.

#include "types.h"
#include "param.h"
#include "riscv.h"
#include "spinlock.h"
#include "sleeplock.h"
#include "proc.h"
#include "defs.h"

void initsleeplock(struct sleeplock *lk, char *name)
{
  initlock(&lk->lk, "sleeplock");
  lk->name = name;
  lk->locked = 0;
  lk->pid = 0;
}

void acquiresleep(struct sleeplock *lk)
{
  acquire(&lk->lk);
  // sleep() releases lk->lk while we wait and takes it back before
  // returning, so the test and the set below happen under the spinlock.
  while (lk->locked)
    sleep(lk, &lk->lk);
  lk->locked = 1;
  lk->pid = myproc()->pid;
  release(&lk->lk);
}

void releasesleep(struct sleeplock *lk)
{
  acquire(&lk->lk);
  lk->locked = 0;
  lk->pid = 0;
  wakeup(lk);
  release(&lk->lk);
}

// Does the current process hold it?
int holdingsleep(struct sleeplock *lk)
{
  acquire(&lk->lk);
  int mine = lk->locked && lk->pid == myproc()->pid;
  release(&lk->lk);
  return mine;
}
