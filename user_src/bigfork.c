// bigfork: what copy-on-write fork saves when fork is followed by exec.
//
// The program grows its heap by several MiB (default 4; `bigfork N` for N
// MiB) and writes to every page, so the memory is really there. Then it
// forks, and the child immediately execs echo -- throwing its copy of all
// that memory away. The kernel counters (kstats, system call 23) show what
// the fork cost:
//   - eager fork (boot argument cow=0): every page copied at fork, for nothing;
//   - copy-on-write fork (the default): no data page copied at fork; a page
//     is copied only when someone writes to it while it is shared (here: a
//     stack page or two).

#include "user.h"

#define PAGE 4096

int main(int argc, char *argv[])
{
  int mib = argc > 1 ? atoi(argv[1]) : 4;
  if (mib < 1 || mib > 64) {
    fprintf(2, "usage: bigfork [MiB, 1 to 64]\n");
    exit(1);
  }
  int pages = mib * (1024 * 1024 / PAGE);
  char *heap = sbrk(pages * PAGE);
  if (heap == (char *)-1) {
    printf("bigfork: sbrk of %d MiB failed\n", mib);
    exit(1);
  }
  for (int i = 0; i < pages; i++)
    heap[i * PAGE] = (char)i;
  printf("bigfork: grew the heap by %d MiB (%d pages) and wrote to each page\n", mib, pages);

  struct kstats before, after;
  kstats(&before);
  int pid = fork();
  if (pid < 0) {
    printf("bigfork: fork failed\n");
    exit(1);
  }
  if (pid == 0) {
    char *args[] = {"echo", "child: exec threw the copy away", 0};
    exec("echo", args);
    printf("exec failed!\n");
    exit(1);
  }
  int status;
  wait(&status);
  kstats(&after);

  printf("bigfork: pages copied by fork: %lu\n", after.fork_eager_pages - before.fork_eager_pages);
  printf("bigfork: copy-on-write faults: %lu, pages copied on write: %lu\n",
         after.cow_faults - before.cow_faults, after.cow_copies - before.cow_copies);
  printf("bigfork: pages allocated by fork + exec + exit: %lu\n",
         after.pages_allocated - before.pages_allocated);
  exit(status);
}
