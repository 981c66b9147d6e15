// The file system: blocks, inodes, directories and path names, in layers.
//
//   blocks       balloc/bfree: the free-block bitmap
//   inodes       ialloc/iget/ilock/iput...: files as numbered objects, each
//                with a size and a list of blocks (bmap), read and written
//                by readi/writei
//   directories  dirlookup/dirlink: an inode whose content is an array of
//                struct dirent (name -> inode number)
//   path names   namei/nameiparent: "/a/b/c" walked one directory at a time
//
// Everything that changes the disk runs inside a log transaction (log.c):
// callers bracket it with begin_op()/end_op(), and this file writes changed
// blocks with log_write(), never bwrite().
//
// In-memory inodes (struct inode, file.h) are kept in a table, itable. An
// inode's `ref` counts the C pointers to it (open files, current
// directories, functions using it); `nlink` counts directory entries naming
// it on disk. A file disappears from the disk when both reach zero (iput).
//
// Locking: itable.lock protects each entry's dev/inum/ref; the inode's
// sleeplock protects the rest (the copy of the disk inode) and its content.
// Lock order when two inodes are locked: a directory before what it contains.

#include "types.h"
#include "riscv.h"
#include "defs.h"
#include "param.h"
#include "stat.h"
#include "spinlock.h"
#include "proc.h"
#include "sleeplock.h"
#include "fs.h"
#include "buf.h"
#include "file.h"

#define min(a, b) ((a) < (b) ? (a) : (b))

// The superblock of the one file system (ROOTDEV), read at boot.
struct superblock sb;

// --- blocks --------------------------------------------------------------

static void
readsb(int dev, struct superblock *out)
{
  struct buf *b = bread(dev, 1);
  memmove(out, b->data, sizeof(*out));
  brelse(b);
}

// Read the superblock and replay the log if the last run crashed mid-commit.
// Runs in the first process: it sleeps on the disk.
void
fsinit(int dev)
{
  readsb(dev, &sb);
  if (sb.magic != FSMAGIC)
    panic("fsinit: the disk is not an xv6 file system (bad magic)");
  initlog(dev, &sb);
}

static void
bzero(int dev, int blockno)
{
  struct buf *b = bread(dev, blockno);
  memset(b->data, 0, BSIZE);
  log_write(b);
  brelse(b);
}

// Allocate a zeroed data block; 0 when the disk is full.
static uint
balloc(uint dev)
{
  for (uint base = 0; base < sb.size; base += BPB) {
    struct buf *bp = bread(dev, BBLOCK(base, sb));
    for (uint bit = 0; bit < BPB && base + bit < sb.size; bit++) {
      uchar mask = 1 << (bit % 8);
      if ((bp->data[bit / 8] & mask) == 0) {
        bp->data[bit / 8] |= mask;
        log_write(bp);
        brelse(bp);
        bzero(dev, base + bit);
        return base + bit;
      }
    }
    brelse(bp);
  }
  printf("balloc: the disk is full\n");
  return 0;
}

static void
bfree(int dev, uint blockno)
{
  struct buf *bp = bread(dev, BBLOCK(blockno, sb));
  uint bit = blockno % BPB;
  uchar mask = 1 << (bit % 8);
  if ((bp->data[bit / 8] & mask) == 0)
    panic("bfree: block is already free");
  bp->data[bit / 8] &= ~mask;
  log_write(bp);
  brelse(bp);
}

// --- the inode table -------------------------------------------------------

struct {
  struct spinlock lock;
  struct inode inode[NINODE];
} itable;

void
iinit(void)
{
  initlock(&itable.lock, "itable");
  for (int i = 0; i < NINODE; i++)
    initsleeplock(&itable.inode[i].lock, "inode");
}

