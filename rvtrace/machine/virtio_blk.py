"""virtio-mmio block device (modern interface, version 2) at 0x10001000, IRQ 1.

The driver negotiates features, describes one split virtqueue (descriptor
table, available ring, used ring at addresses it chooses) and writes
QueueNotify. We read the new requests at once but complete each one later:
the machine's scheduler decides the latency (an exact instruction count), and
`complete_due(now)` performs the transfer, fills the used ring and raises the
interrupt. Disk writes go to an in-memory copy of the image, never the file,
so a run can be replayed from the same bytes.

An instance with no image is an empty transport (device id 0), as QEMU puts
at every unused virtio-mmio slot.
"""

from __future__ import annotations

import heapq
import struct

BASE = 0x1000_1000
STRIDE = 0x1000
SLOTS = 8                       # QEMU virt: 0x10001000..0x10008000, IRQs 1..8
IRQ = 1
SECTOR = 512

MAGIC = 0x74726976              # "virt"
VENDOR_QEMU = 0x554D4551        # "QEMU"
DEVICE_BLOCK = 2
QUEUE_NUM_MAX = 1024

F_SEG_MAX = 1 << 2
F_BLK_SIZE = 1 << 6
F_FLUSH = 1 << 9
F_VERSION_1 = 1 << 32
OFFERED = F_VERSION_1 | F_SEG_MAX | F_BLK_SIZE | F_FLUSH
SEG_MAX = 128

T_IN, T_OUT, T_FLUSH, T_GET_ID = 0, 1, 4, 8
S_OK, S_IOERR, S_UNSUPP = 0, 1, 2
DESC_NEXT, DESC_WRITE = 1, 2
AVAIL_NO_INTERRUPT = 1
STATUS_FEATURES_OK = 8
STATUS_NEEDS_RESET = 0x40
DEVICE_ID_STRING = b"rvtrace-virtio-blk\0\0"   # GET_ID answers 20 bytes

# register offsets (virtio 1.x, section 4.2.2)
R_MAGIC, R_VERSION, R_DEVICE_ID, R_VENDOR_ID = 0x000, 0x004, 0x008, 0x00C
R_DEV_FEATURES, R_DEV_FEATURES_SEL = 0x010, 0x014
R_DRV_FEATURES, R_DRV_FEATURES_SEL = 0x020, 0x024
R_QUEUE_SEL, R_QUEUE_NUM_MAX, R_QUEUE_NUM, R_QUEUE_READY = 0x030, 0x034, 0x038, 0x044
R_QUEUE_NOTIFY, R_INT_STATUS, R_INT_ACK, R_STATUS = 0x050, 0x060, 0x064, 0x070
R_DESC_LO, R_DESC_HI, R_AVAIL_LO, R_AVAIL_HI = 0x080, 0x084, 0x090, 0x094
R_USED_LO, R_USED_HI, R_CONFIG_GEN, R_CONFIG = 0x0A0, 0x0A4, 0x0FC, 0x100


class VirtioError(Exception):
    """The driver handed us something we cannot follow (bad address, loop)."""


