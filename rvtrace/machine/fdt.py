"""A flattened device tree (DTB) describing the board, as QEMU's virt gives a kernel.

`FdtWriter` is a minimal DTB encoder (devicetree specification v0.4, chapter 5:
header, memory reservation block, structure block of tokens, strings block);
`board_fdt` describes our board with it: memory, cpus with their interrupt
controllers, /chosen (bootargs, stdout-path) and the soc devices.
"""

from __future__ import annotations

import struct

from rvtrace.machine import clint, plic, testdev, uart, virtio_blk

FDT_MAGIC = 0xD00DFEED
BEGIN_NODE, END_NODE, PROP, END = 1, 2, 3, 9
TIMEBASE_HZ = 10_000_000
ISA = "rv64imac_zicsr_zifencei_sstc"


def _pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def cells(*values: int) -> bytes:
    return b"".join(struct.pack(">I", v & 0xFFFF_FFFF) for v in values)


def reg64(base: int, size: int) -> bytes:
    return cells(base >> 32, base, size >> 32, size)


def strings(*items: str) -> bytes:
    return b"".join(s.encode() + b"\0" for s in items)


class FdtWriter:
    def __init__(self):
        self.struct = bytearray()
        self.strings = bytearray()
        self._offsets: dict[str, int] = {}

    def begin(self, name: str) -> None:
        self.struct += struct.pack(">I", BEGIN_NODE) + _pad4(name.encode() + b"\0")

    def end(self) -> None:
        self.struct += struct.pack(">I", END_NODE)

    def prop(self, name: str, value: bytes | str | int = b"") -> None:
        if isinstance(value, str):
            value = value.encode() + b"\0"
        elif isinstance(value, int):
            value = cells(value)
        if name not in self._offsets:
            self._offsets[name] = len(self.strings)
            self.strings += name.encode() + b"\0"
        self.struct += struct.pack(">III", PROP, len(value), self._offsets[name]) + _pad4(value)

    def finish(self, boot_cpuid: int = 0) -> bytes:
        body = bytes(self.struct) + struct.pack(">I", END)
        header_size = 40
        rsvmap = b"\0" * 16                    # one empty reservation entry ends the list
        off_rsv = header_size
        off_struct = off_rsv + len(rsvmap)
        off_strings = off_struct + len(body)
        total = off_strings + len(self.strings)
        header = struct.pack(">10I", FDT_MAGIC, total, off_struct, off_strings, off_rsv,
                             17, 16, boot_cpuid, len(self.strings), len(body))
        return header + rsvmap + body + bytes(self.strings)


def board_fdt(harts: int, ram_base: int, ram_size: int, bootargs: str,
              virtio_slots: int = virtio_blk.SLOTS) -> bytes:
    """The device tree of our virt-compatible board."""
    w = FdtWriter()
    intc = [1 + h for h in range(harts)]       # phandles of the cpus' interrupt controllers
    ph_plic, ph_test, ph_cpu0 = harts + 1, harts + 2, harts + 3
    w.begin("")
    w.prop("#address-cells", 2)
    w.prop("#size-cells", 2)
    w.prop("compatible", "riscv-virtio")
    w.prop("model", "riscv-virtio,qemu")

    w.begin("chosen")
    w.prop("bootargs", bootargs)
    w.prop("stdout-path", f"/soc/serial@{uart.BASE:x}")
    w.end()

    w.begin(f"memory@{ram_base:x}")
    w.prop("device_type", "memory")
    w.prop("reg", reg64(ram_base, ram_size))
    w.end()

    _cpus(w, harts, intc, ph_cpu0)

    w.begin("poweroff")
    w.prop("compatible", "syscon-poweroff")
    w.prop("regmap", ph_test)
    w.prop("offset", 0)
    w.prop("value", testdev.PASS)
    w.end()
    w.begin("reboot")
    w.prop("compatible", "syscon-reboot")
    w.prop("regmap", ph_test)
    w.prop("offset", 0)
    w.prop("value", testdev.RESET)
    w.end()

    w.begin("soc")
    w.prop("#address-cells", 2)
    w.prop("#size-cells", 2)
    w.prop("compatible", "simple-bus")
    w.prop("ranges")
    _soc(w, harts, intc, ph_plic, ph_test, virtio_slots)
    w.end()

    w.end()
    return w.finish()


