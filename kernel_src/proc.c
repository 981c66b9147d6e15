// Processes: creation (fork), termination (exit, wait, kill), the per-hart
// scheduler, and sleep/wakeup.
//
// Locking, in one place:
//  - p->lock protects p->state, p->chan, p->killed, p->xstate and p->pid.
//    A process holds its own p->lock across swtch() into the scheduler, and
//    the scheduler releases it (and the other way round): whoever switches
//    makes sure nobody sees a half-switched process.
//  - wait_lock protects every p->parent and orders wakeups of waiting
//    parents; when both are needed, take wait_lock before any p->lock.

#include "types.h"
#include "param.h"
#include "memlayout.h"
#include "riscv.h"
#include "spinlock.h"
#include "proc.h"
#include "defs.h"

struct cpu cpus[NCPU];
struct proc proc[NPROC];

static struct proc *initproc;

static int nextpid = 1;
static struct spinlock pid_lock;
static struct spinlock wait_lock;

extern char trampoline[];   // trampoline.S

static void forkret(void);
static void freeproc(struct proc *p);

// Slots at or above this one have never been used. allocproc() only ever
// moves it up (under pid_lock). The scheduler and wakeup() stop their
// scans here: with a handful of processes that is a few slots instead of 64.
static struct proc *proc_highwater = proc;

// A quick look, without p->lock, at whether slot p is free. Taking each
// slot's lock just to see that is most of the cost of wakeup() and of an
// idle scheduler pass. Reading without the lock is safe for this one
// question (and the same goes for proc_highwater): a slot that is UNUSED
// now holds no sleeper to wake (a process can only start sleeping on chan
// after taking the lock that protects chan's condition, which wakeup's
// caller holds) and no runnable process (the scheduler looks again on its
// next pass).
static int slot_unused(struct proc *p)
{
  return __atomic_load_n(&p->state, __ATOMIC_RELAXED) == UNUSED;
}

static struct proc *slots_end(void)
{
  return __atomic_load_n(&proc_highwater, __ATOMIC_RELAXED);
}

// Allocate and map each process slot's kernel stack, at fixed addresses high
// in the kernel's address space (each with an unmapped guard page below).
void proc_mapstacks(pagetable_t kpt)
{
  for (int i = 0; i < NPROC; i++) {
    for (int pg = 0; pg < KSTACKPAGES; pg++) {
      char *pa = kalloc_nozero();   // a stack needs no clearing
      if (pa == 0)
        panic("proc_mapstacks: out of memory");
      kvmmap(kpt, KSTACK(i) + pg * PGSIZE, (uint64)pa, PGSIZE, PTE_R | PTE_W);
    }
  }
}

void procinit(void)
{
  initlock(&pid_lock, "nextpid");
  initlock(&wait_lock, "wait_lock");
  for (int i = 0; i < NPROC; i++) {
    initlock(&proc[i].lock, "proc");
    proc[i].state = UNUSED;
    proc[i].kstack = KSTACK(i);
  }
}

// The hart we run on. Only meaningful with interrupts off: otherwise a timer
// interrupt could move us to another hart right after reading tp.
int cpuid(void)
{
  return r_tp();
}

struct cpu *mycpu(void)
{
  return &cpus[cpuid()];
}

// The process running on this hart, or 0 (in the scheduler).
struct proc *myproc(void)
{
  push_off();
  struct proc *p = mycpu()->proc;
  pop_off();
  return p;
}

static int allocpid(void)
{
  acquire(&pid_lock);
  int pid = nextpid++;
  release(&pid_lock);
  return pid;
}

// Find an UNUSED slot and set it up to start in forkret() on its kernel
// stack, with a trapframe and an (empty but for the trampoline) page table.
// Returns it with p->lock held, or 0.
static struct proc *allocproc(void)
{
  struct proc *p;
  for (p = proc; p < &proc[NPROC]; p++) {
    acquire(&p->lock);
    if (p->state == UNUSED)
      break;
    release(&p->lock);
  }
  if (p == &proc[NPROC])
    return 0;
  acquire(&pid_lock);   // two harts may allocate at once: keep the max
  if (p >= proc_highwater)
    __atomic_store_n(&proc_highwater, p + 1, __ATOMIC_RELEASE);
  release(&pid_lock);

