// cat: copy files (or, with no arguments, the standard input) to the standard output.

#include "user.h"

static char buf[512];

static int copy(int fd, const char *name)
{
  int n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    if (write(1, buf, n) != n) {
      fprintf(2, "cat: write error\n");
      return -1;
    }
  }
  if (n < 0) {
    fprintf(2, "cat: cannot read %s\n", name);
    return -1;
  }
  return 0;
}

int main(int argc, char *argv[])
{
  if (argc < 2)
    return copy(0, "standard input") < 0;

  int failed = 0;
  for (int i = 1; i < argc; i++) {
    int fd = open(argv[i], O_RDONLY);
    if (fd < 0) {
      fprintf(2, "cat: cannot open %s\n", argv[i]);
      failed = 1;
      continue;
    }
    if (copy(fd, argv[i]) < 0)
      failed = 1;
    close(fd);
  }
  return failed;
}
