// selftest: exercise every system call and check what the kernel answers.
//
// In the spirit of a kernel test suite: each test uses system calls the way
// a program would, checks the results -- including the failures a correct
// kernel must report (-1) rather than crash on -- and prints one line. The
// last line is "ALL TESTS PASSED" when every check held; otherwise each
// failed check printed "FAILED: ..." with its line number, and the exit
// status is 1.
//
// The tests create files named "st_*" in the current directory and remove
// them again.

#include "user.h"

#define PAGE 4096

static int failures;

#define CHECK(cond) check((cond), #cond, __LINE__)

static void check(int ok, const char *what, int line)
{
  if (!ok) {
    printf("FAILED: selftest.c:%d: %s\n", line, what);
    failures++;
  }
}

static char buf[8192];

// Create path holding exactly data[0..n).
static void write_file(const char *path, const char *data, int n)
{
  int fd = open(path, O_CREATE | O_TRUNC | O_WRONLY);
  CHECK(fd >= 0);
  CHECK(write(fd, data, n) == n);
  close(fd);
}

// Read all of path into buf; returns the length, or -1 if it cannot be opened.
static int read_file(const char *path)
{
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return -1;
  int total = 0, n;
  while ((n = read(fd, buf + total, sizeof buf - 1 - total)) > 0)
    total += n;
  buf[total] = 0;
  close(fd);
  return total;
}

// --- files ----------------------------------------------------------------------

static void test_files(void)
{
  int fd = open("st_file", O_CREATE | O_RDWR);
  CHECK(fd >= 0);
  CHECK(write(fd, "hello ", 6) == 6);
  CHECK(write(fd, "world\n", 6) == 6);
  close(fd);

  CHECK(read_file("st_file") == 12);
  CHECK(strcmp(buf, "hello world\n") == 0);

  struct stat st;
  CHECK(stat("st_file", &st) == 0);
  CHECK(st.type == T_FILE);
  CHECK(st.size == 12);
  CHECK(st.nlink == 1);

  // O_TRUNC empties it; a read-only fd refuses writes and a write-only fd reads.
  fd = open("st_file", O_WRONLY | O_TRUNC);
  CHECK(fd >= 0);
  CHECK(read(fd, buf, 1) == -1);
  CHECK(write(fd, "x", 1) == 1);
  close(fd);
  fd = open("st_file", O_RDONLY);
  CHECK(write(fd, "y", 1) == -1);
  CHECK(read(fd, buf, sizeof buf) == 1);
  CHECK(read(fd, buf, sizeof buf) == 0);     // end of file
  close(fd);

  CHECK(unlink("st_file") == 0);
  CHECK(open("st_file", O_RDONLY) < 0);
  CHECK(unlink("st_file") < 0);
  CHECK(open("st_missing", O_RDONLY) < 0);
  CHECK(close(fd) < 0);                      // already closed
  CHECK(read(99, buf, 1) < 0);               // not a file descriptor
}

// A file bigger than the 12 direct blocks, so part of it lives behind the indirect block.
static void test_big_file(void)
{
  enum { CHUNK = 500, CHUNKS = 40 };         // 20000 bytes: 20 blocks
  char chunk[CHUNK];
  int fd = open("st_big", O_CREATE | O_RDWR);
  CHECK(fd >= 0);
  for (int i = 0; i < CHUNKS; i++) {
    memset(chunk, 'a' + i % 26, CHUNK);
    CHECK(write(fd, chunk, CHUNK) == CHUNK);
  }
  close(fd);

  struct stat st;
  CHECK(stat("st_big", &st) == 0 && st.size == CHUNK * CHUNKS);
  fd = open("st_big", O_RDONLY);
  int ok = 1;
  for (int i = 0; i < CHUNKS; i++) {
    if (read(fd, chunk, CHUNK) != CHUNK) {
      ok = 0;
      break;
    }
    for (int j = 0; j < CHUNK; j++)
      ok &= chunk[j] == 'a' + i % 26;
  }
  CHECK(ok);
  close(fd);
  CHECK(unlink("st_big") == 0);
}

static void test_links(void)
{
  write_file("st_a", "linked", 6);
  CHECK(link("st_a", "st_b") == 0);
  CHECK(link("st_a", "st_b") < 0);           // the name is taken
  CHECK(link("st_missing", "st_c") < 0);

  struct stat a, b;
  CHECK(stat("st_a", &a) == 0 && stat("st_b", &b) == 0);
  CHECK(a.ino == b.ino && a.nlink == 2);

  CHECK(unlink("st_a") == 0);
  CHECK(read_file("st_b") == 6 && strcmp(buf, "linked") == 0);
  CHECK(stat("st_b", &b) == 0 && b.nlink == 1);
  CHECK(unlink("st_b") == 0);
}

