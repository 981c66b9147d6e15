// The log: makes each file-system operation all-or-nothing on the disk.
//
// Creating a file changes several blocks (an inode, a directory, maybe the
// bitmap). If the machine stopped half-way, the disk would be inconsistent.
// So nothing is written in place directly. A system call wraps its changes:
//
//   begin_op();
//   b = bread(...); change b->data; log_write(b); brelse(b);  ... more ...
//   end_op();
//
// log_write() only notes the block number (and pins the buffer in the
// cache). When the last operation running ends, the commit:
//   1. copies every noted block into the log region of the disk,
//   2. writes the log header with their count and numbers -- from this
//      moment the transaction counts as done,
//   3. copies each block to its real place ("installs" it),
//   4. writes the header again with a count of 0.
// After a crash, initlog() finds a header with a count > 0 and repeats step
// 3 and 4; a crash before step 2 leaves the old contents everywhere.
//
// Several processes may be inside begin_op/end_op at once; they share one
// transaction ("group commit"). begin_op() waits while a commit is running
// or while the log could not hold the blocks of one more operation.
//
// On disk: the header at block sb.logstart, the logged blocks after it.

#include "types.h"
#include "riscv.h"
#include "defs.h"
#include "param.h"
#include "spinlock.h"
#include "sleeplock.h"
#include "fs.h"
#include "buf.h"

// The header block, on disk and (for the transaction being built) in memory.
struct logheader {
  int n;                  // blocks in the committed transaction, 0 = none
  int block[LOGSIZE];     // their home block numbers
};
_Static_assert(sizeof(struct logheader) <= BSIZE, "log header must fit in a block");

static struct {
  struct spinlock lock;
  int start;              // block of the header
  int size;               // blocks of the log region, header included
  int capacity;           // blocks one transaction may log: min(size - 1, LOGSIZE)
  int outstanding;        // operations between begin_op and end_op
  int committing;         // a commit is in progress: wait
  int dev;
  struct logheader lh;    // blocks noted by log_write so far
} log;

static void recover_from_log(void);
static void commit(void);

void
initlog(int dev, struct superblock *sb)
{
  initlock(&log.lock, "log");
  log.start = sb->logstart;
  log.size = sb->nlog;
  log.dev = dev;
  // xv6's mkfs makes the region LOGSIZE blocks with the header among them,
  // so a transaction holds one block less than LOGSIZE.
  log.capacity = log.size - 1 < LOGSIZE ? log.size - 1 : LOGSIZE;
  if (log.capacity < MAXOPBLOCKS)
    panic("initlog: the disk's log region is too small");
  recover_from_log();
}

// Copy the logged blocks to their home locations. At boot (recovering)
// the cache holds nothing pinned; after a commit each was pinned by
// log_write and is unpinned here.
static void
install_trans(int recovering)
{
  for (int i = 0; i < log.lh.n; i++) {
    struct buf *from = bread(log.dev, log.start + 1 + i);
    struct buf *to = bread(log.dev, log.lh.block[i]);
    memmove(to->data, from->data, BSIZE);
    bwrite(to);
    if (!recovering)
      bunpin(to);
    brelse(from);
    brelse(to);
  }
}

static void
read_head(void)
{
  struct buf *b = bread(log.dev, log.start);
  struct logheader *on_disk = (struct logheader *)b->data;
  log.lh.n = on_disk->n;
  for (int i = 0; i < log.lh.n; i++)
    log.lh.block[i] = on_disk->block[i];
  brelse(b);
}

// Writing the header is the commit point: once it is on the disk with a
// count > 0, the transaction will be installed, even after a crash.
static void
write_head(void)
{
  struct buf *b = bread(log.dev, log.start);
  struct logheader *on_disk = (struct logheader *)b->data;
  on_disk->n = log.lh.n;
  for (int i = 0; i < log.lh.n; i++)
    on_disk->block[i] = log.lh.block[i];
  bwrite(b);
  brelse(b);
}

static void
recover_from_log(void)
{
  read_head();
  if (log.lh.n < 0 || log.lh.n > LOGSIZE)
    panic("recover_from_log: corrupt log header");
  install_trans(1);
  log.lh.n = 0;
  write_head();
}

// Start a file-system operation.
void
begin_op(void)
{
  acquire(&log.lock);
  for (;;) {
    if (log.committing) {
      sleep(&log, &log.lock);
    } else if (log.lh.n + (log.outstanding + 1) * MAXOPBLOCKS > log.capacity) {
      // If every running operation wrote its maximum, we would overflow.
      sleep(&log, &log.lock);
    } else {
      log.outstanding += 1;
      release(&log.lock);
      return;
    }
  }
}

// End a file-system operation; the last one out commits.
void
end_op(void)
{
  int do_commit = 0;

  acquire(&log.lock);
  log.outstanding -= 1;
  if (log.committing)
    panic("end_op: commit already running");
  if (log.outstanding == 0) {
    do_commit = 1;
    log.committing = 1;
  } else {
    // Our reservation of MAXOPBLOCKS is free again: a waiting begin_op
    // may now fit.
    wakeup(&log);
  }
  release(&log.lock);

  if (do_commit) {
    // Not holding log.lock: commit() sleeps on the disk.
    commit();
    acquire(&log.lock);
    log.committing = 0;
    wakeup(&log);
    release(&log.lock);
  }
}

// Step 1: copy the current contents of each noted block into the log.
static void
write_log(void)
{
  for (int i = 0; i < log.lh.n; i++) {
    struct buf *to = bread(log.dev, log.start + 1 + i);
    struct buf *from = bread(log.dev, log.lh.block[i]);  // cached and pinned
    memmove(to->data, from->data, BSIZE);
    bwrite(to);
    brelse(from);
    brelse(to);
  }
}

static void
commit(void)
{
  if (log.lh.n == 0)
    return;
  write_log();
  write_head();        // the commit point
  install_trans(0);
  log.lh.n = 0;
  write_head();        // the transaction is home: forget it
}

// Note that b (locked, changed by the caller) belongs to the current
// transaction. Used instead of bwrite(): the block reaches the disk at commit.
void
log_write(struct buf *b)
{
  acquire(&log.lock);
  if (log.lh.n >= log.capacity)
    panic("log_write: transaction too big");
  if (log.outstanding < 1)
    panic("log_write: outside begin_op/end_op");

  int i;
  for (i = 0; i < log.lh.n; i++) {
    if (log.lh.block[i] == b->blockno)
      break;   // already noted: one log slot per block ("absorption")
  }
  if (i == log.lh.n) {
    log.lh.block[i] = b->blockno;
    log.lh.n++;
    bpin(b);   // keep it cached: the disk copy is stale until the commit
  }
  release(&log.lock);
}
