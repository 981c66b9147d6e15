// The disk driver: a virtio block device on the virtio-mmio bus (modern
// interface, version 2), at VIRTIO0 with interrupt VIRTIO0_IRQ.
//
// The driver and the device share three arrays in RAM (the "split
// virtqueue"): a table of descriptors, each naming one buffer; the available
// ring, where the driver lists requests for the device; and the used ring,
// where the device lists requests it has finished. A disk request is a chain
// of three descriptors: a header (read or write, which sector), the block's
// data, and a status byte the device fills in.
//
// virtio_disk_rw() queues a request, tells the device, and puts the calling
// process to sleep. When the device is done it raises an interrupt;
// virtio_disk_intr() finds the finished requests in the used ring and wakes
// their processes. So a process reading a block really waits for the disk,
// and the hart runs something else meanwhile.

#include "types.h"
#include "riscv.h"
#include "param.h"
#include "memlayout.h"
#include "spinlock.h"
#include "sleeplock.h"
#include "fs.h"
#include "buf.h"
#include "virtio.h"
#include "defs.h"

// A device register, as a 32-bit location in memory.
#define REG(r) ((volatile uint32 *)(VIRTIO0 + (r)))

static struct disk {
  // The three shared arrays, each in a page of its own.
  struct virtq_desc *desc;
  struct virtq_avail *avail;
  struct virtq_used *used;

  char free[VIRTQ_SIZE];   // 1: descriptor i is unused
  uint16 used_seen;        // used ring entries we have already handled

  // Per request, indexed by its first descriptor: the buffer to wake when it
  // completes and the status byte the device writes. Kept here (not on the
  // caller's stack) because the device reads and writes them by address.
  struct {
    struct buf *b;
    uchar status;
  } inflight[VIRTQ_SIZE];
  struct virtio_blk_req header[VIRTQ_SIZE];

  struct spinlock lock;    // protects everything above
} disk;

// Give up on the device: there is no file system without it.
static void
fail(const char *why)
{
  *REG(VIRTIO_MMIO_STATUS) |= VIRTIO_STATUS_FAILED;
  panic(why);
}