class VirtioBlk:
    STATE = ("disk", "status", "dev_features_sel", "drv_features_sel", "driver_features",
             "queue_sel", "num", "ready", "desc", "avail", "used", "int_status", "last_avail",
             "used_idx", "inflight", "_seq", "error")

    def __init__(self, bus, plic, irq: int = IRQ, image: bytes | None = None,
                 latency_fn=None, now_fn=None):
        self.bus = bus
        self.plic = plic
        self.irq = irq
        self.disk = bytearray(image) if image is not None else None
        self.latency_fn = latency_fn or (lambda: 0)   # the scheduler's decision
        self.now_fn = now_fn or (lambda: 0)
        self._seq = 0
        self.error = None               # what broke, when the driver confused us
        self.on_request = None          # observer(kind, sector, nbytes, head) at notify
        self.on_complete = None         # observer(kind, sector, nbytes, head, status)
        self.reads = 0                  # register reads (a driver polling the device)
        self.reset()

    @property
    def present(self) -> bool:
        return self.disk is not None

    def reset(self) -> None:
        self.status = 0
        self.dev_features_sel = 0
        self.drv_features_sel = 0
        self.driver_features = 0
        self.queue_sel = 0
        self.num = 0
        self.ready = 0
        self.desc = self.avail = self.used = 0
        self.int_status = 0
        self.last_avail = 0
        self.used_idx = 0
        self.inflight: list = []        # heap of (due, seq, head, kind, sector, segments)
        self._set_line()

    # --- register interface ---------------------------------------------------------

    @property
    def requests_taken(self) -> int:
        return self._seq

    def read(self, off: int, size: int) -> int:
        self.reads += 1
        if off >= R_CONFIG:
            return self._config_read(off - R_CONFIG, size)
        if off == R_MAGIC:
            return MAGIC
        if off == R_VERSION:
            return 2
        if off == R_DEVICE_ID:
            return DEVICE_BLOCK if self.present else 0
        if off == R_VENDOR_ID:
            return VENDOR_QEMU
        if not self.present:
            return 0
        if off == R_DEV_FEATURES:
            return (OFFERED >> (32 * self.dev_features_sel)) & 0xFFFF_FFFF if self.dev_features_sel < 2 else 0
        if off == R_QUEUE_NUM_MAX:
            return QUEUE_NUM_MAX if self.queue_sel == 0 else 0
        if off == R_QUEUE_NUM:
            return self.num if self.queue_sel == 0 else 0
        if off == R_QUEUE_READY:
            return self.ready if self.queue_sel == 0 else 0
        if off == R_INT_STATUS:
            return self.int_status
        if off == R_STATUS:
            return self.status
        if off == R_CONFIG_GEN:
            return 0
        regs = {R_DESC_LO: self.desc, R_DESC_HI: self.desc >> 32, R_AVAIL_LO: self.avail,
                R_AVAIL_HI: self.avail >> 32, R_USED_LO: self.used, R_USED_HI: self.used >> 32,
                R_DEV_FEATURES_SEL: self.dev_features_sel, R_DRV_FEATURES_SEL: self.drv_features_sel,
                R_QUEUE_SEL: self.queue_sel}
        return regs.get(off, 0) & 0xFFFF_FFFF

    def write(self, off: int, size: int, value: int) -> None:
        if not self.present:
            return
        value &= 0xFFFF_FFFF
        if off == R_DEV_FEATURES_SEL:
            self.dev_features_sel = value
        elif off == R_DRV_FEATURES_SEL:
            self.drv_features_sel = value
        elif off == R_DRV_FEATURES:
            if self.drv_features_sel < 2:
                shift = 32 * self.drv_features_sel
                kept = self.driver_features & ~(0xFFFF_FFFF << shift)
                self.driver_features = kept | (value << shift)
        elif off == R_QUEUE_SEL:
            self.queue_sel = value
        elif self.queue_sel == 0 and off in _QUEUE_FIELDS:
            setattr(self, _QUEUE_FIELDS[off][0], _QUEUE_FIELDS[off][1](getattr(self, _QUEUE_FIELDS[off][0]), value))
        elif off == R_QUEUE_NOTIFY:
            if value == 0 and self.ready:
                self.notify()
                self.bus.request_stop()     # new completion deadlines: re-plan the quantum
        elif off == R_INT_ACK:
            self.int_status &= ~value
            self._set_line()
        elif off == R_STATUS:
            self._write_status(value)

    def _write_status(self, value: int) -> None:
        if value == 0:
            self.reset()
            return
        if value & STATUS_FEATURES_OK and not self.status & STATUS_FEATURES_OK:
            # we accept any subset of what we offer; more than that is refused
            if self.driver_features & ~OFFERED:
                value &= ~STATUS_FEATURES_OK
        self.status = value

    def _config_read(self, off: int, size: int) -> int:
        if not self.present:
            return 0
        capacity = len(self.disk) // SECTOR
        config = struct.pack("<QII", capacity, 0, SEG_MAX) + b"\0" * 4 + struct.pack("<I", SECTOR)
        config += b"\0" * 40
        return int.from_bytes(config[off:off + size], "little")

    # --- the virtqueue ----------------------------------------------------------------

    def _u16(self, addr: int) -> int:
        return int.from_bytes(self.bus.dma_read(addr, 2), "little")

    def notify(self) -> None:
        """Take every new request from the available ring; complete them later."""
        try:
            avail_idx = self._u16(self.avail + 2)
            while self.last_avail != avail_idx:
                head = self._u16(self.avail + 4 + 2 * (self.last_avail % self.num))
                self.last_avail = (self.last_avail + 1) & 0xFFFF
                self._accept(head)
        except Exception as exc:        # a driver bug: tell it the device broke
            self.status |= STATUS_NEEDS_RESET
            self.int_status |= 2
            self._set_line()
            self.error = str(exc)

    def _chain(self, head: int):
        segments, i, seen = [], head, 0
        while True:
            if i >= self.num or seen > self.num:
                raise VirtioError(f"bad descriptor index {i}")
            addr, length, flags, nxt = struct.unpack("<QIHH", self.bus.dma_read(self.desc + 16 * i, 16))
            segments.append((addr, length, bool(flags & DESC_WRITE)))
            seen += 1
            if not flags & DESC_NEXT:
                return segments
            i = nxt

    def _accept(self, head: int) -> None:
        segments = self._chain(head)
        kind, _, sector = struct.unpack("<IIQ", self.bus.dma_read(segments[0][0], 16))
        nbytes = sum(s[1] for s in segments[1:-1])
        if self.on_request is not None:
            self.on_request(kind, sector, nbytes, head)
        due = self.now_fn() + self.latency_fn()
        self._seq += 1
        heapq.heappush(self.inflight, (due, self._seq, head, kind, sector, segments))

    def next_deadline(self):
        return self.inflight[0][0] if self.inflight else None

    def complete_due(self, now: int) -> None:
        while self.inflight and self.inflight[0][0] <= now:
            _, _, head, kind, sector, segments = heapq.heappop(self.inflight)
            status, written = self._perform(kind, sector, segments[1:-1])
            status_addr = segments[-1][0]
            self.bus.dma_write(status_addr, bytes([status]))
            self._push_used(head, written + 1)
            if self.on_complete is not None:
                self.on_complete(kind, sector, sum(s[1] for s in segments[1:-1]), head, status)

    def _perform(self, kind: int, sector: int, data):
        """Do one request; returns (status byte, bytes written into guest memory)."""
        total = sum(length for _, length, _ in data)
        start = sector * SECTOR
        if kind in (T_IN, T_OUT) and start + total > len(self.disk):
            return S_IOERR, 0
        if kind == T_IN:
            pos = start
            for addr, length, _ in data:
                self.bus.dma_write(addr, bytes(self.disk[pos:pos + length]))
                pos += length
            return S_OK, total
        if kind == T_OUT:
            pos = start
            for addr, length, _ in data:
                self.disk[pos:pos + length] = self.bus.dma_read(addr, length)
                pos += length
            return S_OK, 0
        if kind == T_FLUSH:
            return S_OK, 0
        if kind == T_GET_ID and data:
            addr, length, _ = data[0]
            chunk = DEVICE_ID_STRING[:length]
            self.bus.dma_write(addr, chunk)
            return S_OK, len(chunk)
        return S_UNSUPP, 0

    def _push_used(self, head: int, length: int) -> None:
        slot = self.used + 4 + 8 * (self.used_idx % self.num)
        self.bus.dma_write(slot, struct.pack("<II", head, length))
        self.used_idx = (self.used_idx + 1) & 0xFFFF
        self.bus.dma_write(self.used + 2, struct.pack("<H", self.used_idx))
        if not self._u16(self.avail) & AVAIL_NO_INTERRUPT:    # the driver may be polling
            self.int_status |= 1
            self._set_line()

    def _set_line(self) -> None:
        # QEMU signals the PLIC at every notification and acknowledge, level unchanged or not
        if self.plic is not None:
            self.plic.signal(self.irq, self.int_status != 0)


def _lo(old: int, v: int) -> int:
    return (old & ~0xFFFF_FFFF) | v


def _hi(old: int, v: int) -> int:
    return (old & 0xFFFF_FFFF) | (v << 32)


# queue registers: attribute name and how a write combines with the old value
_QUEUE_FIELDS = {
    R_QUEUE_NUM: ("num", lambda old, v: v if 0 < v <= QUEUE_NUM_MAX else old),
    R_QUEUE_READY: ("ready", lambda old, v: v & 1),
    R_DESC_LO: ("desc", _lo), R_DESC_HI: ("desc", _hi),
    R_AVAIL_LO: ("avail", _lo), R_AVAIL_HI: ("avail", _hi),
    R_USED_LO: ("used", _lo), R_USED_HI: ("used", _hi),
}
