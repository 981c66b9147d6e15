// Kernel printf (to the console) and panic.
//
// Formats: %d %u %x %p %s %c %%, with an optional l or ll before d/u/x for
// 64-bit values. A lock keeps lines from different harts apart.

#include <stdarg.h>

#include "types.h"
#include "param.h"
#include "riscv.h"
#include "spinlock.h"
#include "proc.h"
#include "defs.h"

// Set once a panic starts; the console stops other harts' output then.
volatile int panicked = 0;

static struct {
  struct spinlock lock;
  int locking;   // 0 while panicking: print even if the lock is stuck
} pr;

static const char digits[] = "0123456789abcdef";

static void printnum(uint64 x, int base, int is_signed)
{
  char buf[24];
  int neg = is_signed && (long)x < 0;
  if (neg)
    x = -(long)x;
  int i = 0;
  do {
    buf[i++] = digits[x % base];
    x /= base;
  } while (x != 0);
  if (neg)
    buf[i++] = '-';
  while (--i >= 0)
    consputc(buf[i]);
}

static void printptr(uint64 x)
{
  consputc('0');
  consputc('x');
  for (int i = 0; i < 16; i++, x <<= 4)
    consputc(digits[x >> 60]);
}

static void printstr(const char *s)
{
  if (s == 0)
    s = "(null)";
  for (; *s; s++)
    consputc(*s);
}

// Print one conversion; `fmt` points at the character after '%'. Returns
// how many format characters it used.
static int printone(const char *fmt, va_list *ap)
{
  int longs = 0;
  while (fmt[longs] == 'l')
    longs++;
  char c = fmt[longs];
  switch (c) {
  case 'd':
    printnum(longs ? va_arg(*ap, long) : (long)va_arg(*ap, int), 10, 1);
    break;
  case 'u':
    printnum(longs ? va_arg(*ap, uint64) : va_arg(*ap, uint), 10, 0);
    break;
  case 'x':
    printnum(longs ? va_arg(*ap, uint64) : va_arg(*ap, uint), 16, 0);
    break;
  case 'p':
    printptr(va_arg(*ap, uint64));
    break;
  case 's':
    printstr(va_arg(*ap, char *));
    break;
  case 'c':
    consputc(va_arg(*ap, int));
    break;
  case '%':
    consputc('%');
    break;
  case 0:
    return longs;   // a lone '%' at the end
  default:          // unknown: show it as written
    consputc('%');
    consputc(c);
    break;
  }
  return longs + 1;
}

int printf(const char *fmt, ...)
{
  va_list ap;
  int locking = pr.locking;
  if (locking)
    acquire(&pr.lock);
  va_start(ap, fmt);
  for (int i = 0; fmt[i]; i++) {
    if (fmt[i] != '%')
      consputc(fmt[i]);
    else
      i += printone(fmt + i + 1, &ap);
  }
  va_end(ap);
  if (locking)
    release(&pr.lock);
  return 0;
}

// The kernel stack fp lies on: the running process's kernel stack, or this
// hart's boot stack (the scheduler's). 0 when fp is on neither.
static int stack_bounds(uint64 fp, uint64 *lo, uint64 *hi)
{
  extern char stack0[];
  struct proc *p = mycpu()->proc;
  if (p && fp > p->kstack && fp <= p->kstack + KSTACKPAGES * PGSIZE) {
    *lo = p->kstack;
    *hi = p->kstack + KSTACKPAGES * PGSIZE;
    return 1;
  }
  *lo = (uint64)stack0 + cpuid() * BOOTSTACK;
  *hi = *lo + BOOTSTACK;
  return fp > *lo && fp <= *hi;
}

// Print the return addresses of the calls that led here, by walking the
// frame-pointer chain (the kernel is built with -fno-omit-frame-pointer).
// RISC-V keeps the return address at fp-8 and the caller's fp at fp-16.
// `addr2line -e kernel.elf ADDR` (or rvtrace's bt) turns them into lines.
void backtrace(void)
{
  uint64 fp = r_fp(), lo, hi;
  printf("backtrace:\n");
  if (!stack_bounds(fp, &lo, &hi))
    return;
  for (int depth = 0; depth < 32 && fp >= lo + 16 && fp <= hi; depth++) {
    uint64 ra = *(uint64 *)(fp - 8);
    if (ra == 0)   // uservec starts the chain with ra = 0
      break;
    printf("  %p\n", ra);
    fp = *(uint64 *)(fp - 16);
  }
}

// Stop the kernel: print why, where from, and power the board off with a
// failure status so a test run ends instead of hanging.
void panic(const char *msg)
{
  pr.locking = 0;
  printf("panic: %s\n", msg);
  backtrace();
  panicked = 1;
  poweroff(101);
}

void printfinit(void)
{
  initlock(&pr.lock, "pr");
  pr.locking = 1;
}
