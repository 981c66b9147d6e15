// The parts of the ELF64 format exec() needs (see the System V ABI / ELF
// specification): the file header and the program headers.
#ifndef KERNEL_ELF_H
#define KERNEL_ELF_H

#include "types.h"

#define ELF_MAGIC 0x464C457FU   // "\x7FELF", read as a little-endian word
#define ELFCLASS64 2
#define EM_RISCV 243

struct elfhdr {
  uint32 magic;
  uchar ident[12];   // class, data, version, OS ABI, padding
  uint16 type;
  uint16 machine;
  uint32 version;
  uint64 entry;      // where execution starts
  uint64 phoff;      // file offset of the program headers
  uint64 shoff;
  uint32 flags;
  uint16 ehsize;
  uint16 phentsize;
  uint16 phnum;      // number of program headers
  uint16 shentsize;
  uint16 shnum;
  uint16 shstrndx;
};

struct proghdr {
  uint32 type;
  uint32 flags;
  uint64 off;        // file offset of the segment's bytes
  uint64 vaddr;      // where they go in memory
  uint64 paddr;
  uint64 filesz;     // bytes taken from the file
  uint64 memsz;      // bytes in memory (the rest is zero: .bss)
  uint64 align;
};

#define ELF_PROG_LOAD 1

#define ELF_PROG_FLAG_EXEC  1
#define ELF_PROG_FLAG_WRITE 2
#define ELF_PROG_FLAG_READ  4

#endif
