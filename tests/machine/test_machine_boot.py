"""The device tree and the ELF loader: what a kernel finds when it boots."""

import struct

import pytest

from fdtread import cells, node, parse_fdt, string
from rvtrace.errors import UserError
from rvtrace.machine.bus import Bus
from rvtrace.machine.elfload import check_rv64, load_elf
from rvtrace.machine.fdt import board_fdt, fdt_address


def test_fdt_describes_the_board():
    blob = board_fdt(3, 0x8000_0000, 128 << 20, "cow=0 forkexec")
    tree = parse_fdt(blob)
    assert string(node(tree, "chosen")["props"]["bootargs"]) == "cow=0 forkexec"
    assert string(node(tree, "chosen")["props"]["stdout-path"]) == "/soc/serial@10000000"
    assert cells(node(tree, "memory@80000000")["props"]["reg"]) == [0, 0x8000_0000, 0, 128 << 20]
    cpus = node(tree, "cpus")
    assert cells(cpus["props"]["timebase-frequency"]) == [10_000_000]
    assert sorted(n for n in cpus["children"] if n.startswith("cpu@")) == ["cpu@0", "cpu@1", "cpu@2"]
    cpu2 = node(tree, "cpus/cpu@2")
    assert cells(cpu2["props"]["reg"]) == [2]
    assert string(cpu2["props"]["riscv,isa"]).startswith("rv64imac")
    soc = node(tree, "soc")
    for name in ("clint@2000000", "plic@c000000", "serial@10000000", "virtio_mmio@10001000", "test@100000"):
        assert name in soc["children"], name
    serial = node(tree, "soc/serial@10000000")["props"]
    assert string(serial["compatible"]) == "ns16550a" and cells(serial["interrupts"]) == [10]
    assert cells(node(tree, "soc/virtio_mmio@10001000")["props"]["interrupts"]) == [1]
    plic = node(tree, "soc/plic@c000000")["props"]
    phandle = cells(node(tree, "cpus/cpu@1/interrupt-controller")["props"]["phandle"])[0]
    ext = cells(plic["interrupts-extended"])
    assert ext[4:8] == [phandle, 11, phandle, 9]          # hart 1: M then S external
    clint = cells(node(tree, "soc/clint@2000000")["props"]["interrupts-extended"])
    assert clint[4:8] == [phandle, 3, phandle, 7]


def test_fdt_address_like_qemu():
    assert fdt_address(0x8000_0000, 128 << 20, 0x1000) == 0x87E0_0000
    assert fdt_address(0x8000_0000, 2048 << 20, 0x1000) == 0xBFE0_0000   # below 3 GiB


def elf(machine=243, cls=2, segments=((0x8000_0000, b"\x13\x00\x00\x00", 16),), entry=0x8000_0000):
    """A minimal ELF64 with PT_LOAD segments (paddr, data, memsz)."""
    phoff = 64
    data_off = phoff + 56 * len(segments)
    header = b"\x7fELF" + bytes([cls, 1, 1]) + bytes(9)
    header += struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, entry, phoff, 0, 0, 64, 56, len(segments), 64, 0, 0)
    phdrs, body = b"", b""
    for paddr, payload, memsz in segments:
        phdrs += struct.pack("<IIQQQQQQ", 1, 7, data_off + len(body), paddr, paddr, len(payload), memsz, 4)
        body += payload
    return header + phdrs + body


def test_elf_loader_copies_segments_and_zero_fills():
    bus = Bus(1 << 20)
    bus.ram[0:32] = b"\xee" * 32
    entry = load_elf(elf(entry=0x8000_0004), bus)
    assert entry == 0x8000_0004
    assert bus.ram[0:4] == b"\x13\x00\x00\x00" and bus.ram[4:16] == bytes(12) and bus.ram[16] == 0xEE


@pytest.mark.parametrize("blob, words", [
    (b"#!/bin/sh\n" * 10, "not an ELF"),
    (elf(machine=62), "64-bit x86-64"),
    (elf(cls=1), "32-bit RISC-V"),
])
def test_elf_loader_rejects_non_rv64(blob, words):
    with pytest.raises(UserError, match=words):
        check_rv64(blob, "k.elf")


def test_elf_segment_outside_ram_is_a_user_error():
    with pytest.raises(UserError, match="outside RAM"):
        load_elf(elf(segments=((0x1000, b"x", 1),)), Bus(1 << 20), "k.elf")
