// Kernel counters returned by the kstats system call (number 23):
//     int kstats(struct kstats *st);   // fills *st, returns 0 (or -1: bad pointer)
// Shared by the kernel and user programs, so it uses only plain C types.
// Every counter counts 4096-byte pages or events since boot.
#ifndef KERNEL_KSTATS_H
#define KERNEL_KSTATS_H

struct kstats {
  unsigned long fork_eager_pages; // data pages copied by fork when cow=0
  unsigned long cow_faults;       // write faults on copy-on-write pages
  unsigned long cow_copies;       // of those, the ones that had to copy the page
  unsigned long free_pages;       // physical pages free right now
  unsigned long pages_allocated;  // physical pages handed out by kalloc since boot
};

#endif
