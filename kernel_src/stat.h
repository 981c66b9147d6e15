// What fstat() reports about a file. Shared by the kernel and user programs,
// and laid out exactly like xv6's so xv6 programs compile unchanged.
#ifndef KERNEL_STAT_H
#define KERNEL_STAT_H

#define T_DIR     1   // directory
#define T_FILE    2   // regular file
#define T_DEVICE  3   // device (console): reads and writes go to a driver

struct stat {
  int dev;      // device holding the file system
  uint ino;     // inode number
  short type;   // T_DIR, T_FILE or T_DEVICE
  short nlink;  // directory entries naming this inode
  uint64 size;  // bytes
};

#endif
