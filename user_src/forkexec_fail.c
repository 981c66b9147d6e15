// forkexec_fail: like forkexec, but the child tries to run a program that does not exist.
//
// exec returns -1, the child prints "exec failed!" and exits with status 1,
// and that 1 reaches the parent through wait.

#include "user.h"

int main(void)
{
  int pid = fork();
  if (pid == 0) {
    char *argv[] = {"no_such_program", "THIS", "IS", "ECHO", 0};
    exec("no_such_program", argv);
    printf("exec failed!\n");
    exit(1);
  }

  printf("parent waiting\n");
  int status;
  wait(&status);
  printf("the child exited with status %d\n", status);
  exit(0);
}
