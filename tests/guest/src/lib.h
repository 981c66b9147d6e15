/* A tiny runtime for bare-metal test guests: console, exit, CSRs, devices. */
#pragma once
#include <stdint.h>

#define UART0    0x10000000UL
#define TESTDEV  0x100000UL
#define CLINT    0x2000000UL
#define PLIC     0xc000000UL
#define VIRTIO0  0x10001000UL

#define CLINT_MSIP(h)     (CLINT + 4 * (h))
#define CLINT_MTIMECMP(h) (CLINT + 0x4000 + 8 * (h))
#define CLINT_MTIME       (CLINT + 0xbff8)

#define REG32(a) (*(volatile uint32_t *)(a))
#define REG64(a) (*(volatile uint64_t *)(a))
#define REG8(a)  (*(volatile uint8_t *)(a))

#define csr_read(csr) ({ uint64_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" :: "r"((uint64_t)(v)))
#define csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" :: "r"((uint64_t)(v)))
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" :: "r"((uint64_t)(v)))

void putc_(char c);
void puts_(const char *s);
void puthex(uint64_t v);
void putdec(uint64_t v);
int getc_poll(void);                 /* -1 when nothing has arrived */
void guest_exit(int code) __attribute__((noreturn));
void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
int guest_main(uint64_t hartid, uint64_t fdt);
