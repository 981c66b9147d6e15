// waitnochild: wait() in a process that has no children returns -1 at once.

#include "user.h"

int main(void)
{
  int pid = fork();
  if (pid < 0) {
    printf("fork failed\n");
    exit(1);
  }
  if (pid == 0) {
    int r = wait(0);
    printf("child: wait() returned %d: I have no children\n", r);
    exit(r == -1 ? 0 : 1);
  }

  int status;
  int r = wait(&status);
  printf("parent: wait() returned %s, status %d\n",
         r == pid ? "my child's pid" : "something else", status);
  exit(0);
}
