// One block of the disk held in memory by the buffer cache (bio.c).
#ifndef KERNEL_BUF_H
#define KERNEL_BUF_H

#include "types.h"
#include "sleeplock.h"
#include "fs.h"

struct buf {
  int valid;               // data[] holds the block's contents
  int disk;                // 1 while the disk driver owns the buffer
  uint dev;
  uint blockno;
  struct sleeplock lock;   // held by the one process using data[]
  uint refcnt;             // references (bget/bpin); 0 = may be recycled
  struct buf *prev;        // least/most recently used list (bio.c)
  struct buf *next;
  uchar data[BSIZE];
};

#endif
