"""Unit tests of the board's devices, each driven through its registers."""

import struct

import pytest

from rvtrace.machine import clint, plic, uart, virtio_blk
from rvtrace.machine.bus import Bus, BusError
from rvtrace.machine.testdev import SifiveTest


class FakeHart:
    """Records the mip bits devices raise."""

    def __init__(self):
        self.mip = 0

    def set_pending(self, mask, level):
        self.mip = (self.mip | mask) if level else (self.mip & ~mask)


# --- bus ---------------------------------------------------------------------------------

class Recorder:
    def __init__(self):
        self.log = []

    def read(self, off, size):
        self.log.append(("r", off, size))
        return 0x1122334455667788

    def write(self, off, size, value):
        self.log.append(("w", off, size, value))


def test_bus_dispatches_by_range_and_reports_mmio():
    bus = Bus(1 << 20)
    dev = Recorder()
    bus.map(0x1000_0000, 0x100, dev)
    seen = []
    bus.on_mmio = lambda hart, paddr, size, value, is_write: seen.append((paddr, size, value, is_write))
    assert bus.read(0x1000_0010, 2) == 0x7788
    bus.write(0x1000_0020, 4, 0x1_2345_6789)
    assert dev.log == [("r", 0x10, 2), ("w", 0x20, 4, 0x2345_6789)]
    assert seen == [(0x1000_0010, 2, 0x7788, False), (0x1000_0020, 4, 0x2345_6789, True)]
    with pytest.raises(BusError):
        bus.read(0x1000_0100, 4)
    with pytest.raises(BusError):
        bus.write(0x0, 8, 1)


def test_bus_dma_write_invalidates_code_cache_and_checks_range():
    bus = Bus(1 << 20)
    calls = []

    class Cache:
        def invalidate(self, paddr, length):
            calls.append((paddr, length))

    bus.code_cache = Cache()
    bus.dma_write(0x8000_1000, b"abcd")
    assert bus.ram[0x1000:0x1004] == b"abcd"
    assert bus.read(0x8000_1000, 4) == int.from_bytes(b"abcd", "little")
    assert calls == [(0x8000_1000, 4)]
    with pytest.raises(BusError):
        bus.dma_write(0x8000_0000 + (1 << 20) - 2, b"abcd")


# --- CLINT -------------------------------------------------------------------------------

def make_clint(n=2):
    harts = [FakeHart() for _ in range(n)]
    now = [0]
    bus = Bus(4096)
    c = clint.Clint(harts, lambda: now[0], lambda v: now.__setitem__(0, v), bus)
    return c, harts, now, bus


def test_clint_msip_raises_software_interrupt_of_that_hart():
    c, harts, _, _ = make_clint()
    c.write(4, 4, 1)
    assert harts[1].mip & clint.MIP_MSIP and not harts[0].mip & clint.MIP_MSIP
    assert c.read(4, 4) == 1
    c.write(4, 4, 0)
    assert not harts[1].mip & clint.MIP_MSIP


def test_clint_mtimecmp_and_mtime():
    c, harts, now, bus = make_clint()
    assert c.read(0x4000, 8) == 0                      # reset value, as QEMU 7.2: MTIP pending
    assert harts[0].mip == clint.MIP_MTIP
    now[0] = 100
    c.write(0x4008, 8, 150)                            # hart 1
    assert bus.stop_requested                          # a new deadline re-plans the turn
    assert harts[1].mip == 0
    assert c.next_deadline(100) == 150
    now[0] = 150
    c.update_timers(150)
    assert harts[1].mip == clint.MIP_MTIP
    c.write(0x400C, 4, 1)                              # upper half: deadline far away
    assert c.read(0x4008, 8) == (1 << 32) | 150
    assert harts[1].mip == 0
    assert c.read(0xBFF8, 8) == 150 and c.read(0xBFFC, 4) == 0
    c.write(0xBFF8, 8, 1000)
    assert now[0] == 1000


# --- PLIC --------------------------------------------------------------------------------