static void test_directories(void)
{
  CHECK(mkdir("st_dir") == 0);
  CHECK(mkdir("st_dir") < 0);
  struct stat st;
  CHECK(stat("st_dir", &st) == 0 && st.type == T_DIR);
  CHECK(open("st_dir", O_RDWR) < 0);         // directories are not written with write()

  write_file("st_dir/f", "in a dir", 8);
  CHECK(chdir("st_dir") == 0);
  CHECK(read_file("f") == 8);
  CHECK(read_file("../st_dir/f") == 8);
  CHECK(chdir("..") == 0);
  CHECK(chdir("st_missing") < 0);
  CHECK(chdir("st_dir/f") < 0);              // not a directory

  CHECK(unlink("st_dir") < 0);               // not empty
  CHECK(unlink("st_dir/f") == 0);
  CHECK(unlink("st_dir/.") < 0);
  CHECK(unlink("st_dir") == 0);
  CHECK(stat("st_dir", &st) < 0);
  CHECK(mkdir("st_missing/sub") < 0);
}

static void test_devices(void)
{
  struct stat st;
  CHECK(fstat(1, &st) == 0 && st.type == T_DEVICE);
  CHECK(mknod("st_console", 1, 0) == 0);
  CHECK(stat("st_console", &st) == 0 && st.type == T_DEVICE);
  int fd = open("st_console", O_WRONLY);
  CHECK(fd >= 0);
  CHECK(write(fd, "", 0) == 0);
  close(fd);
  CHECK(unlink("st_console") == 0);
}

static void test_dup(void)
{
  int fd = open("st_dup", O_CREATE | O_RDWR);
  int fd2 = dup(fd);
  CHECK(fd >= 0 && fd2 >= 0 && fd2 != fd);
  CHECK(write(fd, "ab", 2) == 2);
  CHECK(write(fd2, "cd", 2) == 2);           // shares the offset: appends
  close(fd);
  CHECK(write(fd2, "ef", 2) == 2);           // still open through the copy
  close(fd2);
  CHECK(read_file("st_dup") == 6 && strcmp(buf, "abcdef") == 0);
  CHECK(dup(77) < 0);
  CHECK(unlink("st_dup") == 0);
}

// Every process has a limited table of open files; running out is an error, not a crash.
static void test_fd_limit(void)
{
  int fds[64], n = 0;
  while (n < 64 && (fds[n] = dup(0)) >= 0)
    n++;
  CHECK(n > 3 && n < 64);
  while (n > 0)
    close(fds[--n]);
  int fd = dup(0);
  CHECK(fd >= 3);
  close(fd);
}

static void test_pipes(void)
{
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], "ping", 4) == 4);
  CHECK(read(p[0], buf, sizeof buf) == 4 && memcmp(buf, "ping", 4) == 0);

  // A child writes more than the pipe holds at once; the parent reads it all.
  enum { TOTAL = 3000 };
  int pid = fork();
  if (pid == 0) {
    close(p[0]);
    char c[100];
    for (int sent = 0; sent < TOTAL; sent += 100) {
      for (int i = 0; i < 100; i++)
        c[i] = (char)(sent + i);
      if (write(p[1], c, 100) != 100)
        exit(1);
    }
    exit(0);
  }
  close(p[1]);                               // else the read below never sees end of file
  int got = 0, n, in_order = 1;
  while ((n = read(p[0], buf, 512)) > 0) {
    for (int i = 0; i < n; i++)
      in_order &= buf[i] == (char)(got + i);
    got += n;
  }
  CHECK(n == 0 && got == TOTAL && in_order);
  close(p[0]);
  int status = -1;
  CHECK(wait(&status) == pid && status == 0);

  // Writing to a pipe nobody can read from fails.
  CHECK(pipe(p) == 0);
  close(p[0]);
  CHECK(write(p[1], "x", 1) == -1);
  close(p[1]);
}