// Agree on features: keep only VERSION_1 (the modern layout) and nothing
// that would change how the queue or the requests look.
static void
negotiate_features(void)
{
  *REG(VIRTIO_MMIO_DEVICE_FEATURES_SEL) = 1;
  uint32 high = *REG(VIRTIO_MMIO_DEVICE_FEATURES);
  if ((high & (1U << (VIRTIO_F_VERSION_1 - 32))) == 0)
    fail("virtio disk: device does not offer VIRTIO_F_VERSION_1");

  *REG(VIRTIO_MMIO_DEVICE_FEATURES_SEL) = 0;
  uint32 low = *REG(VIRTIO_MMIO_DEVICE_FEATURES);
  low &= ~(1U << VIRTIO_BLK_F_RO);
  low &= ~(1U << VIRTIO_BLK_F_SCSI);
  low &= ~(1U << VIRTIO_BLK_F_CONFIG_WCE);
  low &= ~(1U << VIRTIO_BLK_F_MQ);
  low &= ~(1U << VIRTIO_F_ANY_LAYOUT);
  low &= ~(1U << VIRTIO_RING_F_EVENT_IDX);
  low &= ~(1U << VIRTIO_RING_F_INDIRECT_DESC);

  *REG(VIRTIO_MMIO_DRIVER_FEATURES_SEL) = 0;
  *REG(VIRTIO_MMIO_DRIVER_FEATURES) = low;
  *REG(VIRTIO_MMIO_DRIVER_FEATURES_SEL) = 1;
  *REG(VIRTIO_MMIO_DRIVER_FEATURES) = 1U << (VIRTIO_F_VERSION_1 - 32);

  // The device confirms it can work with our choice by keeping FEATURES_OK.
  *REG(VIRTIO_MMIO_STATUS) |= VIRTIO_STATUS_FEATURES_OK;
  if ((*REG(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK) == 0)
    fail("virtio disk: device refused our features");
}

// Allocate queue 0's arrays and tell the device where they are.
static void
setup_queue(void)
{
  *REG(VIRTIO_MMIO_QUEUE_SEL) = 0;
  if (*REG(VIRTIO_MMIO_QUEUE_READY))
    fail("virtio disk: queue 0 is already in use");
  uint32 max = *REG(VIRTIO_MMIO_QUEUE_NUM_MAX);
  if (max == 0)
    fail("virtio disk: the device has no queue 0");
  if (max < VIRTQ_SIZE)
    fail("virtio disk: queue 0 is too small");

  disk.desc = kalloc();
  disk.avail = kalloc();
  disk.used = kalloc();
  if (!disk.desc || !disk.avail || !disk.used)
    panic("virtio disk: out of memory");
  memset(disk.desc, 0, PGSIZE);
  memset(disk.avail, 0, PGSIZE);
  memset(disk.used, 0, PGSIZE);

  *REG(VIRTIO_MMIO_QUEUE_NUM) = VIRTQ_SIZE;
  *REG(VIRTIO_MMIO_QUEUE_DESC_LOW) = (uint64)disk.desc;
  *REG(VIRTIO_MMIO_QUEUE_DESC_HIGH) = (uint64)disk.desc >> 32;
  *REG(VIRTIO_MMIO_QUEUE_DRIVER_LOW) = (uint64)disk.avail;
  *REG(VIRTIO_MMIO_QUEUE_DRIVER_HIGH) = (uint64)disk.avail >> 32;
  *REG(VIRTIO_MMIO_QUEUE_DEVICE_LOW) = (uint64)disk.used;
  *REG(VIRTIO_MMIO_QUEUE_DEVICE_HIGH) = (uint64)disk.used >> 32;
  *REG(VIRTIO_MMIO_QUEUE_READY) = 1;

  for (int i = 0; i < VIRTQ_SIZE; i++)
    disk.free[i] = 1;
}

// Find the device, start it up (the order is the specification's), and set
// up the one queue we use. Called once, by hart 0 at boot.
void
virtio_disk_init(void)
{
  initlock(&disk.lock, "virtio_disk");

  if (*REG(VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MAGIC ||
      *REG(VIRTIO_MMIO_VERSION) != 2 ||
      *REG(VIRTIO_MMIO_DEVICE_ID) != VIRTIO_DEVICE_BLOCK)
    panic("virtio disk: no modern virtio block device at VIRTIO0 "
          "(QEMU needs -global virtio-mmio.force-legacy=false)");

  *REG(VIRTIO_MMIO_STATUS) = 0;   // reset
  *REG(VIRTIO_MMIO_STATUS) |= VIRTIO_STATUS_ACKNOWLEDGE;
  *REG(VIRTIO_MMIO_STATUS) |= VIRTIO_STATUS_DRIVER;
  negotiate_features();
  setup_queue();
  *REG(VIRTIO_MMIO_STATUS) |= VIRTIO_STATUS_DRIVER_OK;
}

// Take a free descriptor, or return -1. Caller holds disk.lock.
static int
take_desc(void)
{
  for (int i = 0; i < VIRTQ_SIZE; i++) {
    if (disk.free[i]) {
      disk.free[i] = 0;
      return i;
    }
  }
  return -1;
}

// Give descriptor i back, and wake anyone waiting for one.
static void
give_desc(int i)
{
  if (i < 0 || i >= VIRTQ_SIZE || disk.free[i])
    panic("virtio disk: freeing a bad descriptor");
  disk.desc[i].addr = 0;
  disk.desc[i].len = 0;
  disk.desc[i].flags = 0;
  disk.desc[i].next = 0;
  disk.free[i] = 1;
  wakeup(&disk.free[0]);
}

// Give back a whole chain, starting at its first descriptor.
static void
give_chain(int i)
{
  for (;;) {
    int more = disk.desc[i].flags & VIRTQ_DESC_F_NEXT;
    int next = disk.desc[i].next;
    give_desc(i);
    if (!more)
      break;
    i = next;
  }
}

// Take three descriptors (all or none): 0 on success, -1 if not enough.
static int
take_three(int idx[3])
{
  for (int i = 0; i < 3; i++) {
    idx[i] = take_desc();
    if (idx[i] < 0) {
      for (int j = 0; j < i; j++)
        give_desc(idx[j]);
      return -1;
    }
  }
  return 0;
}

static void
set_desc(int i, uint64 addr, uint32 len, uint16 flags, uint16 next)
{
  disk.desc[i].addr = addr;
  disk.desc[i].len = len;
  disk.desc[i].flags = flags;
  disk.desc[i].next = next;
}

// Read (write == 0) or write buffer b's block, sleeping until the disk is
// done. The caller holds b's sleeplock.
void
virtio_disk_rw(struct buf *b, int write)
{
  uint64 sector = b->blockno * (BSIZE / 512);
  int idx[3];

  acquire(&disk.lock);

  // The device may be busy with other requests; wait for room.
  while (take_three(idx) != 0)
    sleep(&disk.free[0], &disk.lock);

  struct virtio_blk_req *hdr = &disk.header[idx[0]];
  hdr->type = write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
  hdr->reserved = 0;
  hdr->sector = sector;

  // The kernel maps RAM one to one, so its addresses are physical ones.
  set_desc(idx[0], (uint64)hdr, sizeof(*hdr), VIRTQ_DESC_F_NEXT, idx[1]);
  set_desc(idx[1], (uint64)b->data, BSIZE,
           (write ? 0 : VIRTQ_DESC_F_WRITE) | VIRTQ_DESC_F_NEXT, idx[2]);
  disk.inflight[idx[0]].status = 0xff;   // the device sets 0 on success
  set_desc(idx[2], (uint64)&disk.inflight[idx[0]].status, 1, VIRTQ_DESC_F_WRITE, 0);

  b->disk = 1;                            // cleared by the interrupt handler
  disk.inflight[idx[0]].b = b;

  // Publish the request: the ring entry must be visible before the index
  // that covers it, and both before the notification.
  disk.avail->ring[disk.avail->idx % VIRTQ_SIZE] = idx[0];
  __sync_synchronize();
  disk.avail->idx += 1;
  __sync_synchronize();
  *REG(VIRTIO_MMIO_QUEUE_NOTIFY) = 0;     // queue 0

  while (b->disk == 1)
    sleep(b, &disk.lock);

  disk.inflight[idx[0]].b = 0;
  give_chain(idx[0]);
  release(&disk.lock);
}

// The device finished one or more requests.
void
virtio_disk_intr(void)
{
  acquire(&disk.lock);

  // Acknowledge first: a completion arriving while we walk the ring raises
  // a new interrupt rather than being lost.
  *REG(VIRTIO_MMIO_INTERRUPT_ACK) = *REG(VIRTIO_MMIO_INTERRUPT_STATUS) & 0x3;
  __sync_synchronize();

  while (disk.used_seen != disk.used->idx) {
    __sync_synchronize();   // read the entry only after seeing the index
    int id = disk.used->ring[disk.used_seen % VIRTQ_SIZE].id;
    if (id < 0 || id >= VIRTQ_SIZE || disk.inflight[id].b == 0)
      panic("virtio disk: completion for an unknown request");
    if (disk.inflight[id].status != VIRTIO_BLK_S_OK)
      panic("virtio disk: request failed");

    struct buf *b = disk.inflight[id].b;
    b->disk = 0;          // the data is in b->data (or on the disk)
    wakeup(b);
    disk.used_seen += 1;
  }

  release(&disk.lock);
}