// The in-memory inode for (dev, inum), with one more reference. Neither
// locks it nor reads it from disk (ilock does, when it is first needed).
static struct inode *
iget(uint dev, uint inum)
{
  struct inode *ip, *empty = 0;

  acquire(&itable.lock);
  for (ip = itable.inode; ip < itable.inode + NINODE; ip++) {
    if (ip->ref > 0 && ip->dev == dev && ip->inum == inum) {
      ip->ref++;
      release(&itable.lock);
      return ip;
    }
    if (empty == 0 && ip->ref == 0)
      empty = ip;
  }
  if (empty == 0)
    panic("iget: inode table full (NINODE)");

  empty->dev = dev;
  empty->inum = inum;
  empty->ref = 1;
  empty->valid = 0;
  release(&itable.lock);
  return empty;
}

// Find a free inode on disk, mark it as `type`, and return it (unlocked,
// referenced). 0 when every inode is in use.
struct inode *
ialloc(uint dev, short type)
{
  for (uint inum = 1; inum < sb.ninodes; inum++) {
    struct buf *bp = bread(dev, IBLOCK(inum, sb));
    struct dinode *dip = (struct dinode *)bp->data + inum % IPB;
    if (dip->type == 0) {
      memset(dip, 0, sizeof(*dip));
      dip->type = type;
      log_write(bp);
      brelse(bp);
      return iget(dev, inum);
    }
    brelse(bp);
  }
  printf("ialloc: no free inodes\n");
  return 0;
}

// Write the in-memory copy of ip back to its disk inode. Call after every
// change of a field that lives on disk. Caller holds ip->lock.
void
iupdate(struct inode *ip)
{
  struct buf *bp = bread(ip->dev, IBLOCK(ip->inum, sb));
  struct dinode *dip = (struct dinode *)bp->data + ip->inum % IPB;
  dip->type = ip->type;
  dip->major = ip->major;
  dip->minor = ip->minor;
  dip->nlink = ip->nlink;
  dip->size = ip->size;
  memmove(dip->addrs, ip->addrs, sizeof(ip->addrs));
  log_write(bp);
  brelse(bp);
}

// One more reference to ip (e.g. fork sharing the current directory).
struct inode *
idup(struct inode *ip)
{
  acquire(&itable.lock);
  ip->ref++;
  release(&itable.lock);
  return ip;
}

// Lock ip, reading it from the disk the first time.
void
ilock(struct inode *ip)
{
  if (ip == 0 || ip->ref < 1)
    panic("ilock: not a referenced inode");

  acquiresleep(&ip->lock);
  if (!ip->valid) {
    struct buf *bp = bread(ip->dev, IBLOCK(ip->inum, sb));
    struct dinode *dip = (struct dinode *)bp->data + ip->inum % IPB;
    ip->type = dip->type;
    ip->major = dip->major;
    ip->minor = dip->minor;
    ip->nlink = dip->nlink;
    ip->size = dip->size;
    memmove(ip->addrs, dip->addrs, sizeof(ip->addrs));
    brelse(bp);
    ip->valid = 1;
    if (ip->type == 0)
      panic("ilock: inode is free on disk");
  }
}

void
iunlock(struct inode *ip)
{
  if (ip == 0 || !holdingsleep(&ip->lock) || ip->ref < 1)
    panic("iunlock: not locked");
  releasesleep(&ip->lock);
}

// Drop a reference. When it was the last one and no directory names the
// inode any more, free the inode and its blocks on disk -- so every call
// to iput() must be inside a transaction.
void
iput(struct inode *ip)
{
  acquire(&itable.lock);

  if (ip->ref == 1 && ip->valid && ip->nlink == 0) {
    // Nobody else can reach this inode (ref is 1: only us), so taking its
    // sleeplock cannot block, and dropping itable.lock meanwhile is safe.
    acquiresleep(&ip->lock);
    release(&itable.lock);

    itrunc(ip);
    ip->type = 0;
    iupdate(ip);
    ip->valid = 0;

    releasesleep(&ip->lock);
    acquire(&itable.lock);
  }

  ip->ref--;
  release(&itable.lock);
}

void
iunlockput(struct inode *ip)
{
  iunlock(ip);
  iput(ip);
}

// --- an inode's blocks -------------------------------------------------------

