// exec: replace this process with echo.
//
// exec returns only when it fails. On success nothing after the call runs:
// the process is now echo, printing "this is echo". argv[0] is the program's
// name by convention; exec's first argument says which file to load.

#include "user.h"

int main(void)
{
  char *argv[] = {"echo", "this", "is", "echo", 0};
  exec("echo", argv);
  printf("exec failed!\n");
  exit(0);
}
