// System calls about processes, time and the machine.

#include "types.h"
#include "param.h"
#include "memlayout.h"
#include "riscv.h"
#include "spinlock.h"
#include "proc.h"
#include "kstats.h"
#include "defs.h"

uint64 sys_exit(void)
{
  int status;
  argint(0, &status);
  exit(status);
}

uint64 sys_getpid(void)
{
  return myproc()->pid;
}

uint64 sys_fork(void)
{
  return fork();
}

uint64 sys_wait(void)
{
  uint64 status_addr;
  argaddr(0, &status_addr);
  return wait(status_addr);
}

// sbrk(n): grow (or shrink) memory by n bytes; returns the old end.
uint64 sys_sbrk(void)
{
  int n;
  argint(0, &n);
  uint64 old = myproc()->sz;
  if (growproc(n) < 0)
    return -1;
  return old;
}

// sleep(n): wait n timer ticks (10 ms each).
uint64 sys_sleep(void)
{
  int n;
  argint(0, &n);
  if (n < 0)
    n = 0;
  acquire(&tickslock);
  uint start = ticks;
  while (ticks - start < (uint)n) {
    if (killed(myproc())) {
      release(&tickslock);
      return -1;
    }
    sleep(&ticks, &tickslock);
  }
  release(&tickslock);
  return 0;
}

uint64 sys_kill(void)
{
  int pid;
  argint(0, &pid);
  return kill(pid);
}

// Ticks since boot.
uint64 sys_uptime(void)
{
  acquire(&tickslock);
  uint t = ticks;
  release(&tickslock);
  return t;
}

// poweroff(status): stop the machine; status becomes the run's exit status.
uint64 sys_poweroff(void)
{
  int status;
  argint(0, &status);
  // Console output is sent by interrupts, a little behind the write()s:
  // push out what is still queued, or the run's last bytes would be lost.
  uartflush();
  poweroff(status);
}

// kstats(struct kstats *st): copy the kernel's counters to user memory.
uint64 sys_kstats(void)
{
  uint64 addr;
  argaddr(0, &addr);
  struct kstats st;
  kstats_fill(&st);
  if (copyout(myproc()->pagetable, addr, (char *)&st, sizeof(st)) < 0)
    return -1;
  return 0;
}