// The disk block holding block number `bn` of ip's content, allocated on
// first use. 0 when the disk is full.
static uint
bmap(struct inode *ip, uint bn)
{
  uint addr;

  if (bn < NDIRECT) {
    addr = ip->addrs[bn];
    if (addr == 0) {
      addr = balloc(ip->dev);
      ip->addrs[bn] = addr;   // the caller's iupdate() saves it
    }
    return addr;
  }

  bn -= NDIRECT;
  if (bn >= NINDIRECT)
    panic("bmap: block number beyond the largest file");

  uint table = ip->addrs[NDIRECT];
  if (table == 0) {
    table = balloc(ip->dev);
    if (table == 0)
      return 0;
    ip->addrs[NDIRECT] = table;
  }
  struct buf *bp = bread(ip->dev, table);
  uint *entries = (uint *)bp->data;
  addr = entries[bn];
  if (addr == 0) {
    addr = balloc(ip->dev);
    if (addr) {
      entries[bn] = addr;
      log_write(bp);
    }
  }
  brelse(bp);
  return addr;
}

// Free all of ip's blocks and make it empty. Caller holds ip->lock.
void
itrunc(struct inode *ip)
{
  for (int i = 0; i < NDIRECT; i++) {
    if (ip->addrs[i]) {
      bfree(ip->dev, ip->addrs[i]);
      ip->addrs[i] = 0;
    }
  }

  if (ip->addrs[NDIRECT]) {
    struct buf *bp = bread(ip->dev, ip->addrs[NDIRECT]);
    uint *entries = (uint *)bp->data;
    for (uint j = 0; j < NINDIRECT; j++) {
      if (entries[j])
        bfree(ip->dev, entries[j]);
    }
    brelse(bp);
    bfree(ip->dev, ip->addrs[NDIRECT]);
    ip->addrs[NDIRECT] = 0;
  }

  ip->size = 0;
  iupdate(ip);
}

// Fill *st for fstat(). Caller holds ip->lock.
void
stati(struct inode *ip, struct stat *st)
{
  st->dev = ip->dev;
  st->ino = ip->inum;
  st->type = ip->type;
  st->nlink = ip->nlink;
  st->size = ip->size;
}

// Copy up to n bytes from ip's content at offset off to dst, a user
// virtual address when user_dst is 1, else a kernel pointer. Returns the
// bytes copied (fewer at the end of the file), or -1 if the copy faulted.
// Caller holds ip->lock.
int
readi(struct inode *ip, int user_dst, uint64 dst, uint off, uint n)
{
  if (off > ip->size || off + n < off)
    return 0;
  if (off + n > ip->size)
    n = ip->size - off;

  uint done = 0;
  while (done < n) {
    uint addr = bmap(ip, off / BSIZE);
    if (addr == 0)
      break;
    struct buf *bp = bread(ip->dev, addr);
    uint m = min(n - done, BSIZE - off % BSIZE);
    if (either_copyout(user_dst, dst, bp->data + off % BSIZE, m) == -1) {
      brelse(bp);
      return -1;
    }
    brelse(bp);
    done += m;
    off += m;
    dst += m;
  }
  return done;
}

// Copy n bytes from src (user address if user_src, else kernel pointer) into
// ip's content at offset off, growing the file if needed. Returns n, or
// fewer when the disk filled up or the copy faulted; -1 for a bad offset.
// Caller holds ip->lock and is inside a transaction.
int
writei(struct inode *ip, int user_src, uint64 src, uint off, uint n)
{
  if (off > ip->size || off + n < off)
    return -1;
  if (off + n > MAXFILE * BSIZE)
    return -1;

  uint done = 0;
  while (done < n) {
    uint addr = bmap(ip, off / BSIZE);
    if (addr == 0)
      break;
    struct buf *bp = bread(ip->dev, addr);
    uint m = min(n - done, BSIZE - off % BSIZE);
    if (either_copyin(bp->data + off % BSIZE, user_src, src, m) == -1) {
      brelse(bp);
      break;
    }
    log_write(bp);
    brelse(bp);
    done += m;
    off += m;
    src += m;
  }

  if (off > ip->size)
    ip->size = off;
  // Save the size and any block bmap() added to addrs[], even if we stopped early.
  iupdate(ip);
  return done;
}

// --- directories ---------------------------------------------------------