def test_plic_claim_complete_priority_threshold():
    harts = [FakeHart(), FakeHart()]
    p = plic.Plic(harts)
    s1 = 3                                   # hart 1's S-mode context
    p.write(4 * 10, 4, 1)                    # priority(uart) = 1
    p.write(4 * 1, 4, 2)                     # priority(virtio) = 2
    p.write(0x2000 + 0x80 * s1, 4, (1 << 10) | (1 << 1))
    p.signal(10, True)
    assert harts[1].mip == plic.MIP_SEIP and harts[0].mip == 0
    assert p.read(0x1000, 4) == 1 << 10
    p.signal(1, True)
    assert p.read(0x200004 + 0x1000 * s1, 4) == 1     # higher priority first
    assert p.read(0x200004 + 0x1000 * s1, 4) == 10
    assert p.read(0x200004 + 0x1000 * s1, 4) == 0     # both in flight
    assert harts[1].mip == 0 and p.read(0x1000, 4) == 0
    p.write(0x200004 + 0x1000 * s1, 4, 10)            # complete while the line is still high:
    assert harts[1].mip == 0                          # ... not pended again (as QEMU)
    p.signal(10, True)                                # until the device signals again
    assert harts[1].mip == plic.MIP_SEIP
    p.write(0x200000 + 0x1000 * s1, 4, 1)             # threshold 1 masks priority 1
    assert harts[1].mip == 0
    assert p.read(0x200004 + 0x1000 * s1, 4) == 0
    p.write(0x200000 + 0x1000 * s1, 4, 0)
    assert harts[1].mip == plic.MIP_SEIP
    p.signal(10, False)                               # a low signal leaves pending alone
    assert harts[1].mip == plic.MIP_SEIP and p.read(0x1000, 4) == 1 << 10
    assert p.read(0x200004 + 0x1000 * s1, 4) == 10    # only a claim clears it
    assert harts[1].mip == 0 and p.read(0x1000, 4) == 0


def test_plic_signal_while_claimed_pends_after_complete():
    harts = [FakeHart()]
    p = plic.Plic(harts)
    p.write(4 * 1, 4, 1)
    p.write(0x2080, 4, 1 << 1)                         # hart 0 S-mode
    p.signal(1, True)
    assert p.read(0x201004, 4) == 1
    p.signal(1, True)                                  # the device signals again mid-handler
    assert p.read(0x1000, 4) == 1 << 1 and harts[0].mip == 0   # pending, but still claimed
    p.write(0x201004, 4, 1)
    assert harts[0].mip == plic.MIP_SEIP               # the complete lets it through
    assert p.read(0x201004, 4) == 1


def test_plic_m_context_drives_meip_and_priority_zero_never_fires():
    harts = [FakeHart()]
    p = plic.Plic(harts)
    p.write(0x2000, 4, 1 << 10)               # context 0 = hart 0 M-mode
    p.signal(10, True)
    assert harts[0].mip == 0                  # priority 0
    p.write(4 * 10, 4, 7)
    assert harts[0].mip == plic.MIP_MEIP
    assert p.read(4 * 10, 4) == 7


# --- UART --------------------------------------------------------------------------------

class Line:
    def __init__(self):
        self.levels = {}
        self.signals = []

    def signal(self, irq, level):
        self.levels[irq] = level
        self.signals.append(level)


def test_uart_transmit_and_receive_registers():
    out = []
    line = Line()
    u = uart.Uart(line, on_output=out.append)
    assert u.read(5, 1) == 0x60                         # THRE | TEMT, no data
    u.write(0, 1, ord("A"))
    assert out == [ord("A")]
    u.write(2, 1, 0x01)                                 # FIFO on
    u.feed(b"xy")
    assert u.read(5, 1) & 1
    assert u.read(0, 1) == ord("x") and u.read(0, 1) == ord("y")
    assert u.read(5, 1) & 1 == 0
    u.write(3, 1, 0x80)                                 # DLAB: divisor latch
    u.write(0, 1, 3)
    u.write(1, 1, 0)
    assert u.read(0, 1) == 3 and out == [ord("A")]      # not transmitted
    u.write(3, 1, 0x03)
    assert u.read(3, 1) == 3
    u.write(7, 1, 0x5A)
    assert u.read(7, 1) == 0x5A
    assert u.read(6, 1) == 0xB0


def test_uart_interrupts_as_qemu():
    line = Line()
    u = uart.Uart(line, on_output=lambda b: None)
    u.write(2, 1, 0x07)                                 # FIFO on
    assert u.read(2, 1) == 0xC1                         # nothing pending
    u.write(1, 1, uart.IER_RX)
    u.feed(b"k")
    assert line.levels[uart.IRQ] is True
    assert u.read(2, 1) == 0xC4                         # RX data
    u.read(0, 1)
    assert line.levels[uart.IRQ] is False
    u.write(1, 1, uart.IER_RX | uart.IER_TX)            # enabling TX-empty interrupts: due now
    assert line.levels[uart.IRQ] is True
    assert u.read(2, 1) == 0xC2                         # reading IIR acknowledges it
    assert line.levels[uart.IRQ] is False
    u.write(0, 1, ord("z"))                             # sent at once: THR empty again
    assert line.levels[uart.IRQ] is True
    u.feed(b"q")
    assert u.read(2, 1) == 0xC4                         # RX outranks TX


