// init: the first user process (the kernel execs /init with argv ["init", command...]).
//
// It sets up the console as file descriptors 0, 1 and 2, which every other
// process inherits through fork. Then:
//   - with a command (argv[1...]): run it, wait for it, and power the machine
//     off with its exit status, so `rvtrace run PROGRAM` exits like PROGRAM;
//   - without one: run the shell, and start a new one whenever it exits.
// init prints nothing of its own on success: the console of a run is exactly
// the program's output.

#include "user.h"

#define CONSOLE_MAJOR 1       // the console device's major number (xv6's CONSOLE)

static void open_console(void)
{
  if (open("console", O_RDWR) < 0) {
    // A fresh disk image has no device file yet: make it.
    mknod("console", CONSOLE_MAJOR, 0);
    if (open("console", O_RDWR) < 0)
      poweroff(126);          // nowhere to even print a message
  }
  dup(0);                     // fd 1: standard output
  dup(0);                     // fd 2: standard error
}

// Start argv[0] with arguments argv in a child; returns the child's pid.
static int start(char **argv)
{
  int pid = fork();
  if (pid < 0) {
    fprintf(2, "init: fork failed\n");
    poweroff(125);
  }
  if (pid == 0) {
    exec(argv[0], argv);
    fprintf(2, "init: cannot run %s: no such program\n", argv[0]);
    exit(127);
  }
  return pid;
}

// Wait until child `pid` exits and return its status. Orphans are handed to
// init when their parent exits first; they are reaped here along the way.
static int wait_for(int pid)
{
  for (;;) {
    int status = 0;
    int done = wait(&status);
    if (done == pid)
      return status;
    if (done < 0)             // cannot happen while pid lives; do not spin
      return 125;
  }
}

int main(int argc, char *argv[])
{
  open_console();

  if (argc > 1) {
    int status = wait_for(start(argv + 1));
    poweroff(status & 0xff);  // like a Unix shell's exit code: the low 8 bits
  }

  for (;;) {
    char *sh[] = {"sh", 0};
    wait_for(start(sh));
  }
}