// Compare two names as directory entries do: at most DIRSIZ characters.
int
namecmp(const char *s, const char *t)
{
  return strncmp(s, t, DIRSIZ);
}

// Find `name` in directory dp. Returns its inode (unlocked, referenced) and
// the entry's byte offset in *poff (if poff is not 0); 0 if absent.
// Caller holds dp->lock.
struct inode *
dirlookup(struct inode *dp, char *name, uint *poff)
{
  struct dirent de;

  if (dp->type != T_DIR)
    panic("dirlookup: not a directory");

  for (uint off = 0; off < dp->size; off += sizeof(de)) {
    if (readi(dp, 0, (uint64)&de, off, sizeof(de)) != sizeof(de))
      panic("dirlookup: cannot read the directory");
    if (de.inum == 0)
      continue;
    if (namecmp(name, de.name) == 0) {
      if (poff)
        *poff = off;
      return iget(dp->dev, de.inum);
    }
  }
  return 0;
}

// Add the entry (name, inum) to directory dp, reusing a free slot if there
// is one. Returns 0, or -1 if the name exists or the disk is full.
// Caller holds dp->lock and is inside a transaction.
int
dirlink(struct inode *dp, char *name, uint inum)
{
  struct dirent de;
  struct inode *ip;
  uint off;

  if ((ip = dirlookup(dp, name, 0)) != 0) {
    iput(ip);
    return -1;
  }

  for (off = 0; off < dp->size; off += sizeof(de)) {
    if (readi(dp, 0, (uint64)&de, off, sizeof(de)) != sizeof(de))
      panic("dirlink: cannot read the directory");
    if (de.inum == 0)
      break;
  }

  memset(&de, 0, sizeof(de));
  strncpy(de.name, name, DIRSIZ);
  de.inum = inum;
  if (writei(dp, 0, (uint64)&de, off, sizeof(de)) != sizeof(de))
    return -1;
  return 0;
}

// --- path names --------------------------------------------------------------

// Copy the first element of `path` into name (DIRSIZ bytes, NUL-padded
// when shorter) and return what follows it, without leading slashes.
// Returns 0 when there is no element left.
//   skipelem("a/bb/c", name) = "bb/c", name "a"
//   skipelem("///a//bb", name) = "bb", name "a"
//   skipelem("a", name) = "", name "a"
//   skipelem("", name) = skipelem("////", name) = 0
static char *
skipelem(char *path, char *name)
{
  while (*path == '/')
    path++;
  if (*path == 0)
    return 0;

  char *start = path;
  while (*path != '/' && *path != 0)
    path++;
  int len = path - start;
  if (len >= DIRSIZ) {
    memmove(name, start, DIRSIZ);   // longer names are cut, as on disk
  } else {
    memmove(name, start, len);
    name[len] = 0;
  }

  while (*path == '/')
    path++;
  return path;
}

// Walk `path`. Returns its inode, or with want_parent its parent directory
// (and the last element copied into name). Unlocked and referenced; 0 on
// failure. Must be called inside a transaction (it calls iput).
static struct inode *
namex(char *path, int want_parent, char *name)
{
  struct inode *ip, *next;

  if (*path == '/')
    ip = iget(ROOTDEV, ROOTINO);
  else
    ip = idup(myproc()->cwd);

  while ((path = skipelem(path, name)) != 0) {
    ilock(ip);
    if (ip->type != T_DIR) {
      iunlockput(ip);
      return 0;
    }
    if (want_parent && *path == 0) {
      iunlock(ip);   // stop one level early: ip is the parent
      return ip;
    }
    next = dirlookup(ip, name, 0);
    iunlockput(ip);
    if (next == 0)
      return 0;
    ip = next;
  }

  if (want_parent) {   // the path had no element, e.g. "/"
    iput(ip);
    return 0;
  }
  return ip;
}

struct inode *
namei(char *path)
{
  char name[DIRSIZ];
  return namex(path, 0, name);
}

// The directory that would hold `path`; its last element goes into name,
// which must have room for DIRSIZ bytes.
struct inode *
nameiparent(char *path, char *name)
{
  return namex(path, 1, name);
}
