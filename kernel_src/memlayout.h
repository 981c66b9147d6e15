// Physical memory map of the QEMU "virt" board (rvtrace's machine uses the
// same map) and the virtual layout the kernel builds on top of it.
//
// Physical:
//   0x00100000  test device (power off / reboot)
//   0x02000000  CLINT (we do not touch it: the timer is Sstc's stimecmp)
//   0x0C000000  PLIC
//   0x10000000  UART0 16550
//   0x10001000  virtio-mmio disk
//   0x80000000  RAM: the kernel is loaded here, the rest is free pages
//
// Kernel virtual addresses equal physical ones (direct map) up to ram_end;
// above that, at the top of the address space, sit the trampoline page and
// the per-process kernel stacks (each below an unmapped guard page).
#ifndef KERNEL_MEMLAYOUT_H
#define KERNEL_MEMLAYOUT_H

#define TESTDEV 0x100000L        // SiFive test finisher

#define UART0 0x10000000L
#define UART0_IRQ 10

#define VIRTIO0 0x10001000L
#define VIRTIO0_IRQ 1

// Platform-level interrupt controller. Context 2*hart+1 is hart's S mode.
#define PLIC 0x0c000000L
#define PLIC_PRIORITY(irq)    (PLIC + 4 * (irq))
#define PLIC_SENABLE(hart)    (PLIC + 0x2080 + (hart) * 0x100)
#define PLIC_SPRIORITY(hart)  (PLIC + 0x201000 + (hart) * 0x2000)
#define PLIC_SCLAIM(hart)     (PLIC + 0x201004 + (hart) * 0x2000)
#define PLIC_SIZE 0x400000L

#define KERNBASE 0x80000000L
// The most RAM the kernel uses: 128 MiB. The device tree says how much the
// board really has; kalloc.c's ram_end is the smaller of the two.
#define PHYSTOP (KERNBASE + 128 * 1024 * 1024)

// The trampoline page (user<->kernel transition code) is mapped at the same
// virtual address in the kernel and in every user page table.
#define TRAMPOLINE (MAXVA - PGSIZE)

// Kernel stack of process slot p: KSTACKPAGES pages, a guard page below.
#define KSTACK(p) (TRAMPOLINE - ((p) + 1) * (KSTACKPAGES + 1) * PGSIZE)

// User address space:
//   0            text, data, bss (from the ELF)
//   ...          guard page, user stack, heap (grown by sbrk)
//   TRAPFRAME    the process's trapframe (kernel-only page)
//   TRAMPOLINE   the trampoline code
#define TRAPFRAME (TRAMPOLINE - PGSIZE)

#endif