  p->pid = allocpid();
  p->state = USED;
  p->trapframe = kalloc();
  if (p->trapframe == 0 || (p->pagetable = proc_pagetable(p)) == 0) {
    freeproc(p);
    release(&p->lock);
    return 0;
  }
  // The first swtch() to this process "returns" into forkret().
  memset(&p->context, 0, sizeof(p->context));
  p->context.ra = (uint64)forkret;
  p->context.sp = p->kstack + KSTACKPAGES * PGSIZE;
  return p;
}

// Give back everything a slot owns. p->lock must be held.
static void freeproc(struct proc *p)
{
  if (p->trapframe)
    kfree(p->trapframe);
  p->trapframe = 0;
  if (p->pagetable)
    proc_freepagetable(p->pagetable, p->sz);
  p->pagetable = 0;
  p->sz = 0;
  p->pid = 0;
  p->parent = 0;
  p->name[0] = 0;
  p->chan = 0;
  p->killed = 0;
  p->xstate = 0;
  p->state = UNUSED;
}

// A user page table with no user memory yet: only the trampoline (shared by
// all) and this process's trapframe page, neither accessible to user code.
pagetable_t proc_pagetable(struct proc *p)
{
  pagetable_t pt = uvmcreate();
  if (pt == 0)
    return 0;
  if (mappages(pt, TRAMPOLINE, PGSIZE, (uint64)trampoline, PTE_R | PTE_X) != 0) {
    uvmfree(pt, 0);
    return 0;
  }
  if (mappages(pt, TRAPFRAME, PGSIZE, (uint64)p->trapframe, PTE_R | PTE_W) != 0) {
    uvmunmap(pt, TRAMPOLINE, 1, 0);
    uvmfree(pt, 0);
    return 0;
  }
  return pt;
}

void proc_freepagetable(pagetable_t pt, uint64 sz)
{
  uvmunmap(pt, TRAMPOLINE, 1, 0);
  uvmunmap(pt, TRAPFRAME, 1, 0);
  uvmfree(pt, sz);
}

// The first process. It has no user memory: forkret() sees it is the first
// and execs /init from inside the kernel.
void userinit(void)
{
  struct proc *p = allocproc();
  if (p == 0)
    panic("userinit: no process slot");
  initproc = p;
  safestrcpy(p->name, "init", sizeof(p->name));
  p->state = RUNNABLE;
  release(&p->lock);
}

// Grow (n > 0) or shrink (n < 0) the current process's memory by n bytes.
int growproc(int n)
{
  struct proc *p = myproc();
  uint64 sz = p->sz;
  if (n > 0) {
    if (sz + n > TRAPFRAME)
      return -1;
    if ((sz = uvmalloc(p->pagetable, sz, sz + n, PTE_W)) == 0)
      return -1;
  } else if (n < 0) {
    if ((uint64)(-n) > sz)
      return -1;
    sz = uvmdealloc(p->pagetable, sz, sz + n);
  }
  p->sz = sz;
  return 0;
}

// Create a child that is a copy of the current process. The child returns 0
// from fork, the parent the child's pid. -1 when out of slots or memory.
int fork(void)
{
  struct proc *parent = myproc();
  struct proc *child = allocproc();
  if (child == 0)
    return -1;

  uint64 shared, copied;
  if (uvmcopy_counted(parent->pagetable, child->pagetable, parent->sz, &shared, &copied) != 0) {
    freeproc(child);
    release(&child->lock);
    return -1;
  }
  trace_fork(child->pid, shared, copied);
  child->sz = parent->sz;
  *child->trapframe = *parent->trapframe;
  child->trapframe->a0 = 0;   // fork returns 0 in the child

  for (int fd = 0; fd < NOFILE; fd++)
    if (parent->ofile[fd])
      child->ofile[fd] = filedup(parent->ofile[fd]);
  child->cwd = idup(parent->cwd);
  safestrcpy(child->name, parent->name, sizeof(parent->name));
  int pid = child->pid;
  release(&child->lock);

  acquire(&wait_lock);
  child->parent = parent;
  release(&wait_lock);

  acquire(&child->lock);
  child->state = RUNNABLE;
  release(&child->lock);

  // Let the child run first (Linux offers the same policy as
  // sched_child_runs_first). A child usually execs at once: running it first
  // starts the slow exec -- file system, disk, memory -- while the parent
  // goes on, and on one hart it is what lets the child reach the disk before
  // the parent prints. The scheduler's scan resumes after our slot, so the
  // newer child is next.
  yield();
  return pid;
}

