// myecho: exec echo, but tell it its name is "my_echo".
//
// argv[0] is only a convention -- the program's name as the caller chose to
// give it. echo prints argv[1...], so the output is still "this is echo";
// a trace's exec event shows the argv[0] that was passed.

#include "user.h"

int main(void)
{
  char *argv[] = {"my_echo", "this", "is", "echo", 0};
  exec("echo", argv);
  printf("exec failed!\n");
  exit(1);
}
