// Processes and harts. rvtrace reads these structures by name through DWARF
// (cpus[].proc, proc[].state/pid/name, ...), the same names xv6 uses, so a
// trace of this kernel and a trace of xv6 are read by the same code.
#ifndef KERNEL_PROC_H
#define KERNEL_PROC_H

#include "types.h"
#include "param.h"
#include "spinlock.h"

// Registers swtch() saves when a kernel thread gives up its hart: the
// callee-saved ones (the C calling convention lets the caller assume the
// others are clobbered anyway), the stack pointer and the return address.
struct context {
  uint64 ra;
  uint64 sp;
  uint64 s0;
  uint64 s1;
  uint64 s2;
  uint64 s3;
  uint64 s4;
  uint64 s5;
  uint64 s6;
  uint64 s7;
  uint64 s8;
  uint64 s9;
  uint64 s10;
  uint64 s11;
};

// Per-hart state. `proc` must stay the first member.
struct cpu {
  struct proc *proc;        // process running on this hart, or 0
  struct context context;   // the scheduler's registers; swtch() here to enter it
  int noff;                 // depth of push_off() nesting
  int intena;               // were interrupts on before the first push_off()?
};

extern struct cpu cpus[NCPU];

// The page the trampoline saves user registers into on a trap, mapped at
// TRAPFRAME in the user page table (without PTE_U: user code cannot see it).
// The first five fields are filled by the kernel so that uservec knows how
// to get into the kernel. Offsets are used by trampoline.S: keep in step.
struct trapframe {
  /*   0 */ uint64 kernel_satp;   // kernel page table
  /*   8 */ uint64 kernel_sp;     // top of this process's kernel stack
  /*  16 */ uint64 kernel_trap;   // usertrap()
  /*  24 */ uint64 epc;           // user pc at the trap
  /*  32 */ uint64 kernel_hartid; // tp for the kernel
  /*  40 */ uint64 ra;
  /*  48 */ uint64 sp;
  /*  56 */ uint64 gp;
  /*  64 */ uint64 tp;
  /*  72 */ uint64 t0;
  /*  80 */ uint64 t1;
  /*  88 */ uint64 t2;
  /*  96 */ uint64 s0;
  /* 104 */ uint64 s1;
  /* 112 */ uint64 a0;
  /* 120 */ uint64 a1;
  /* 128 */ uint64 a2;
  /* 136 */ uint64 a3;
  /* 144 */ uint64 a4;
  /* 152 */ uint64 a5;
  /* 160 */ uint64 a6;
  /* 168 */ uint64 a7;
  /* 176 */ uint64 s2;
  /* 184 */ uint64 s3;
  /* 192 */ uint64 s4;
  /* 200 */ uint64 s5;
  /* 208 */ uint64 s6;
  /* 216 */ uint64 s7;
  /* 224 */ uint64 s8;
  /* 232 */ uint64 s9;
  /* 240 */ uint64 s10;
  /* 248 */ uint64 s11;
  /* 256 */ uint64 t3;
  /* 264 */ uint64 t4;
  /* 272 */ uint64 t5;
  /* 280 */ uint64 t6;
};

// The order is part of the interface (rvtrace decodes the numbers).
enum procstate { UNUSED, USED, SLEEPING, RUNNABLE, RUNNING, ZOMBIE };

struct proc {
  struct spinlock lock;

  // Protected by p->lock:
  enum procstate state;
  void *chan;                  // what a SLEEPING process waits for
  int killed;                  // set by kill(); acted on at the next user return
  int xstate;                  // exit status handed to the parent's wait()
  int pid;

  // Protected by wait_lock (proc.c):
  struct proc *parent;

  // Private to the process (no lock needed while it runs):
  uint64 kstack;               // virtual address of the kernel stack's bottom
  uint64 sz;                   // bytes of user memory
  pagetable_t pagetable;       // user page table
  struct trapframe *trapframe; // the TRAPFRAME page, by its kernel address
  struct context context;      // swtch() here to run the process
  struct file *ofile[NOFILE];  // open files
  struct inode *cwd;           // current directory
  char name[16];               // for debugging and for rvtrace
};

extern struct proc proc[NPROC];

#endif
