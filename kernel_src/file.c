// Open files: what a file descriptor refers to.
//
// open() and pipe() take a struct file from the table below; dup() and
// fork() share it (ref counts the descriptors pointing at it), so processes
// sharing a file also share its offset, as in Unix. A file is a pipe, an
// inode (regular file or directory), or a device reached through devsw[].

#include "types.h"
#include "riscv.h"
#include "defs.h"
#include "param.h"
#include "fs.h"
#include "spinlock.h"
#include "sleeplock.h"
#include "file.h"
#include "stat.h"
#include "proc.h"

// Device drivers by major number; the console fills devsw[CONSOLE].
struct devsw devsw[NDEV];

static struct {
  struct spinlock lock;
  struct file file[NFILE];
} ftable;

void
fileinit(void)
{
  initlock(&ftable.lock, "ftable");
}

// A fresh struct file with ref 1, or 0 when the table is full.
struct file *
filealloc(void)
{
  acquire(&ftable.lock);
  for (struct file *f = ftable.file; f < ftable.file + NFILE; f++) {
    if (f->ref == 0) {
      f->ref = 1;
      release(&ftable.lock);
      return f;
    }
  }
  release(&ftable.lock);
  return 0;
}

struct file *
filedup(struct file *f)
{
  acquire(&ftable.lock);
  if (f->ref < 1)
    panic("filedup: file is not open");
  f->ref++;
  release(&ftable.lock);
  return f;
}

// Drop a reference; the last one closes the pipe end or releases the inode.
void
fileclose(struct file *f)
{
  acquire(&ftable.lock);
  if (f->ref < 1)
    panic("fileclose: file is not open");
  if (--f->ref > 0) {
    release(&ftable.lock);
    return;
  }
  // Last reference: copy what we need and free the slot before doing the
  // slow part (the pipe lock, or a disk transaction) without ftable.lock.
  struct file copy = *f;
  f->ref = 0;
  f->type = FD_NONE;
  release(&ftable.lock);

  if (copy.type == FD_PIPE) {
    pipeclose(copy.pipe, copy.writable);
  } else if (copy.type == FD_INODE || copy.type == FD_DEVICE) {
    begin_op();   // the iput may free the inode on disk
    iput(copy.ip);
    end_op();
  }
}

// fstat(): copy the inode's struct stat to user address addr.
int
filestat(struct file *f, uint64 addr)
{
  struct stat st;

  if (f->type != FD_INODE && f->type != FD_DEVICE)
    return -1;
  ilock(f->ip);
  stati(f->ip, &st);
  iunlock(f->ip);
  if (copyout(myproc()->pagetable, addr, (char *)&st, sizeof(st)) < 0)
    return -1;
  return 0;
}

// read(): up to n bytes into user address addr.
int
fileread(struct file *f, uint64 addr, int n)
{
  int r;

  if (!f->readable)
    return -1;

  switch (f->type) {
  case FD_PIPE:
    return piperead(f->pipe, addr, n);
  case FD_DEVICE:
    if (f->major < 0 || f->major >= NDEV || !devsw[f->major].read)
      return -1;
    return devsw[f->major].read(1, addr, n);
  case FD_INODE:
    ilock(f->ip);
    r = readi(f->ip, 1, addr, f->off, n);
    if (r > 0)
      f->off += r;
    iunlock(f->ip);
    return r;
  default:
    panic("fileread: bad file type");
  }
}

// The most bytes written in one transaction. A transaction may log at most
// MAXOPBLOCKS blocks; writing k data blocks logs the k blocks themselves,
// the bitmap blocks recording their allocation (at most k), the inode, the
// indirect block, and the partly written blocks at both ends (2). Keeping
// 4 back and counting each data block twice stays within the budget.
#define WRITE_CHUNK (((MAXOPBLOCKS - 1 - 1 - 2) / 2) * BSIZE)

// write(): n bytes from user address addr. Returns n, or -1 on any error.
int
filewrite(struct file *f, uint64 addr, int n)
{
  if (!f->writable)
    return -1;

  switch (f->type) {
  case FD_PIPE:
    return pipewrite(f->pipe, addr, n);
  case FD_DEVICE:
    if (f->major < 0 || f->major >= NDEV || !devsw[f->major].write)
      return -1;
    return devsw[f->major].write(1, addr, n);
  case FD_INODE: {
    // Big writes are split into several transactions, so a crash may leave
    // a prefix of the write on disk -- but never a broken file system.
    int done = 0;
    while (done < n) {
      int chunk = n - done < WRITE_CHUNK ? n - done : WRITE_CHUNK;
      begin_op();
      ilock(f->ip);
      int r = writei(f->ip, 1, addr + done, f->off, chunk);
      if (r > 0)
        f->off += r;
      iunlock(f->ip);
      end_op();
      if (r != chunk)
        break;   // disk full, or a bad user address
      done += r;
    }
    return done == n ? n : -1;
  }
  default:
    panic("filewrite: bad file type");
  }
}
