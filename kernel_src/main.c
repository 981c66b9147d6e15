// The kernel's main(), entered in supervisor mode on every hart (start.c
// arranged that). Hart 0 sets the system up; the others wait until it is
// done, then turn on paging and interrupts for themselves. Every hart ends
// in its scheduler.

#include "types.h"
#include "param.h"
#include "memlayout.h"
#include "riscv.h"
#include "defs.h"

static volatile int started = 0;

// How often a waiting hart looks whether hart 0 is done (1 ms at 10 MHz).
#define BOOT_POLL_TICKS 10000

// The other harts wait here while hart 0 boots. They sleep in wfi rather
// than spin: a spinning hart burns instructions (and on rvtrace,
// instructions are time) for nothing. The timer wakes them to look again;
// interrupts are still off (sstatus.SIE = 0), so the timer is not taken as a
// trap, it only ends the wfi.
static void wait_for_hart0(void)
{
  while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) == 0) {
    w_stimecmp(r_time() + BOOT_POLL_TICKS);
    asm volatile("wfi");
  }
}

static void boot_hart0(void)
{
  consoleinit();
  printfinit();
  // Read the device tree before any page is allocated: it lives in RAM
  // that the page allocator will hand out later.
  bootargs_init(fdt_bootargs(boot_fdt));
  uint64 end_of_ram = fdt_memory_end(boot_fdt);
  if (boot_argc == 0)
    printf("\nrvtrace teaching kernel: booting (cow=%d)\n\n", boot_cow);

  kinit(end_of_ram);   // physical pages
  kvminit();           // the kernel page table
  kvminithart();       // paging on
  procinit();          // the process table
  trapinit();
  trapinithart();      // kernel traps go to kernelvec
  plicinit();          // device interrupt priorities
  plicinithart();      // ... and this hart's enables
  binit();             // buffer cache
  iinit();             // inode table
  fileinit();          // file table
  virtio_disk_init();
  userinit();          // the first process (it execs /init)
}

void main(void)
{
  if (cpuid() == 0) {
    boot_hart0();
    __atomic_store_n(&started, 1, __ATOMIC_RELEASE);
  } else {
    wait_for_hart0();
    kvminithart();
    trapinithart();
    plicinithart();
  }
  scheduler();
}
