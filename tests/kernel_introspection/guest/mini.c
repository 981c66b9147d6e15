// An xv6-shaped kernel in miniature, for rvtrace's introspection tests: the
// structures and globals rvtrace looks for (struct cpu cpus[NCPU] holding
// the running struct proc *, struct proc proc[NPROC] with state, pid, name,
// chan, parent) and a few nested calls to walk with frame pointers.
// It is never run: the tests read its ELF and fake its memory.

#define NCPU 8
#define NPROC 64

enum procstate { UNUSED, USED, SLEEPING, RUNNABLE, RUNNING, ZOMBIE };

struct context { unsigned long ra, sp, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11; };

struct proc {
  int lock_word;              // stands in for a spinlock
  enum procstate state;
  void *chan;
  int killed;
  int xstate;
  int pid;
  struct proc *parent;
  unsigned long kstack;
  unsigned long sz;
  struct context context;
  char name[16];
};

struct cpu {
  struct proc *proc;
  struct context context;
  int noff;
  int intena;
};

struct cpu cpus[NCPU];
struct proc proc[NPROC];
volatile int sink;

__attribute__((noinline)) void sleep(void *chan) { sink = (int)(long)chan; }
__attribute__((noinline)) void bread(int block) { sleep(&proc[block]); sink++; }
__attribute__((noinline)) void exec(int block) { bread(block); sink++; }

__attribute__((section(".text.entry"))) void _entry(void) {
  exec(3);
  for (;;) {}
}