// Hand the children of p to init. wait_lock must be held.
static void reparent(struct proc *p)
{
  for (struct proc *pp = proc; pp < &proc[NPROC]; pp++) {
    if (pp->parent == p) {
      pp->parent = initproc;
      wakeup(initproc);
    }
  }
}

// End the current process. It stays a ZOMBIE until its parent's wait()
// collects the status and frees the slot.
void exit(int status)
{
  struct proc *p = myproc();
  if (p == initproc)
    panic("init exiting");

  for (int fd = 0; fd < NOFILE; fd++) {
    if (p->ofile[fd]) {
      fileclose(p->ofile[fd]);
      p->ofile[fd] = 0;
    }
  }
  if (p->cwd) {
    begin_op();
    iput(p->cwd);
    end_op();
    p->cwd = 0;
  }

  acquire(&wait_lock);
  reparent(p);
  wakeup(p->parent);   // the parent may be sleeping in wait()
  acquire(&p->lock);
  p->xstate = status;
  p->state = ZOMBIE;
  release(&wait_lock);

  sched();   // never comes back: the parent frees us
  panic("zombie exit");
}

// Wait for a child to exit; store its status at user address `addr` (unless
// 0) and return its pid. -1 if we have no children (or were killed).
int wait(uint64 addr)
{
  struct proc *p = myproc();
  acquire(&wait_lock);
  for (;;) {
    int have_kids = 0;
    for (struct proc *pp = proc; pp < &proc[NPROC]; pp++) {
      if (pp->parent != p)
        continue;
      acquire(&pp->lock);
      have_kids = 1;
      if (pp->state == ZOMBIE) {
        int pid = pp->pid;
        if (addr != 0 && copyout(p->pagetable, addr, (char *)&pp->xstate, sizeof(pp->xstate)) < 0) {
          release(&pp->lock);
          release(&wait_lock);
          return -1;
        }
        freeproc(pp);
        release(&pp->lock);
        release(&wait_lock);
        return pid;
      }
      release(&pp->lock);
    }
    if (!have_kids || killed(p)) {
      release(&wait_lock);
      return -1;
    }
    sleep(p, &wait_lock);   // exit() of a child wakes us
  }
}

// Each hart ends up here after boot and never leaves: pick a RUNNABLE
// process, switch to it, and when it gives the hart back, look again.
// With nothing to run, wait for an interrupt (wfi) instead of spinning, so
// an idle hart costs no instructions.
void scheduler(void)
{
  struct cpu *c = mycpu();
  c->proc = 0;
  for (;;) {
    // Interrupts on: devices must be able to wake a process up.
    intr_on();
    int ran = 0;
    for (struct proc *p = proc; p < slots_end(); p++) {
      if (slot_unused(p))
        continue;
      acquire(&p->lock);
      if (p->state == RUNNABLE) {
        p->state = RUNNING;
        c->proc = p;
        swtch(&c->context, &p->context);
        // Back: the process yielded, slept or exited (and set its state).
        c->proc = 0;
        ran = 1;
      }
      release(&p->lock);
    }
    if (!ran) {
      // Nothing to run: sleep until an interrupt is pending. With SIE off,
      // an interrupt arriving just before the wfi is not taken and
      // forgotten; it stays pending and wfi returns at once (wfi wakes on
      // any pending interrupt that sie enables, whatever SIE says). The
      // intr_on() at the top of the loop then takes it.
      intr_off();
      asm volatile("wfi");
    }
  }
}

// Give the hart back to the scheduler. The caller holds p->lock (only that
// lock) and has already changed p->state. intena belongs to this kernel
// thread, not to the hart, so we carry it across the switch.
void sched(void)
{
  struct proc *p = myproc();
  if (!holding(&p->lock))
    panic("sched: p->lock not held");
  if (mycpu()->noff != 1)
    panic("sched: other locks held");
  if (p->state == RUNNING)
    panic("sched: still RUNNING");
  if (intr_get())
    panic("sched: interrupts on");
  int intena = mycpu()->intena;
  swtch(&p->context, &mycpu()->context);
  mycpu()->intena = intena;
}

