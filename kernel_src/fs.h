// The on-disk file system format (xv6's, byte for byte).
//
// The disk is an array of BSIZE-byte blocks:
//
//   [ boot | super | log header, log blocks | inodes | bitmap | data blocks ]
//     0      1       sb.logstart              ...      ...      ...
//
// rvtrace/fs/layout.py describes the same format for the Python mkfs; the
// test tests/fs/test_kernel_headers.py checks the two agree.
#ifndef KERNEL_FS_H
#define KERNEL_FS_H

#include "types.h"

#define BSIZE 1024          // block size in bytes
#define FSMAGIC 0x10203040  // superblock.magic of a valid file system
#define ROOTINO 1           // inode number of the root directory "/"

// Block 1. Written by mkfs, only ever read by the kernel.
struct superblock {
  uint magic;       // FSMAGIC
  uint size;        // blocks in the whole image
  uint nblocks;     // data blocks
  uint ninodes;     // inodes
  uint nlog;        // blocks of the log region (header included)
  uint logstart;    // first block of the log region (the header)
  uint inodestart;  // first inode block
  uint bmapstart;   // first free-bitmap block
};

// An inode addresses its first NDIRECT blocks directly; block NDIRECT of
// addrs[] is an "indirect" block holding NINDIRECT more block numbers.
#define NDIRECT 12
#define NINDIRECT (BSIZE / sizeof(uint))
#define MAXFILE (NDIRECT + NINDIRECT)   // largest file, in blocks

// An inode on disk. type == 0 marks a free inode.
struct dinode {
  short type;               // T_DIR, T_FILE, T_DEVICE (stat.h) or 0
  short major;              // device numbers, for T_DEVICE
  short minor;
  short nlink;              // directory entries naming this inode
  uint size;                // bytes of content
  uint addrs[NDIRECT + 1];  // block numbers; 0 = not allocated yet
};

#define IPB (BSIZE / sizeof(struct dinode))      // inodes per block
#define IBLOCK(i, sb) ((i) / IPB + (sb).inodestart) // block holding inode i

#define BPB (BSIZE * 8)                          // bitmap bits per block
#define BBLOCK(b, sb) ((b) / BPB + (sb).bmapstart)  // bitmap block for block b

// A directory is a file holding an array of these. inum == 0: unused slot.
#define DIRSIZ 14
struct dirent {
  ushort inum;
  char name[DIRSIZ];   // not NUL-terminated when it is exactly DIRSIZ long
};

_Static_assert(sizeof(struct dinode) == 64, "dinode must be 64 bytes on disk");
_Static_assert(BSIZE % sizeof(struct dinode) == 0, "inodes must not straddle blocks");
_Static_assert(sizeof(struct dirent) == 16, "dirent must be 16 bytes on disk");

#endif