def test_uart_signals_on_every_update_as_qemu():
    line = Line()
    u = uart.Uart(line, on_output=lambda b: None)
    u.write(2, 1, 0x07)
    u.write(1, 1, uart.IER_TX)
    assert line.signals == [False, True]                # FCR (ETBEI still off), then IER on
    del line.signals[:]
    for ch in b"ab":                                    # a driver that never reads IIR:
        u.write(0, 1, ch)                               # each byte signals low then high again
    assert line.signals == [False, True, False, True]
    del line.signals[:]
    u.write(3, 1, 0x03)                                 # LCR, MCR, SCR writes and LSR, MSR
    u.write(4, 1, 0x08)                                 # reads do not signal
    u.write(7, 1, 1)
    u.read(5, 1)
    u.read(6, 1)
    u.write(1, 1, uart.IER_TX)                          # nor does an IER write that changes nothing
    assert line.signals == []
    u.read(0, 1)                                        # an RBR read does, even with nothing there
    assert line.signals == [True]
    u.write(1, 1, 0)                                    # turning ETBEI off forgets THR empty
    assert line.signals == [True, False] and u.read(2, 1) == 0xC1


def test_uart_fifo_holds_back_input_until_pumped():
    u = uart.Uart(Line(), on_output=lambda b: None)
    u.feed(b"ab")
    u.write(2, 1, 0x07)                                 # the driver resets the FIFOs ...
    u.write(2, 1, 0x00)
    assert not u.rx                                     # ... before it listens: nothing lost
    u.write(1, 1, uart.IER_RX)
    assert list(u.rx) == [ord("a")]                     # FIFOs off: one byte at a time
    u.write(2, 1, 0x01)                                 # FIFO on: room for 16
    data = bytes(range(65, 65 + 40))
    u.feed(data)
    got = bytes(u.read(0, 1) for _ in range(len(u.rx)))
    assert got == b"ab" + data[:14]
    assert u.read(5, 1) & 1 == 0                        # empty until the machine pumps
    u.pump()
    assert bytes(u.read(0, 1) for _ in range(len(u.rx))) == data[14:30]


def test_uart_loopback():
    out = []
    u = uart.Uart(Line(), on_output=out.append)
    u.write(4, 1, 0x10)
    u.write(0, 1, 0x42)
    assert out == [] and u.read(0, 1) == 0x42


# --- test device -------------------------------------------------------------------------

@pytest.mark.parametrize("value, result", [
    (0x5555, ("poweroff", 0)), ((7 << 16) | 0x3333, ("poweroff", 7)), (0x7777, ("reset", 0)),
])
def test_test_device_powers_off(value, result):
    bus = Bus(4096)
    t = SifiveTest(bus)
    t.write(0, 4, 0x1234)
    assert bus.power_off is None and not bus.stop_requested
    t.write(0, 4, value)
    assert bus.power_off == result and bus.stop_requested


# --- virtio-blk --------------------------------------------------------------------------

RAM = 0x8000_0000
DESC, AVAIL, USED, HDR, DATA, STATUS = RAM + 0x1000, RAM + 0x2000, RAM + 0x3000, RAM + 0x4000, RAM + 0x5000, RAM + 0x6000


def make_disk(image):
    bus = Bus(1 << 20)
    line = Line()
    clock = [0]
    dev = virtio_blk.VirtioBlk(bus, line, image=image, latency_fn=lambda: 500, now_fn=lambda: clock[0])
    return dev, bus, line, clock


def negotiate(dev):
    assert dev.read(0x000, 4) == 0x74726976
    assert dev.read(0x004, 4) == 2 and dev.read(0x008, 4) == 2 and dev.read(0x00C, 4) == 0x554D4551
    dev.write(0x070, 4, 0)
    dev.write(0x070, 4, 1 | 2)                          # ACKNOWLEDGE | DRIVER
    dev.write(0x014, 4, 1)
    high = dev.read(0x010, 4)
    assert high & 1                                     # VIRTIO_F_VERSION_1 (bit 32)
    dev.write(0x024, 4, 1)
    dev.write(0x020, 4, 1)
    dev.write(0x024, 4, 0)
    dev.write(0x020, 4, 0)
    dev.write(0x070, 4, 1 | 2 | 8)
    assert dev.read(0x070, 4) & 8                       # FEATURES_OK kept
    dev.write(0x030, 4, 0)
    assert dev.read(0x034, 4) >= 8
    dev.write(0x038, 4, 8)
    for reg, addr in ((0x080, DESC), (0x090, AVAIL), (0x0A0, USED)):
        dev.write(reg, 4, addr & 0xFFFF_FFFF)
        dev.write(reg + 4, 4, addr >> 32)
    dev.write(0x044, 4, 1)
    dev.write(0x070, 4, 1 | 2 | 8 | 4)