def _cpus(w: FdtWriter, harts: int, intc, ph_cpu0: int) -> None:
    w.begin("cpus")
    w.prop("#address-cells", 1)
    w.prop("#size-cells", 0)
    w.prop("timebase-frequency", TIMEBASE_HZ)
    for h in range(harts):
        w.begin(f"cpu@{h}")
        w.prop("phandle", ph_cpu0 + h)
        w.prop("device_type", "cpu")
        w.prop("reg", h)
        w.prop("status", "okay")
        w.prop("compatible", "riscv")
        w.prop("riscv,isa", ISA)
        w.prop("mmu-type", "riscv,sv39")
        w.begin("interrupt-controller")
        w.prop("#interrupt-cells", 1)
        w.prop("interrupt-controller")
        w.prop("compatible", "riscv,cpu-intc")
        w.prop("phandle", intc[h])
        w.end()
        w.end()
    w.begin("cpu-map")
    w.begin("cluster0")
    for h in range(harts):
        w.begin(f"core{h}")
        w.prop("cpu", ph_cpu0 + h)
        w.end()
    w.end()
    w.end()
    w.end()


def _soc(w: FdtWriter, harts: int, intc, ph_plic: int, ph_test: int, virtio_slots: int) -> None:
    w.begin(f"test@{testdev.BASE:x}")
    w.prop("phandle", ph_test)
    w.prop("reg", reg64(testdev.BASE, testdev.SIZE))
    w.prop("compatible", strings("sifive,test1", "sifive,test0", "syscon"))
    w.end()

    for slot in reversed(range(virtio_slots)):  # QEMU lists them last slot first
        base = virtio_blk.BASE + slot * virtio_blk.STRIDE
        w.begin(f"virtio_mmio@{base:x}")
        w.prop("interrupts", virtio_blk.IRQ + slot)
        w.prop("interrupt-parent", ph_plic)
        w.prop("reg", reg64(base, virtio_blk.STRIDE))
        w.prop("compatible", "virtio,mmio")
        w.end()

    w.begin(f"serial@{uart.BASE:x}")
    w.prop("interrupts", uart.IRQ)
    w.prop("interrupt-parent", ph_plic)
    w.prop("clock-frequency", 0x384000)
    w.prop("reg", reg64(uart.BASE, uart.SIZE))
    w.prop("compatible", "ns16550a")
    w.end()

    w.begin(f"plic@{plic.BASE:x}")
    w.prop("phandle", ph_plic)
    w.prop("riscv,ndev", plic.NUM_SOURCES - 1)
    w.prop("reg", reg64(plic.BASE, plic.size_for(harts)))
    w.prop("interrupts-extended", cells(*[v for h in range(harts) for v in (intc[h], 11, intc[h], 9)]))
    w.prop("interrupt-controller")
    w.prop("compatible", strings("sifive,plic-1.0.0", "riscv,plic0"))
    w.prop("#address-cells", 0)
    w.prop("#interrupt-cells", 1)
    w.end()

    w.begin(f"clint@{clint.BASE:x}")
    w.prop("interrupts-extended", cells(*[v for h in range(harts) for v in (intc[h], 3, intc[h], 7)]))
    w.prop("reg", reg64(clint.BASE, clint.SIZE))
    w.prop("compatible", strings("sifive,clint0", "riscv,clint0"))
    w.end()


def fdt_address(ram_base: int, ram_size: int, blob_size: int) -> int:
    """Where QEMU (7.x) puts the DTB: the end of RAM below 3 GiB, minus its size, 2 MiB aligned."""
    ram_end = ram_base + ram_size
    top = min(ram_end, 3 << 30) if ram_base < (3 << 30) else ram_end
    return (top - blob_size) & ~((2 << 20) - 1)