static void test_fork_wait_exit(void)
{
  int p[2];
  CHECK(pipe(p) == 0);
  int parent = getpid();
  int pid = fork();
  if (pid == 0) {
    int me = getpid();
    write(p[1], &me, sizeof me);
    exit(getpid() != parent ? 42 : 1);
  }
  CHECK(pid > 0);
  int child = 0;
  CHECK(read(p[0], &child, sizeof child) == sizeof child);
  CHECK(child == pid);                       // fork returned the child's pid
  int status = -1;
  CHECK(wait(&status) == pid);
  CHECK(status == 42);                       // exit's status reaches wait
  CHECK(wait(&status) == -1);                // no children left
  close(p[0]);
  close(p[1]);

  // wait may be given no place for the status.
  pid = fork();
  if (pid == 0)
    exit(3);
  CHECK(wait(0) == pid);

  // Several children: one wait each, every pid returned once.
  int pids[4], seen = 0;
  for (int i = 0; i < 4; i++) {
    pids[i] = fork();
    if (pids[i] == 0)
      exit(10 + i);
  }
  for (int i = 0; i < 4; i++) {
    int got = wait(&status);
    for (int j = 0; j < 4; j++) {
      if (got == pids[j] && status == 10 + j)
        seen |= 1 << j;
    }
  }
  CHECK(seen == 15);
  CHECK(wait(0) == -1);
}

// After fork each process has its own memory: neither sees the other's writes.
static int shared_global = 1;

static void test_cow(void)
{
  char *heap = sbrk(2 * PAGE);
  CHECK(heap != (char *)-1);
  heap[0] = 'h';
  heap[PAGE] = 'H';
  volatile int on_stack = 5;
  shared_global = 7;

  int pid = fork();
  if (pid == 0) {
    int ok = shared_global == 7 && heap[0] == 'h' && heap[PAGE] == 'H' && on_stack == 5;
    shared_global = 100;
    heap[0] = 'c';
    on_stack = 50;
    sleep(1);                                // the parent writes its copy meanwhile
    ok &= shared_global == 100 && heap[0] == 'c' && heap[PAGE] == 'H' && on_stack == 50;
    exit(ok ? 0 : 1);
  }
  shared_global = 200;
  heap[PAGE] = 'P';
  on_stack = 500;
  int status = -1;
  CHECK(wait(&status) == pid && status == 0);  // the child saw only its own writes
  CHECK(shared_global == 200 && heap[0] == 'h' && heap[PAGE] == 'P' && on_stack == 500);
  sbrk(-2 * PAGE);
}

static void test_sbrk(void)
{
  char *start = sbrk(0);
  char *old = sbrk(3 * PAGE);
  CHECK(old == start);
  CHECK(sbrk(0) == start + 3 * PAGE);
  int zeroed = 1;
  for (int i = 0; i < 3 * PAGE; i++)
    zeroed &= start[i] == 0;
  CHECK(zeroed);                             // new memory never shows old data
  memset(start, 0x5a, 3 * PAGE);

  CHECK(sbrk(-3 * PAGE) == start + 3 * PAGE);
  CHECK(sbrk(0) == start);
  sbrk(PAGE);                                // grow again: the page must be clean
  CHECK(start[0] == 0 && start[PAGE - 1] == 0);
  sbrk(-PAGE);

  CHECK(sbrk(1 << 30) == (char *)-1);        // 1 GiB: more than the machine has
  CHECK(sbrk(0) == start);

  // malloc is built on sbrk.
  char *a = malloc(100), *b = malloc(10000);
  CHECK(a && b && (b >= a + 100 || a >= b + 10000));
  memset(a, 1, 100);
  memset(b, 2, 10000);
  free(a);
  free(b);
}

// The kernel must refuse addresses the process does not own, not crash on them.
static void test_bad_pointers(void)
{
  char *unmapped = (char *)0x3000000000L;
  write_file("st_bad", "0123456789", 10);
  int fd = open("st_bad", O_RDWR);
  CHECK(read(fd, unmapped, 10) < 0);
  CHECK(write(fd, unmapped, 10) < 0);
  close(fd);
  CHECK(unlink("st_bad") == 0);
  CHECK(open(unmapped, O_RDONLY) < 0);
  CHECK(pipe((int *)unmapped) < 0);
  CHECK(fstat(0, (struct stat *)unmapped) < 0);
  CHECK(kstats((struct kstats *)unmapped) < 0);
  CHECK(exec(unmapped, 0) < 0);
}

static void test_kill(void)
{
  int pid = fork();
  if (pid == 0) {
    for (;;)                                 // spin in user mode: killed at the next trap
      ;
  }
  CHECK(kill(pid) == 0);
  int status = 0;
  CHECK(wait(&status) == pid);
  CHECK(status == -1);                       // a killed process exits with -1
  CHECK(kill(pid) < 0);                      // gone now
  CHECK(kill(99999) < 0);
}

