// Fixed-width integer names used throughout the kernel.
// RV64: int is 32 bits, long and pointers are 64 bits.
#ifndef KERNEL_TYPES_H
#define KERNEL_TYPES_H

typedef unsigned int   uint;
typedef unsigned short ushort;
typedef unsigned char  uchar;

typedef unsigned char      uint8;
typedef unsigned short     uint16;
typedef unsigned int       uint32;
typedef unsigned long      uint64;

// A page-table entry and a pointer to a page table (an array of 512 PTEs).
typedef uint64 pte_t;
typedef uint64 *pagetable_t;

#endif
