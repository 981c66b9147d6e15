// kstress: pushes the kernel to its limits and checks it gives back
// everything it took. Built and run by tests/kernel/test_stress_qemu.py.
//
//  - forkbomb: fork until the process table is full (fork must return -1,
//    not crash), then reap every child with its exit status.
//  - cow_oom: a 23 MiB heap shared copy-on-write with 8 children that each
//    write all of it: memory runs out, the kernel kills the faulting
//    children, and the parent's pages are untouched.
//  - exec of a file that is not an ELF program returns -1.
// All of it runs in a child; afterwards the free page count must be exactly
// what it was before (page-table pages of a shrunk heap are only freed at
// exit, so the measuring process must not be the one that grew).
#include "user.h"
#include "kstats.h"

#define HEAP_PAGES 6000

static unsigned long free_pages(void)
{
  struct kstats k;
  kstats(&k);
  return k.free_pages;
}

static void forkbomb(void)
{
  int forked = 0, pid;
  while ((pid = fork()) > 0)
    forked++;
  if (pid == 0) {
    sleep(2);
    exit(7);
  }
  int reaped = 0, status;
  while (wait(&status) > 0) {
    if (status != 7) {
      printf("forkbomb: a child exited with %d\n", status);
      exit(1);
    }
    reaped++;
  }
  printf("forkbomb: forked %d, reaped %d\n", forked, reaped);
}

static void cow_oom(void)
{
  char *heap = sbrk(HEAP_PAGES * 4096);
  if (heap == (char *)-1) {
    printf("cow_oom: sbrk failed\n");
    exit(1);
  }
  for (int i = 0; i < HEAP_PAGES; i++)
    heap[i * 4096] = 1;
  // The children wait at a gate (a pipe) until all of them are forked, so the
  // parent's own copy-on-write faults -- its stack, after each fork -- happen
  // while memory is still free, whether the kernel runs parent or child first.
  int gate[2];
  if (pipe(gate) < 0) {
    printf("cow_oom: pipe failed\n");
    exit(1);
  }
  int kids = 0;
  for (int k = 0; k < 8; k++) {
    int pid = fork();
    if (pid == 0) {
      char c;
      close(gate[1]);
      read(gate[0], &c, 1);          // returns 0 once the parent closes its end
      for (int i = 0; i < HEAP_PAGES; i++)
        heap[i * 4096] = 2;
      exit(0);
    }
    if (pid > 0)
      kids++;
  }
  close(gate[0]);
  close(gate[1]);                    // open the gate
  int finished = 0, status;
  while (wait(&status) > 0)
    finished += status == 0;
  for (int i = 0; i < HEAP_PAGES; i++) {
    if (heap[i * 4096] != 1) {
      printf("cow_oom: a child's write reached the parent\n");
      exit(1);
    }
  }
  sbrk(-HEAP_PAGES * 4096);
  printf("cow_oom: %d children, %d finished\n", kids, finished);
}

int main(void)
{
  unsigned long before = free_pages();
  int pid = fork();
  if (pid == 0) {
    for (int round = 0; round < 2; round++) {
      forkbomb();
      cow_oom();
      char *argv[] = {"README", 0};
      if (exec("README", argv) != -1) {
        printf("exec of a text file did not fail\n");
        exit(1);
      }
    }
    exit(0);
  }
  int status = -1;
  wait(&status);
  unsigned long after = free_pages();
  printf("kstress: status %d, free pages before %lu, after %lu\n", status, before, after);
  return status == 0 && before == after ? 0 : 2;
}
