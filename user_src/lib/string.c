// Strings and memory for user programs.
//
// The compiler may also call memset/memcpy/memmove on its own (to clear a
// large local array, to copy a struct), so every program needs these even if
// it never names them.

#include "user.h"

char *strcpy(char *dst, const char *src)
{
  char *start = dst;
  while ((*dst++ = *src++) != 0)
    ;
  return start;
}

int strcmp(const char *a, const char *b)
{
  while (*a && *a == *b) {
    a++;
    b++;
  }
  return (uchar)*a - (uchar)*b;
}

uint strlen(const char *s)
{
  uint n = 0;
  while (s[n])
    n++;
  return n;
}

void *memset(void *dst, int c, uint n)
{
  uchar *d = dst;
  for (uint i = 0; i < n; i++)
    d[i] = (uchar)c;
  return dst;
}

// Correct for overlapping buffers: copies backwards when dst lies above src.
void *memmove(void *dst, const void *src, int n)
{
  uchar *d = dst;
  const uchar *s = src;
  if (n <= 0)
    return dst;
  if (d > s && d < s + n) {
    while (n-- > 0)
      d[n] = s[n];
  } else {
    for (int i = 0; i < n; i++)
      d[i] = s[i];
  }
  return dst;
}

void *memcpy(void *dst, const void *src, uint n)
{
  return memmove(dst, src, (int)n);
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

char *strchr(const char *s, char c)
{
  for (; *s; s++) {
    if (*s == c)
      return (char *)s;
  }
  return 0;
}

// Decimal digits at the start of s, with an optional leading '-'.
int atoi(const char *s)
{
  int sign = 1, n = 0;
  if (*s == '-') {
    sign = -1;
    s++;
  }
  while (*s >= '0' && *s <= '9')
    n = n * 10 + (*s++ - '0');
  return sign * n;
}
