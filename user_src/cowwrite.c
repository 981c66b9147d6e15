// cowwrite: after a copy-on-write fork, writing one page copies exactly one page.
//
// The parent fills an 8-page buffer, then forks. The child writes one byte
// into one page of it and reads the kernel counters (kstats) before and after
// that write: one copy-on-write fault, one page copied. (With the boot
// argument cow=0 fork already copied everything: no fault, no copy.) The
// parent then checks that its own buffer still holds its own data.

#include "user.h"

#define PAGE 4096
#define NPAGES 8

static char buf[NPAGES * PAGE];

int main(void)
{
  memset(buf, 'p', sizeof buf);

  int pid = fork();
  if (pid < 0) {
    printf("cowwrite: fork failed\n");
    exit(1);
  }
  if (pid == 0) {
    struct kstats ks[2];
    // Writing ks first gives the child its own stack page now, so that copy
    // is not counted in the measurement below.
    memset(ks, 0, sizeof ks);
    kstats(&ks[0]);
    buf[3 * PAGE] = 'c';                 // the one write
    kstats(&ks[1]);
    printf("child: wrote 1 byte of 1 of %d shared pages: %lu copy-on-write fault(s), %lu page(s) copied\n",
           NPAGES, ks[1].cow_faults - ks[0].cow_faults, ks[1].cow_copies - ks[0].cow_copies);
    exit(buf[3 * PAGE] == 'c' ? 0 : 1);
  }

  // The parent writes nothing until the child is done, so the counters the
  // child reads change only because of the child's write.
  int status;
  wait(&status);
  int mine = buf[3 * PAGE] == 'p';
  printf("parent: child exited with status %d; my page still holds my data: %s\n",
         status, mine ? "yes" : "NO");
  exit(mine && status == 0 ? 0 : 1);
}
