// Open files, in-memory inodes and the device switch.
#ifndef KERNEL_FILE_H
#define KERNEL_FILE_H

#include "types.h"
#include "sleeplock.h"
#include "fs.h"

// An open file: what a file descriptor points to. Shared by dup() and fork().
struct file {
  enum { FD_NONE, FD_PIPE, FD_INODE, FD_DEVICE } type;
  int ref;             // file descriptors (in any process) pointing here
  char readable;
  char writable;
  struct pipe *pipe;   // FD_PIPE
  struct inode *ip;    // FD_INODE and FD_DEVICE
  uint off;            // FD_INODE: where the next read or write happens
  short major;         // FD_DEVICE: index into devsw[]
};

// An inode in memory. The fields above `lock` are protected by itable.lock
// (fs.c); the copy of the disk inode below it by the inode's sleeplock.
struct inode {
  uint dev;
  uint inum;
  int ref;                 // in-memory references (open files, cwd, ...)
  struct sleeplock lock;
  int valid;               // the fields below have been read from disk

  short type;              // copy of struct dinode
  short major;
  short minor;
  short nlink;
  uint size;
  uint addrs[NDIRECT + 1];
};

// Device drivers: reads and writes of a T_DEVICE file go to devsw[major].
// user_addr says whether addr is a user virtual address or a kernel pointer.
struct devsw {
  int (*read)(int user_addr, uint64 addr, int n);
  int (*write)(int user_addr, uint64 addr, int n);
};

extern struct devsw devsw[];

#define CONSOLE 1   // major number of the console

#endif