static void test_sleep_uptime(void)
{
  int t0 = uptime();
  CHECK(sleep(2) == 0);
  int t1 = uptime();
  CHECK(t1 - t0 >= 2);
  CHECK(sleep(0) == 0);
}

static void test_exec(void)
{
  char *none[] = {"st_missing", 0};
  CHECK(exec("st_missing", none) == -1);     // exec returns only when it fails
  char *readme[] = {"README", 0};
  CHECK(exec("README", readme) == -1);       // not an ELF file

  // A successful exec, its output captured in a file.
  int pid = fork();
  if (pid == 0) {
    close(1);
    if (open("st_out", O_CREATE | O_TRUNC | O_WRONLY) != 1)
      exit(2);
    char *argv[] = {"echo", "hello", "from", "exec", 0};
    exec("echo", argv);
    exit(3);
  }
  int status = -1;
  CHECK(wait(&status) == pid && status == 0);
  CHECK(read_file("st_out") >= 0 && strcmp(buf, "hello from exec\n") == 0);
  CHECK(unlink("st_out") == 0);
}

// printf's conversions, captured through a pipe.
static void test_printf(void)
{
  int p[2];
  CHECK(pipe(p) == 0);
  fprintf(p[1], "%d %u %x %s %c %% %ld %lu %lx %p|", -42, 42u, 0xbeefu, "str", 'c',
          -(1L << 40), 18446744073709551615UL, 0xfedcba9876543210UL, (void *)0x1234);
  fprintf(p[1], "%d %d %s|", 0, -2147483647 - 1, (char *)0);
  close(p[1]);
  int n = 0, r;
  while ((r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0)
    n += r;
  buf[n] = 0;
  close(p[0]);
  CHECK(strcmp(buf, "-42 42 beef str c % -1099511627776 18446744073709551615 fedcba9876543210 "
                    "0x0000000000001234|0 -2147483648 (null)|") == 0);
}

// Many blocks of many sizes: none may overlap another, and freed memory is reused.
static void test_malloc(void)
{
  enum { N = 60 };
  char *blocks[N];
  for (int i = 0; i < N; i++) {
    blocks[i] = malloc(1 + i * 37);
    CHECK(blocks[i] != 0);
    memset(blocks[i], i, 1 + i * 37);
  }
  for (int i = 0; i < N; i += 2)
    free(blocks[i]);
  for (int i = 0; i < N; i += 2) {
    blocks[i] = malloc(1 + i * 37);
    memset(blocks[i], i, 1 + i * 37);
  }
  int intact = 1;
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < 1 + i * 37; j++)
      intact &= blocks[i][j] == (char)i;
  }
  CHECK(intact);
  for (int i = 0; i < N; i++)
    free(blocks[i]);
  char *top = sbrk(0);
  char *big = malloc(20000);                 // fits in the merged free space: no new sbrk
  CHECK(big != 0 && sbrk(0) == top);
  free(big);
}

static void test_kstats(void)
{
  struct kstats ks;
  CHECK(kstats(&ks) == 0);
  CHECK(ks.free_pages > 0);
  CHECK(ks.pages_allocated > 0);
  CHECK(getpid() > 0);
}

struct test {
  const char *name;
  void (*run)(void);
};

static struct test tests[] = {
  {"files", test_files},
  {"big file", test_big_file},
  {"links", test_links},
  {"directories", test_directories},
  {"devices", test_devices},
  {"dup", test_dup},
  {"open file limit", test_fd_limit},
  {"pipes", test_pipes},
  {"fork, wait, exit", test_fork_wait_exit},
  {"copy-on-write", test_cow},
  {"sbrk and malloc", test_sbrk},
  {"bad pointers", test_bad_pointers},
  {"kill", test_kill},
  {"sleep and uptime", test_sleep_uptime},
  {"exec", test_exec},
  {"kstats", test_kstats},
  {"printf", test_printf},
  {"malloc", test_malloc},
};

int main(void)
{
  int n = sizeof tests / sizeof tests[0];
  for (int i = 0; i < n; i++) {
    int before = failures;
    printf("selftest: %s\n", tests[i].name);
    tests[i].run();
    if (failures != before)
      printf("selftest: %s FAILED\n", tests[i].name);
  }
  if (failures) {
    printf("%d CHECKS FAILED\n", failures);
    exit(1);
  }
  printf("ALL TESTS PASSED\n");
  exit(0);
}
