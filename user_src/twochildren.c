// twochildren: two forks need two waits; each wait returns one child's pid.
//
// The children exit with different statuses so we can check that each wait
// reports the status of the child it names. Which child finishes first
// depends on scheduling, so the output does not depend on that order.

#include "user.h"

static int spawn(int status)
{
  int pid = fork();
  if (pid < 0) {
    printf("fork failed\n");
    exit(1);
  }
  if (pid == 0)
    exit(status);
  return pid;
}

int main(void)
{
  int first = spawn(1);
  int second = spawn(2);
  printf("twochildren: forked two children\n");

  int seen_first = 0, seen_second = 0;
  for (int i = 1; i <= 2; i++) {
    int status = -1;
    int pid = wait(&status);
    if (pid == first && status == 1 && !seen_first) {
      seen_first = 1;
    } else if (pid == second && status == 2 && !seen_second) {
      seen_second = 1;
    } else {
      printf("wait #%d returned %d with status %d: not a child we were waiting for\n", i, pid, status);
      exit(1);
    }
    printf("wait #%d returned a child's pid, with that child's exit status\n", i);
  }

  int pid = wait(0);
  printf("wait #3 returned %d: no children left\n", pid);
  exit(pid == -1 ? 0 : 1);
}
