// Traps: system calls, exceptions and interrupts, from user mode (via the
// trampoline's uservec) and from the kernel (via kernelvec).

#include "types.h"
#include "param.h"
#include "memlayout.h"
#include "riscv.h"
#include "spinlock.h"
#include "proc.h"
#include "defs.h"

_Static_assert(TRAPFRAME == (1L << 38) - 2 * 4096, "trampoline.S hard-codes TRAPFRAME");

struct spinlock tickslock;
uint ticks;   // timer interrupts seen by hart 0 since boot (one per 10 ms)

extern char trampoline[], uservec[], userret[];
void kernelvec(void);

// What devintr() found.
enum { INTR_NONE, INTR_DEVICE, INTR_TIMER };

void trapinit(void)
{
  initlock(&tickslock, "time");
}

// From now on, traps on this hart go to kernelvec.
void trapinithart(void)
{
  w_stvec((uint64)kernelvec);
}

// Program the next timer interrupt of this hart (Sstc: stimecmp).
static void timer_rearm(void)
{
  w_stimecmp(r_time() + TIMER_INTERVAL);
}

static void clockintr(void)
{
  if (cpuid() == 0) {
    acquire(&tickslock);
    ticks++;
    wakeup(&ticks);   // sys_sleep waits on ticks
    release(&tickslock);
  }
  timer_rearm();
}

// Recognise and handle an interrupt. scause says which.
static int devintr(uint64 scause)
{
  if (scause == (SCAUSE_INTR | IRQ_S_EXTERNAL)) {
    // The PLIC tells us which device; complete the claim so it can
    // interrupt again.
    int irq = plic_claim();
    if (irq == UART0_IRQ)
      uartintr();
    else if (irq == VIRTIO0_IRQ)
      virtio_disk_intr();
    else if (irq)
      printf("devintr: unexpected interrupt irq=%d\n", irq);
    if (irq)
      plic_complete(irq);
    return INTR_DEVICE;
  }
  if (scause == (SCAUSE_INTR | IRQ_S_TIMER)) {
    clockintr();
    return INTR_TIMER;
  }
  return INTR_NONE;
}

static int is_page_fault(uint64 scause)
{
  return scause == EXC_INST_PAGEFAULT || scause == EXC_LOAD_PAGEFAULT ||
         scause == EXC_STORE_PAGEFAULT;
}

// A trap from user mode, entered from uservec with the kernel page table.
void usertrap(void)
{
  if ((r_sstatus() & SSTATUS_SPP) != 0)
    panic("usertrap: not from user mode");
  // Further traps happen in the kernel and go to kernelvec.
  w_stvec((uint64)kernelvec);

  struct proc *p = myproc();
  p->trapframe->epc = r_sepc();
  uint64 scause = r_scause();
  int which = INTR_NONE;

  if (scause == EXC_ECALL_U) {
    if (killed(p))
      exit(-1);
    p->trapframe->epc += 4;   // return after the ecall, not onto it
    // The trap turned interrupts off; a system call may take long (and
    // sleep), so let devices in again now that the registers are saved.
    intr_on();
    syscall();
  } else if ((which = devintr(scause)) != INTR_NONE) {
    // handled
  } else if (scause == EXC_STORE_PAGEFAULT && cow_fault(p->pagetable, r_stval()) == 0) {
    // a write to a copy-on-write page: it is private and writable now
  } else {
    if (is_page_fault(scause))
      printf("pid %d %s: page fault at %p (pc %p, scause %d): killed\n",
             p->pid, p->name, r_stval(), r_sepc(), (int)scause);
    else
      printf("pid %d %s: unexpected trap scause %p (pc %p, stval %p): killed\n",
             p->pid, p->name, scause, r_sepc(), r_stval());
    setkilled(p);
  }

  if (killed(p))
    exit(-1);
  if (which == INTR_TIMER)
    yield();   // time slice over: let another process run
  usertrapret();
}

// Go (back) to user space: prepare the trapframe so the next trap finds the
// kernel again, then jump to userret in the trampoline.
void usertrapret(void)
{
  struct proc *p = myproc();

  // From the moment stvec points at uservec until sret, a trap would be
  // taken as if from user space: keep interrupts off.
  intr_off();
  w_stvec(TRAMPOLINE + (uservec - trampoline));

  p->trapframe->kernel_satp = r_satp();
  p->trapframe->kernel_sp = p->kstack + KSTACKPAGES * PGSIZE;
  p->trapframe->kernel_trap = (uint64)usertrap;
  p->trapframe->kernel_hartid = r_tp();

  // sret: to user mode (SPP = 0), with interrupts on (SPIE = 1), at epc.
  uint64 x = r_sstatus();
  x &= ~SSTATUS_SPP;
  x |= SSTATUS_SPIE;
  w_sstatus(x);
  w_sepc(p->trapframe->epc);

  uint64 satp = MAKE_SATP(p->pagetable);
  void (*go)(uint64) = (void (*)(uint64))(TRAMPOLINE + (userret - trampoline));
  go(satp);
}

// A trap while the kernel runs: only interrupts are expected here.
void kerneltrap(void)
{
  uint64 sepc = r_sepc();
  uint64 sstatus = r_sstatus();
  uint64 scause = r_scause();

  if ((sstatus & SSTATUS_SPP) == 0)
    panic("kerneltrap: not from supervisor mode");
  if (intr_get())
    panic("kerneltrap: interrupts enabled");

  int which = devintr(scause);
  if (which == INTR_NONE) {
    printf("scause %p sepc %p stval %p\n", scause, sepc, r_stval());
    panic("kerneltrap: unexpected trap in the kernel");
  }

  // A process's time slice can end while it is in the kernel too.
  if (which == INTR_TIMER && myproc() != 0)
    yield();

  // yield() may have run other code that trapped; put back what sret needs.
  w_sepc(sepc);
  w_sstatus(sstatus);
}
