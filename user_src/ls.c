// ls: list directories (and describe files): name, type, inode number, size.
//
// A directory is a file holding 16-byte entries (struct dirent in fs.h); ls
// reads them straight from it with read(), then stats each name.

#include "user.h"
#include "fs.h"

static const char *type_name(int type)
{
  switch (type) {
  case T_DIR: return "dir ";
  case T_FILE: return "file";
  case T_DEVICE: return "dev ";
  default: return "?   ";
  }
}

static void show(const char *name, struct stat *st)
{
  printf("%s", name);
  for (int pad = strlen(name); pad < DIRSIZ; pad++)
    printf(" ");
  printf(" %s %d %lu\n", type_name(st->type), st->ino, st->size);
}

// The last component of path ("a/b/c" -> "c").
static const char *base_name(const char *path)
{
  const char *base = path;
  for (const char *p = path; *p; p++) {
    if (*p == '/' && p[1])
      base = p + 1;
  }
  return base;
}

static int list(const char *path)
{
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    fprintf(2, "ls: cannot open %s\n", path);
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) < 0) {
    fprintf(2, "ls: cannot stat %s\n", path);
    close(fd);
    return -1;
  }
  if (st.type != T_DIR) {
    show(base_name(path), &st);
    close(fd);
    return 0;
  }

  // Build "path/name" for each entry in buf, to stat it.
  char buf[128];
  uint len = strlen(path);
  if (len + 1 + DIRSIZ + 1 > sizeof buf) {
    fprintf(2, "ls: path too long: %s\n", path);
    close(fd);
    return -1;
  }
  strcpy(buf, path);
  buf[len++] = '/';

  struct dirent de;
  while (read(fd, &de, sizeof de) == sizeof de) {
    if (de.inum == 0)
      continue;                       // a free slot
    memmove(buf + len, de.name, DIRSIZ);
    buf[len + DIRSIZ] = 0;            // names of exactly DIRSIZ bytes have no NUL
    struct stat entry;
    if (stat(buf, &entry) < 0) {
      fprintf(2, "ls: cannot stat %s\n", buf);
      continue;
    }
    show(buf + len, &entry);
  }
  close(fd);
  return 0;
}

int main(int argc, char *argv[])
{
  if (argc < 2)
    return list(".") < 0;
  int failed = 0;
  for (int i = 1; i < argc; i++) {
    if (list(argv[i]) < 0)
      failed = 1;
  }
  return failed;
}
