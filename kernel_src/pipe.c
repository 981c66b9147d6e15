// Pipes: a PIPESIZE-byte ring buffer between a writing and a reading file.
//
// nread and nwrite count every byte ever read and written; they only grow,
// and the byte at count c sits at data[c % PIPESIZE]. So the pipe is empty
// when nread == nwrite and full when nwrite == nread + PIPESIZE.
//
// Two sleep channels: a writer finding the pipe full sleeps on &pi->nwrite
// until a reader makes room (and wakes that channel); a reader finding it
// empty sleeps on &pi->nread until a writer adds bytes or closes its end.

#include "types.h"
#include "riscv.h"
#include "defs.h"
#include "param.h"
#include "spinlock.h"
#include "proc.h"
#include "fs.h"
#include "sleeplock.h"
#include "file.h"

#define PIPESIZE 512

struct pipe {
  struct spinlock lock;
  char data[PIPESIZE];
  uint nread;      // bytes read so far
  uint nwrite;     // bytes written so far
  int readopen;    // the read end is still open
  int writeopen;   // the write end is still open
};

// Make a pipe and its two files: *f0 reads, *f1 writes. 0, or -1 when out
// of files or memory (nothing is left allocated then).
int
pipealloc(struct file **f0, struct file **f1)
{
  struct pipe *pi = 0;

  *f0 = *f1 = 0;
  if ((*f0 = filealloc()) == 0 || (*f1 = filealloc()) == 0)
    goto fail;
  if ((pi = (struct pipe *)kalloc()) == 0)
    goto fail;

  pi->readopen = 1;
  pi->writeopen = 1;
  pi->nread = 0;
  pi->nwrite = 0;
  initlock(&pi->lock, "pipe");

  (*f0)->type = FD_PIPE;
  (*f0)->readable = 1;
  (*f0)->writable = 0;
  (*f0)->pipe = pi;
  (*f1)->type = FD_PIPE;
  (*f1)->readable = 0;
  (*f1)->writable = 1;
  (*f1)->pipe = pi;
  return 0;

fail:
  if (pi)
    kfree(pi);
  if (*f0)
    fileclose(*f0);   // type is FD_NONE: just frees the slot
  if (*f1)
    fileclose(*f1);
  return -1;
}

// One end closed; free the pipe when both are.
void
pipeclose(struct pipe *pi, int writable)
{
  acquire(&pi->lock);
  if (writable) {
    pi->writeopen = 0;
    wakeup(&pi->nread);    // readers see end of file
  } else {
    pi->readopen = 0;
    wakeup(&pi->nwrite);   // writers see a broken pipe
  }
  if (pi->readopen == 0 && pi->writeopen == 0) {
    release(&pi->lock);
    kfree((char *)pi);
  } else {
    release(&pi->lock);
  }
}

// Write n bytes from user address addr, sleeping while the pipe is full.
// Returns n, the bytes written before a copy fault, or -1 if the read end
// is closed or the process was killed.
int
pipewrite(struct pipe *pi, uint64 addr, int n)
{
  struct proc *pr = myproc();
  int i = 0;

  acquire(&pi->lock);
  while (i < n) {
    if (pi->readopen == 0 || killed(pr)) {
      release(&pi->lock);
      return -1;
    }
    if (pi->nwrite == pi->nread + PIPESIZE) {
      wakeup(&pi->nread);              // let readers empty it
      sleep(&pi->nwrite, &pi->lock);
      continue;
    }
    char c;
    if (copyin(pr->pagetable, &c, addr + i, 1) == -1)
      break;
    pi->data[pi->nwrite++ % PIPESIZE] = c;
    i++;
  }
  wakeup(&pi->nread);
  release(&pi->lock);
  return i;
}

// Read up to n bytes into user address addr, sleeping while the pipe is
// empty and a writer exists. Returns the bytes read: 0 means end of file.
int
piperead(struct pipe *pi, uint64 addr, int n)
{
  struct proc *pr = myproc();
  int i;

  acquire(&pi->lock);
  while (pi->nread == pi->nwrite && pi->writeopen) {
    if (killed(pr)) {
      release(&pi->lock);
      return -1;
    }
    sleep(&pi->nread, &pi->lock);
  }
  for (i = 0; i < n && pi->nread != pi->nwrite; i++) {
    char c = pi->data[pi->nread % PIPESIZE];
    if (copyout(pr->pagetable, addr + i, &c, 1) == -1)
      break;
    pi->nread++;
  }
  wakeup(&pi->nwrite);   // there is room now
  release(&pi->lock);
  return i;
}
