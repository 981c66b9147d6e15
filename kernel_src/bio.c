// The buffer cache: NBUF blocks of the disk kept in memory.
//
// It does two jobs. It saves disk reads (a block read twice is read from
// the disk once), and it is the one place a block lives in memory, so two
// processes working on the same block see the same bytes: each struct buf
// has a sleeplock, and only the process holding it may touch the data.
//
// Interface:
//   bread(dev, blockno)  -> a locked buffer holding that block
//   bwrite(b)            writes a locked buffer's data to the disk
//   brelse(b)            unlocks it; the caller must not use b after this
//   bpin/bunpin          keep a buffer in the cache while the log needs it
//
// The buffers form a circular list, most recently released first, so the
// search for one to recycle starts from the least recently used end.

#include "types.h"
#include "param.h"
#include "spinlock.h"
#include "sleeplock.h"
#include "riscv.h"
#include "fs.h"
#include "buf.h"
#include "defs.h"

static struct {
  struct spinlock lock;   // protects the list and every buf's dev/blockno/refcnt
  struct buf buf[NBUF];
  struct buf head;        // list sentinel: head.next is the most recently used
} bcache;

// Unlink b from the list and put it right after the sentinel.
static void
move_to_front(struct buf *b)
{
  b->next->prev = b->prev;
  b->prev->next = b->next;
  b->next = bcache.head.next;
  b->prev = &bcache.head;
  bcache.head.next->prev = b;
  bcache.head.next = b;
}

void
binit(void)
{
  initlock(&bcache.lock, "bcache");
  bcache.head.prev = &bcache.head;
  bcache.head.next = &bcache.head;
  for (struct buf *b = bcache.buf; b < bcache.buf + NBUF; b++) {
    initsleeplock(&b->lock, "buffer");
    // Insert at the front: the list starts in array order, reversed.
    b->next = bcache.head.next;
    b->prev = &bcache.head;
    bcache.head.next->prev = b;
    bcache.head.next = b;
  }
}

// Find the buffer for (dev, blockno), or recycle an unused one for it, and
// return it locked. Its data is valid only if b->valid says so.
static struct buf *
bget(uint dev, uint blockno)
{
  struct buf *b;

  acquire(&bcache.lock);

  for (b = bcache.head.next; b != &bcache.head; b = b->next) {
    if (b->dev == dev && b->blockno == blockno) {
      b->refcnt++;
      release(&bcache.lock);
      acquiresleep(&b->lock);   // may sleep while another process uses it
      return b;
    }
  }

  // Not cached: take the least recently used buffer nobody refers to.
  for (b = bcache.head.prev; b != &bcache.head; b = b->prev) {
    if (b->refcnt == 0) {
      b->dev = dev;
      b->blockno = blockno;
      b->valid = 0;
      b->refcnt = 1;
      release(&bcache.lock);
      acquiresleep(&b->lock);
      return b;
    }
  }
  panic("bget: every buffer is in use");
}

struct buf *
bread(uint dev, uint blockno)
{
  struct buf *b = bget(dev, blockno);
  if (!b->valid) {
    virtio_disk_rw(b, 0);
    b->valid = 1;
  }
  return b;
}

void
bwrite(struct buf *b)
{
  if (!holdingsleep(&b->lock))
    panic("bwrite: buffer not locked");
  virtio_disk_rw(b, 1);
}

void
brelse(struct buf *b)
{
  if (!holdingsleep(&b->lock))
    panic("brelse: buffer not locked");
  releasesleep(&b->lock);

  acquire(&bcache.lock);
  b->refcnt--;
  if (b->refcnt == 0)
    move_to_front(b);   // most recently used: recycled last
  release(&bcache.lock);
}

// An extra reference keeps the buffer (and its not-yet-installed changes)
// in the cache until the log has written it home.
void
bpin(struct buf *b)
{
  acquire(&bcache.lock);
  b->refcnt++;
  release(&bcache.lock);
}

void
bunpin(struct buf *b)
{
  acquire(&bcache.lock);
  b->refcnt--;
  release(&bcache.lock);
}