def submit(dev, bus, kind, sector, nbytes, write_data=None):
    bus.dma_write(HDR, struct.pack("<IIQ", kind, 0, sector))
    if write_data is not None:
        bus.dma_write(DATA, write_data)
    flags = 0 if write_data is not None else 2
    bus.dma_write(DESC, struct.pack("<QIHH", HDR, 16, 1, 1))
    bus.dma_write(DESC + 16, struct.pack("<QIHH", DATA, nbytes, 1 | flags, 2))
    bus.dma_write(DESC + 32, struct.pack("<QIHH", STATUS, 1, 2, 0))
    bus.dma_write(STATUS, b"\xff")
    idx = int.from_bytes(bus.dma_read(AVAIL + 2, 2), "little")
    bus.dma_write(AVAIL + 4 + 2 * (idx % 8), struct.pack("<H", 0))
    bus.dma_write(AVAIL + 2, struct.pack("<H", idx + 1))
    dev.write(0x050, 4, 0)


def test_virtio_read_request_completes_after_latency():
    image = bytes(range(256)) * 8 + b"B" * 512          # sectors 0..3 pattern, sector 4 "B"
    dev, bus, line, clock = make_disk(image)
    negotiate(dev)
    assert dev.read(0x100, 8) == len(image) // 512      # config: capacity in sectors
    clock[0] = 1000
    submit(dev, bus, 0, 4, 512)
    assert bus.stop_requested
    assert dev.next_deadline() == 1500
    dev.complete_due(1499)
    assert bus.dma_read(STATUS, 1) == b"\xff" and not line.levels.get(1)
    dev.complete_due(1500)
    assert bus.dma_read(DATA, 512) == b"B" * 512
    assert bus.dma_read(STATUS, 1) == b"\x00"
    used_idx, = struct.unpack("<H", bus.dma_read(USED + 2, 2))
    head, length = struct.unpack("<II", bus.dma_read(USED + 4, 8))
    assert (used_idx, head, length) == (1, 0, 513)
    assert dev.read(0x060, 4) == 1 and line.levels[1] is True
    dev.write(0x064, 4, 1)
    assert dev.read(0x060, 4) == 0 and line.levels[1] is False


def test_virtio_write_get_id_and_bad_sector():
    dev, bus, line, clock = make_disk(bytes(1024))
    negotiate(dev)
    submit(dev, bus, 1, 1, 512, write_data=b"w" * 512)
    dev.complete_due(10_000)
    assert dev.disk[512:1024] == b"w" * 512 and bus.dma_read(STATUS, 1) == b"\x00"
    submit(dev, bus, 8, 0, 20)
    dev.complete_due(20_000)
    assert bus.dma_read(DATA, 20).startswith(b"rvtrace")
    submit(dev, bus, 0, 2, 512)                          # past the end of a 2-sector disk
    dev.complete_due(30_000)
    assert bus.dma_read(STATUS, 1) == b"\x01"
    assert struct.unpack("<H", bus.dma_read(USED + 2, 2))[0] == 3


def test_virtio_refuses_unoffered_features_and_empty_slot_is_id_zero():
    dev, _, _, _ = make_disk(bytes(512))
    dev.write(0x024, 4, 0)
    dev.write(0x020, 4, 1 << 28)                        # INDIRECT_DESC: not offered
    dev.write(0x070, 4, 1 | 2 | 8)
    assert not dev.read(0x070, 4) & 8
    empty = virtio_blk.VirtioBlk(Bus(4096), Line())
    assert empty.read(0, 4) == 0x74726976 and empty.read(8, 4) == 0


def test_virtio_no_interrupt_flag_suppresses_the_interrupt():
    dev, bus, line, clock = make_disk(bytes(1024))
    negotiate(dev)
    bus.dma_write(AVAIL, struct.pack("<H", 1))          # VIRTQ_AVAIL_F_NO_INTERRUPT
    submit(dev, bus, 0, 0, 512)
    dev.complete_due(10_000)
    assert struct.unpack("<H", bus.dma_read(USED + 2, 2))[0] == 1
    assert dev.read(0x060, 4) == 0 and not line.levels.get(1)
