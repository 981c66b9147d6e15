// forkexec: how a shell runs a command -- fork, exec in the child, wait in the parent.
//
// Which line comes first, "parent waiting" or the child's "THIS IS ECHO"? The
// parent usually wins, because exec is slow (it reads echo from the disk and
// builds a new address space) -- but nothing guarantees it: with several
// harts the two outputs can even interleave character by character.

#include "user.h"

int main(void)
{
  int pid = fork();
  if (pid == 0) {
    char *argv[] = {"echo", "THIS", "IS", "ECHO", 0};
    exec("echo", argv);
    // Only reached when exec fails: a successful exec never returns.
    printf("exec failed!\n");
    exit(1);
  }

  printf("parent waiting\n");
  int status;
  wait(&status);
  printf("the child exited with status %d\n", status);
  exit(0);
}
