// fsstress: hammer the kernel's file system from several processes at once.
//
// Built by tests/fs/test_kernel_fs_qemu.py with the user library and run on a
// multi-hart machine; the test then checks the image with fsck. Modes:
//   fsstress churn   children create, write, read back, link and unlink files
//                    in their own directories and in one shared directory,
//                    files crossing into the indirect block included
//   fsstress fill    write until the disk is full (write must fail cleanly),
//                    then free everything and check the space comes back
// Prints "FSSTRESS OK" and exits 0 when every check held.

#include "user.h"

#define CHILDREN 4
#define ROUNDS 6

static char wbuf[20 * 1024];
static char rbuf[20 * 1024];
static int errors;

#define CHECK(cond) do { if (!(cond)) { printf("fsstress:%d: %s\n", __LINE__, #cond); errors++; } } while (0)

// Bytes that depend on who wrote them and where, so mix-ups show.
static void pattern(char *buf, int n, int seed)
{
  for (int i = 0; i < n; i++)
    buf[i] = 'a' + (i * 7 + seed * 13 + i / 1024) % 26;
}

static void name(char *out, char kind, int a, int b)
{
  out[0] = kind;
  out[1] = '0' + a;
  out[2] = '_';
  out[3] = '0' + b / 10;
  out[4] = '0' + b % 10;
  out[5] = 0;
}

static int write_file(const char *path, const char *data, int n)
{
  int fd = open(path, O_CREATE | O_TRUNC | O_WRONLY);
  if (fd < 0)
    return -1;
  int w = write(fd, data, n);
  close(fd);
  return w;
}

static int read_file(const char *path, char *out, int max)
{
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return -1;
  int total = 0, n;
  while (total < max && (n = read(fd, out + total, max - total)) > 0)
    total += n;
  close(fd);
  return total;
}

static void child(int id)
{
  char dir[4] = {'d', '0' + id, 0, 0};
  char f[8], l[8], path[32];

  CHECK(mkdir(dir) == 0);
  CHECK(chdir(dir) == 0);
  for (int r = 0; r < ROUNDS; r++) {
    int size = (r * 4099 + id * 1000) % sizeof(wbuf);   // 0 .. 20 KiB: direct and indirect
    name(f, 'f', id, r);
    name(l, 'l', id, r);
    pattern(wbuf, size, id * 100 + r);
    CHECK(write_file(f, wbuf, size) == size);
    CHECK(read_file(f, rbuf, sizeof(rbuf)) == size);
    CHECK(memcmp(wbuf, rbuf, size) == 0);
    CHECK(link(f, l) == 0);
    CHECK(unlink(f) == 0);
    CHECK(read_file(f, rbuf, sizeof(rbuf)) == -1);
    CHECK(read_file(l, rbuf, sizeof(rbuf)) == size);
    CHECK(memcmp(wbuf, rbuf, size) == 0);
    if (r % 2)
      CHECK(unlink(l) == 0);

    // The shared directory: everyone adds and removes entries in it.
    strcpy(path, "../shared/");
    name(path + strlen(path), 's', id, r);
    CHECK(write_file(path, wbuf, 100) == 100);
    if (r % 3 == 0)
      CHECK(unlink(path) == 0);
  }
  CHECK(chdir("..") == 0);
  exit(errors ? 1 : 0);
}

static void churn(void)
{
  CHECK(mkdir("shared") == 0);
  for (int i = 0; i < CHILDREN; i++) {
    int pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
      child(i);
  }
  for (int i = 0; i < CHILDREN; i++) {
    int status = -1;
    CHECK(wait(&status) > 0);
    CHECK(status == 0);
  }
  // What must be left: in d<i>, l<i>_00 l<i>_02 l<i>_04; in shared, the r % 3 != 0 ones.
  char path[32];
  for (int i = 0; i < CHILDREN; i++) {
    for (int r = 0; r < ROUNDS; r++) {
      strcpy(path, "d0/");
      path[1] = '0' + i;
      name(path + 3, 'l', i, r);
      CHECK((read_file(path, rbuf, sizeof(rbuf)) >= 0) == (r % 2 == 0));
      strcpy(path, "shared/");
      name(path + 7, 's', i, r);
      CHECK((read_file(path, rbuf, sizeof(rbuf)) == 100) == (r % 3 != 0));
    }
  }
  // A non-empty directory cannot be removed; "." and ".." never.
  CHECK(unlink("shared") == -1);
  CHECK(unlink("shared/.") == -1);
}

static void fill(void)
{
  char f[8];
  int files = 0, full = 0;

  pattern(wbuf, 8192, 7);
  for (files = 0; files < 99 && !full; files++) {
    name(f, 'x', 0, files);
    int fd = open(f, O_CREATE | O_WRONLY);
    if (fd < 0) {
      full = 1;   // out of inodes would also do
      break;
    }
    for (int k = 0; k < 33; k++) {   // up to 264 KiB, just under the largest file
      int w = write(fd, wbuf, 8192);
      if (w != 8192) {
        CHECK(w == -1);   // a short write is reported as an error
        full = 1;
        break;
      }
    }
    close(fd);
  }
  CHECK(full);
  for (int i = 0; i < files; i++) {
    name(f, 'x', 0, i);
    CHECK(unlink(f) == 0);
  }
  // The space is free again.
  CHECK(write_file("after", wbuf, 8192) == 8192);
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    printf("usage: fsstress churn|fill\n");
    exit(2);
  }
  if (strcmp(argv[1], "churn") == 0)
    churn();
  else if (strcmp(argv[1], "fill") == 0)
    fill();
  else
    CHECK(0);
  if (errors == 0)
    printf("FSSTRESS OK\n");
  exit(errors ? 1 : 0);
}
