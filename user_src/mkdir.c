// mkdir: create each directory named on the command line.

#include "user.h"

int main(int argc, char *argv[])
{
  if (argc < 2) {
    fprintf(2, "usage: mkdir DIR...\n");
    return 1;
  }
  int failed = 0;
  for (int i = 1; i < argc; i++) {
    if (mkdir(argv[i]) < 0) {
      fprintf(2, "mkdir: cannot create %s\n", argv[i]);
      failed = 1;
    }
  }
  return failed;
}
