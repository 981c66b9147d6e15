// A small heap: malloc and free over memory obtained with sbrk.
//
// Free memory is a list of blocks sorted by address. Each block starts with
// a header holding its size (in header-sized units, header included). malloc
// takes the first block that is big enough, splitting off the tail it needs;
// free puts a block back in address order and merges it with its neighbours,
// so the heap does not crumble into pieces too small to use.

#include "user.h"

typedef struct block {
  struct block *next;       // next free block (higher address); only while free
  uint64 units;             // size of this block in sizeof(Block) units
} Block;

static Block *free_list;    // lowest free block, or 0

// Ask the kernel for at least `units` more and put it on the free list.
static int grow(uint64 units)
{
  if (units < 1024)         // sbrk is a system call: ask in chunks of >= 16 KiB
    units = 1024;
  char *p = sbrk(units * sizeof(Block));
  if (p == (char *)-1)
    return -1;
  Block *b = (Block *)p;
  b->units = units;
  free(b + 1);
  return 0;
}

void *malloc(uint nbytes)
{
  uint64 units = (nbytes + sizeof(Block) - 1) / sizeof(Block) + 1;
  for (;;) {
    Block **link = &free_list;
    for (Block *b = free_list; b; link = &b->next, b = b->next) {
      if (b->units < units)
        continue;
      if (b->units == units) {
        *link = b->next;                  // exact fit: unlink it
      } else {
        b->units -= units;                // hand out the tail, keep the head free
        b += b->units;
        b->units = units;
      }
      return b + 1;
    }
    if (grow(units) < 0)
      return 0;
  }
}

void free(void *p)
{
  if (p == 0)
    return;
  Block *b = (Block *)p - 1;
  Block *prev = 0, *next = free_list;
  while (next && next < b) {
    prev = next;
    next = next->next;
  }
  // Merge with the following block if they touch.
  if (next && b + b->units == next) {
    b->units += next->units;
    b->next = next->next;
  } else {
    b->next = next;
  }
  // Merge with the preceding block if they touch.
  if (prev && prev + prev->units == b) {
    prev->units += b->units;
    prev->next = b->next;
  } else if (prev) {
    prev->next = b;
  } else {
    free_list = b;
  }
}