// Let another process run (the timer says our time is up).
void yield(void)
{
  struct proc *p = myproc();
  acquire(&p->lock);
  p->state = RUNNABLE;
  sched();
  release(&p->lock);
}

// Where a new process starts running, in the kernel, on its first switch.
// The scheduler still holds our p->lock. The very first process also has to
// mount the file system (that sleeps, so it needs a process) and exec /init.
static void forkret(void)
{
  static int first = 1;
  struct proc *p = myproc();
  release(&p->lock);

  if (first) {
    first = 0;
    fsinit(ROOTDEV);
    p->cwd = namei("/");
    // argv = ["init", boot command words...]
    char *argv[MAXARG];
    argv[0] = "init";
    for (int i = 0; i < boot_argc; i++)
      argv[i + 1] = boot_argv[i];
    argv[boot_argc + 1] = 0;
    __sync_synchronize();
    int argc = exec("/init", argv);
    if (argc < 0)
      panic("cannot exec /init");
    p->trapframe->a0 = argc;   // exec's return value: argc, as main() expects
  }
  usertrapret();
}

// Atomically release lk and sleep on chan; take lk again on waking.
void sleep(void *chan, struct spinlock *lk)
{
  struct proc *p = myproc();
  // Taking p->lock before letting go of lk means a wakeup() (which needs
  // p->lock) cannot slip in between: we are asleep before it looks at us.
  acquire(&p->lock);
  release(lk);
  p->chan = chan;
  p->state = SLEEPING;
  sched();
  p->chan = 0;
  release(&p->lock);
  acquire(lk);
}

// Wake every process sleeping on chan. Call with no p->lock held.
void wakeup(void *chan)
{
  struct proc *me = myproc();
  for (struct proc *p = proc; p < slots_end(); p++) {
    if (p == me || slot_unused(p))
      continue;
    acquire(&p->lock);
    if (p->state == SLEEPING && p->chan == chan)
      p->state = RUNNABLE;
    release(&p->lock);
  }
}

// Mark process pid as killed. It exits the next time it is about to return
// to user space (a sleeping process is woken so that happens soon).
int kill(int pid)
{
  for (struct proc *p = proc; p < &proc[NPROC]; p++) {
    acquire(&p->lock);
    if (p->pid == pid && p->state != UNUSED) {
      p->killed = 1;
      if (p->state == SLEEPING)
        p->state = RUNNABLE;
      release(&p->lock);
      return 0;
    }
    release(&p->lock);
  }
  return -1;
}

void setkilled(struct proc *p)
{
  acquire(&p->lock);
  p->killed = 1;
  release(&p->lock);
}

int killed(struct proc *p)
{
  acquire(&p->lock);
  int k = p->killed;
  release(&p->lock);
  return k;
}

// Copy to a user address (user_dst = 1) or a kernel address (0).
int either_copyout(int user_dst, uint64 dst, void *src, uint64 len)
{
  if (user_dst)
    return copyout(myproc()->pagetable, dst, src, len);
  memmove((char *)dst, src, len);
  return 0;
}

// Copy from a user address (user_src = 1) or a kernel address (0).
int either_copyin(void *dst, int user_src, uint64 src, uint64 len)
{
  if (user_src)
    return copyin(myproc()->pagetable, dst, src, len);
  memmove(dst, (char *)src, len);
  return 0;
}

// List the processes on the console (^P). No locks: it must work even when
// the kernel is wedged.
void procdump(void)
{
  static char *names[] = {
    [UNUSED] = "unused", [USED] = "used", [SLEEPING] = "sleep",
    [RUNNABLE] = "runble", [RUNNING] = "run", [ZOMBIE] = "zombie",
  };
  printf("\n");
  for (struct proc *p = proc; p < &proc[NPROC]; p++) {
    if (p->state == UNUSED)
      continue;
    char *state = (p->state >= 0 && p->state < NELEM(names)) ? names[p->state] : "???";
    printf("%d %s %s\n", p->pid, state, p->name);
  }
}
