// The memory and string routines the kernel needs. The compiler also calls
// memset/memcpy/memmove on its own (struct copies), so they must exist.
// Page-sized work (zeroing, copying) is common, so aligned runs move 8 bytes
// at a time.

#include "types.h"
#include "defs.h"

static int aligned8(const void *a, const void *b, uint n)
{
  return (((uint64)a | (uint64)b | n) & 7) == 0;
}

void *memset(void *dst, int c, uint n)
{
  if (c == 0 && aligned8(dst, 0, n)) {
    // Clearing whole pages is the common case (kalloc): 64 bytes a round.
    uint64 *d = dst, *end = d + n / 8;
    for (; d + 8 <= end; d += 8) {
      d[0] = 0;
      d[1] = 0;
      d[2] = 0;
      d[3] = 0;
      d[4] = 0;
      d[5] = 0;
      d[6] = 0;
      d[7] = 0;
    }
    for (; d < end; d++)
      *d = 0;
    return dst;
  }
  char *d = dst;
  for (uint i = 0; i < n; i++)
    d[i] = c;
  return dst;
}

int memcmp(const void *a, const void *b, uint n)
{
  const uchar *p = a, *q = b;
  for (uint i = 0; i < n; i++) {
    if (p[i] != q[i])
      return p[i] - q[i];
  }
  return 0;
}

// Copy n bytes; the areas may overlap.
void *memmove(void *dst, const void *src, uint n)
{
  if (n == 0 || dst == src)
    return dst;
  if (aligned8(dst, src, n)) {
    uint64 *d = dst;
    const uint64 *s = src;
    uint words = n / 8;
    if (d < s || d >= s + words) {
      // Forward copy, 32 bytes a round (whole pages: fork, copy-on-write).
      uint i = 0;
      for (; i + 4 <= words; i += 4) {
        uint64 a = s[i], b = s[i + 1], c = s[i + 2], e = s[i + 3];
        d[i] = a;
        d[i + 1] = b;
        d[i + 2] = c;
        d[i + 3] = e;
      }
      for (; i < words; i++)
        d[i] = s[i];
    } else {
      for (uint i = words; i > 0; i--)
        d[i - 1] = s[i - 1];
    }
    return dst;
  }
  char *d = dst;
  const char *s = src;
  if (d < s || d >= s + n) {
    for (uint i = 0; i < n; i++)
      d[i] = s[i];
  } else {
    for (uint i = n; i > 0; i--)
      d[i - 1] = s[i - 1];
  }
  return dst;
}

void *memcpy(void *dst, const void *src, uint n)
{
  return memmove(dst, src, n);
}

int strncmp(const char *p, const char *q, uint n)
{
  for (; n > 0 && *p && *p == *q; n--, p++, q++)
    ;
  if (n == 0)
    return 0;
  return (uchar)*p - (uchar)*q;
}

// Like C's strncpy: pads with zeros, and does NOT terminate when src is long.
char *strncpy(char *dst, const char *src, int n)
{
  int i = 0;
  for (; i < n && src[i]; i++)
    dst[i] = src[i];
  for (; i < n; i++)
    dst[i] = 0;
  return dst;
}

// Copy at most n-1 characters and always terminate.
char *safestrcpy(char *dst, const char *src, int n)
{
  if (n <= 0)
    return dst;
  int i = 0;
  for (; i < n - 1 && src[i]; i++)
    dst[i] = src[i];
  dst[i] = 0;
  return dst;
}

int strlen(const char *s)
{
  int n = 0;
  while (s[n])
    n++;
  return n;
}
