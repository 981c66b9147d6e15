// Formatted output and line input.
//
// Every character goes out in its own write() system call. That is slow, and
// it is on purpose: it is how xv6's printf behaves, and it is what lets two
// processes' output interleave character by character -- the effect the
// fork/exec lecture asks students to explain, and that a trace makes visible.

#include "user.h"

typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type) __builtin_va_arg(ap, type)
#define va_end(ap) __builtin_va_end(ap)

static const char DIGITS[] = "0123456789abcdef";

static void putc(int fd, char c)
{
  write(fd, &c, 1);
}

// Print x in the given base; when is_signed, x is read as a two's-complement number.
static void put_number(int fd, uint64 x, int base, int is_signed)
{
  char buf[24];
  int i = 0;
  int negative = is_signed && (long)x < 0;
  if (negative)
    x = -x;
  do {
    buf[i++] = DIGITS[x % base];
    x /= base;
  } while (x != 0);
  if (negative)
    buf[i++] = '-';
  while (--i >= 0)
    putc(fd, buf[i]);
}

static void put_pointer(int fd, uint64 x)
{
  putc(fd, '0');
  putc(fd, 'x');
  for (int shift = 60; shift >= 0; shift -= 4)
    putc(fd, DIGITS[(x >> shift) & 0xf]);
}

// The conversions: %d %u %x %p %s %c %%, with l or ll before d/u/x for 64-bit values.
static void vprintf(int fd, const char *fmt, va_list ap)
{
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      putc(fd, *fmt);
      continue;
    }
    fmt++;
    int longs = 0;
    while (*fmt == 'l') {
      longs++;
      fmt++;
    }
    switch (*fmt) {
    case 'd':
      put_number(fd, longs ? va_arg(ap, long) : va_arg(ap, int), 10, 1);
      break;
    case 'u':
      put_number(fd, longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int), 10, 0);
      break;
    case 'x':
      put_number(fd, longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int), 16, 0);
      break;
    case 'p':
      put_pointer(fd, (uint64)va_arg(ap, void *));
      break;
    case 's': {
      const char *s = va_arg(ap, const char *);
      if (s == 0)
        s = "(null)";
      while (*s)
        putc(fd, *s++);
      break;
    }
    case 'c':
      putc(fd, (char)va_arg(ap, int));
      break;
    case '%':
      putc(fd, '%');
      break;
    case 0:           // a lone '%' at the very end
      return;
    default:          // unknown: print it as written, so the mistake is visible
      putc(fd, '%');
      putc(fd, *fmt);
      break;
    }
  }
}

void printf(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vprintf(1, fmt, ap);
  va_end(ap);
}

void fprintf(int fd, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vprintf(fd, fmt, ap);
  va_end(ap);
}

// Read one line from fd 0 into buf, one character per read(), keeping the
// newline. At end of input buf holds what was read so far (maybe "").
char *gets(char *buf, int max)
{
  int i = 0;
  while (i + 1 < max) {
    char c;
    if (read(0, &c, 1) < 1)
      break;
    buf[i++] = c;
    if (c == '\n' || c == '\r')
      break;
  }
  buf[i] = 0;
  return buf;
}
