// The console: device major CONSOLE (1), reached through devsw[] by
// reading and writing a T_DEVICE file (init makes it with mknod).
//
// Writes go to the UART byte by byte. Reads see whole lines: typed bytes
// collect in an edit buffer, echoed as they come, and a reader gets them
// only when the line is finished by Enter, by ^D (end of file), or by the
// buffer filling up. Until then the line can be edited:
//   Backspace (^H) or Delete   erase the last character
//   ^U                         erase the whole line
//   ^D                         end of file: a read at the start of a line returns 0
//   ^P                         list the processes (debugging aid)

#include "types.h"
#include "param.h"
#include "spinlock.h"
#include "sleeplock.h"
#include "fs.h"
#include "file.h"
#include "memlayout.h"
#include "riscv.h"
#include "defs.h"
#include "proc.h"

#define CTRL(x) ((x) - '@')   // the code Control-x sends
#define BACKSPACE 0x100       // consputc(): erase one character on screen

// Show one character on the console now (synchronously): used by printf
// and to echo input, which may happen with interrupts off.
void
consputc(int c)
{
  if (c == BACKSPACE) {
    // Step back, overwrite with a space, step back again.
    uartputc_sync('\b');
    uartputc_sync(' ');
    uartputc_sync('\b');
  } else {
    uartputc_sync(c);
  }
}

// The input buffer is a ring of INPUT_BUF_SIZE bytes with three counters
// that only grow (positions are taken modulo the size):
//   r  next byte a reader will get
//   w  end of the finished lines: readers may take bytes up to here
//   e  end of the line being edited: bytes between w and e can still change
#define INPUT_BUF_SIZE 128
static struct {
  struct spinlock lock;
  char buf[INPUT_BUF_SIZE];
  uint r;
  uint w;
  uint e;
  int rx_paused;   // the buffer was full: the UART's receive interrupt is off
} cons;

// write() to the console: send n bytes from src (user or kernel address).
static int
consolewrite(int user_src, uint64 src, int n)
{
  int i;
  for (i = 0; i < n; i++) {
    char c;
    if (either_copyin(&c, user_src, src + i, 1) == -1)
      break;
    uartputc(c);
  }
  return i;
}

// read() from the console: at most n bytes of finished input, stopping
// after a newline. Sleeps until a line is finished. Returns 0 at ^D.
static int
consoleread(int user_dst, uint64 dst, int n)
{
  int want = n;

  acquire(&cons.lock);
  while (n > 0) {
    while (cons.r == cons.w) {   // nothing finished yet: wait for Enter
      if (killed(myproc())) {
        release(&cons.lock);
        return -1;
      }
      sleep(&cons.r, &cons.lock);
    }

    int c = cons.buf[cons.r % INPUT_BUF_SIZE];
    cons.r++;

    if (c == CTRL('D')) {
      if (n < want) {
        // We already have bytes for this read: return those, and leave
        // the ^D for the next read, which then returns 0.
        cons.r--;
      }
      break;
    }

    char byte = c;
    if (either_copyout(user_dst, dst, &byte, 1) == -1)
      break;
    dst++;
    n--;
    if (c == '\n')
      break;   // one line per read
  }
  if (cons.rx_paused) {
    // We made room: let the bytes waiting in the UART come in.
    cons.rx_paused = 0;
    uartrxintr(1);
  }
  release(&cons.lock);
  return want - n;
}

// May uartintr() hand us another byte? When the buffer is full, no: the
// byte stays in the UART, and its receive interrupt is switched off until
// consoleread() makes room (otherwise it would interrupt forever).
int
consolewantsinput(void)
{
  acquire(&cons.lock);
  int room = cons.e - cons.r < INPUT_BUF_SIZE;
  if (!room && !cons.rx_paused) {
    cons.rx_paused = 1;
    uartrxintr(0);
  }
  release(&cons.lock);
  return room;
}

// The UART received c: edit the current line, or finish it.
void
consoleintr(int c)
{
  acquire(&cons.lock);

  switch (c) {
  case CTRL('P'):
    procdump();
    break;
  case CTRL('U'):
    while (cons.e != cons.w && cons.buf[(cons.e - 1) % INPUT_BUF_SIZE] != '\n') {
      cons.e--;
      consputc(BACKSPACE);
    }
    break;
  case CTRL('H'):
  case 0x7f:   // the Delete key most terminals send for Backspace
    if (cons.e != cons.w) {
      cons.e--;
      consputc(BACKSPACE);
    }
    break;
  default:
    if (c != 0 && cons.e - cons.r < INPUT_BUF_SIZE) {
      if (c == '\r')
        c = '\n';   // terminals send CR for Enter
      if (c != CTRL('D'))
        consputc(c);   // echo
      cons.buf[cons.e % INPUT_BUF_SIZE] = c;
      cons.e++;
      if (c == '\n' || c == CTRL('D') || cons.e - cons.r == INPUT_BUF_SIZE) {
        // The line is finished: hand it to readers.
        cons.w = cons.e;
        wakeup(&cons.r);
      }
    }
    break;
  }

  release(&cons.lock);
}

void
consoleinit(void)
{
  initlock(&cons.lock, "cons");
  uartinit();
  devsw[CONSOLE].read = consoleread;
  devsw[CONSOLE].write = consolewrite;
}
