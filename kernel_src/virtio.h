// The virtio-mmio transport (version 2, "modern") and the block device's
// requests, as the virtio 1.x specification lays them out. Only what our
// driver (virtio_disk.c) needs.
#ifndef KERNEL_VIRTIO_H
#define KERNEL_VIRTIO_H

#include "types.h"

// --- MMIO registers: byte offsets from the device's base address (all 32-bit)
#define VIRTIO_MMIO_MAGIC_VALUE        0x000  // reads "virt" = 0x74726976
#define VIRTIO_MMIO_VERSION            0x004  // 2 for the modern interface
#define VIRTIO_MMIO_DEVICE_ID          0x008  // 2 = block device
#define VIRTIO_MMIO_VENDOR_ID          0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES    0x010  // 32 feature bits, chosen by ..._SEL
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014 // 0: bits 0-31, 1: bits 32-63
#define VIRTIO_MMIO_DRIVER_FEATURES    0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL          0x030  // which queue the QUEUE_* registers mean
#define VIRTIO_MMIO_QUEUE_NUM_MAX      0x034  // largest queue the device supports
#define VIRTIO_MMIO_QUEUE_NUM          0x038  // queue size the driver chose
#define VIRTIO_MMIO_QUEUE_READY        0x044  // 1: the queue is set up
#define VIRTIO_MMIO_QUEUE_NOTIFY       0x050  // write a queue number: "look at it"
#define VIRTIO_MMIO_INTERRUPT_STATUS   0x060  // bit 0: used ring updated
#define VIRTIO_MMIO_INTERRUPT_ACK      0x064
#define VIRTIO_MMIO_STATUS             0x070  // device status bits below
#define VIRTIO_MMIO_QUEUE_DESC_LOW     0x080  // physical address of the descriptor table
#define VIRTIO_MMIO_QUEUE_DESC_HIGH    0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW   0x090  // ... of the available ("driver") ring
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH  0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW   0x0a0  // ... of the used ("device") ring
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH  0x0a4
#define VIRTIO_MMIO_CONFIG             0x100  // device-specific configuration

#define VIRTIO_MAGIC 0x74726976
#define VIRTIO_DEVICE_BLOCK 2

// --- device status bits, set by the driver one by one during start-up
#define VIRTIO_STATUS_ACKNOWLEDGE  1   // the driver has seen the device
#define VIRTIO_STATUS_DRIVER       2   // ... and knows how to drive it
#define VIRTIO_STATUS_DRIVER_OK    4   // ... and is ready
#define VIRTIO_STATUS_FEATURES_OK  8   // feature negotiation is over
#define VIRTIO_STATUS_FAILED     128   // the driver gave up

// --- feature bits (numbers, not masks)
#define VIRTIO_BLK_F_RO           5    // read-only disk
#define VIRTIO_BLK_F_SCSI         7
#define VIRTIO_BLK_F_CONFIG_WCE  11
#define VIRTIO_BLK_F_MQ          12    // several queues
#define VIRTIO_F_ANY_LAYOUT      27
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX  29
#define VIRTIO_F_VERSION_1       32    // "modern" device: required by this driver

// --- the split virtqueue
#define VIRTQ_SIZE 8   // descriptors in our queue; a request uses three

struct virtq_desc {      // one buffer of a request
  uint64 addr;           // physical address
  uint32 len;
  uint16 flags;
  uint16 next;           // following descriptor when flags has VIRTQ_DESC_F_NEXT
};
#define VIRTQ_DESC_F_NEXT   1   // the chain continues at .next
#define VIRTQ_DESC_F_WRITE  2   // the device writes this buffer (else reads it)

struct virtq_avail {     // driver -> device: heads of new requests
  uint16 flags;
  uint16 idx;            // where the driver will put the next entry (mod VIRTQ_SIZE)
  uint16 ring[VIRTQ_SIZE];
  uint16 unused;
};

struct virtq_used_elem {
  uint32 id;             // head descriptor of a finished request
  uint32 len;
};

struct virtq_used {      // device -> driver: finished requests
  uint16 flags;
  uint16 idx;            // where the device will put the next entry (mod VIRTQ_SIZE)
  struct virtq_used_elem ring[VIRTQ_SIZE];
};

// --- block requests: a header, the data, one status byte, in 3 descriptors
#define VIRTIO_BLK_T_IN   0   // read from the disk
#define VIRTIO_BLK_T_OUT  1   // write to the disk

struct virtio_blk_req {
  uint32 type;           // VIRTIO_BLK_T_IN or _OUT
  uint32 reserved;
  uint64 sector;         // in 512-byte sectors
};

#define VIRTIO_BLK_S_OK 0    // the status byte the device writes on success

#endif
