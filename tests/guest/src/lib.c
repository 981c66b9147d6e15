#include "lib.h"

void putc_(char c)
{
    while (!(REG8(UART0 + 5) & 0x20))   /* LSR.THRE */
        ;
    REG8(UART0) = c;
}

void puts_(const char *s)
{
    while (*s)
        putc_(*s++);
}

void puthex(uint64_t v)
{
    char buf[19];
    int i = 18;
    buf[i] = 0;
    do {
        buf[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    buf[--i] = 'x';
    buf[--i] = '0';
    puts_(buf + i);
}

void putdec(uint64_t v)
{
    char buf[21];
    int i = 20;
    buf[i] = 0;
    do {
        buf[--i] = '0' + v % 10;
        v /= 10;
    } while (v);
    puts_(buf + i);
}

int getc_poll(void)
{
    if (REG8(UART0 + 5) & 1)
        return REG8(UART0);
    return -1;
}

void guest_exit(int code)
{
    REG32(TESTDEV) = code == 0 ? 0x5555 : ((uint32_t)code << 16) | 0x3333;
    for (;;)
        ;
}

void *memset(void *d, int c, unsigned long n)
{
    char *p = d;
    while (n--)
        *p++ = c;
    return d;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
    char *p = d;
    const char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}
