"""Loading a kernel ELF into RAM the way QEMU's `-kernel` does with `-bios none`.

Only what booting needs: check it is a little-endian RV64 executable, copy
every PT_LOAD segment to its physical address (zero-filling the .bss tail),
and return the entry point.
"""

from __future__ import annotations

import struct
from pathlib import Path

from rvtrace.errors import UserError
from rvtrace.files import check_input

EM_RISCV = 243
PT_LOAD = 1
_MACHINES = {3: "x86", 40: "ARM", 62: "x86-64", 183: "AArch64", EM_RISCV: "RISC-V"}


# The largest kernel file read: far above any kernel, far below what would hurt.
MAX_KERNEL_FILE = 64 << 20


def read_kernel(path: str | Path) -> bytes:
    path = check_input(path, "kernel")
    if path.stat().st_size > MAX_KERNEL_FILE:
        raise UserError(f"kernel {path}: {path.stat().st_size} bytes is not a kernel "
                        f"(at most {MAX_KERNEL_FILE >> 20} MiB)")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"kernel {path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"kernel {path}: is a directory, expected an RV64 ELF file") from None
    except OSError as exc:
        raise UserError(f"kernel {path}: cannot read it ({exc.strerror})") from None


def check_rv64(data: bytes, name: str) -> None:
    """UserError unless `data` is a little-endian 64-bit RISC-V ELF executable."""
    if data[:4] != b"\x7fELF":
        raise UserError(f"kernel {name}: not an ELF file (expected an RV64 RISC-V kernel ELF)")
    if len(data) < 64:
        raise UserError(f"kernel {name}: truncated ELF header")
    cls, endian = data[4], data[5]
    machine = struct.unpack_from("<H", data, 18)[0]
    if cls != 2 or endian != 1 or machine != EM_RISCV:
        what = f"{'64' if cls == 2 else '32'}-bit {_MACHINES.get(machine, f'machine {machine}')}"
        raise UserError(f"kernel {name}: is a {what} ELF, expected an RV64 RISC-V kernel ELF")


def load_elf(data: bytes, bus, name: str = "kernel") -> int:
    """Copy the PT_LOAD segments into `bus.ram`; returns the entry point."""
    check_rv64(data, name)
    entry, phoff = struct.unpack_from("<QQ", data, 24)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 56 > len(data):
            raise UserError(f"kernel {name}: truncated program header table")
        p_type, _, p_offset, _, p_paddr, p_filesz, p_memsz, _ = struct.unpack_from("<IIQQQQQQ", data, off)
        if p_type != PT_LOAD or p_memsz == 0:
            continue
        if p_memsz < p_filesz:
            raise UserError(f"kernel {name}: segment {i} is malformed (p_memsz {p_memsz:#x} is smaller "
                            f"than p_filesz {p_filesz:#x})")
        if not bus.in_ram(p_paddr, p_memsz):
            if p_paddr >= bus.ram_base and p_paddr < bus.ram_base + (1 << 40):
                need = (p_paddr + p_memsz - bus.ram_base + (1 << 20) - 1) >> 20
                raise UserError(f"kernel {name}: --mem {bus.ram_size >> 20} is too small for this kernel: "
                                f"its segment at {p_paddr:#x} (+{p_memsz:#x}) needs at least {need} MiB of RAM")
            raise UserError(f"kernel {name}: segment at {p_paddr:#x} (+{p_memsz:#x}) lies outside RAM "
                            f"[{bus.ram_base:#x}, {bus.ram_end:#x}); link it for 0x80000000 or give more --mem")
        if p_offset + p_filesz > len(data):
            raise UserError(f"kernel {name}: truncated segment data")
        start = p_paddr - bus.ram_base
        bus.ram[start:start + p_filesz] = data[p_offset:p_offset + p_filesz]
        bus.ram[start + p_filesz:start + p_memsz] = bytes(p_memsz - p_filesz)
    return entry


def function_namer(data: bytes):
    """`name(pc)` -> "function+0x1c" from the ELF's symbol table, or None (no symbols, or
    no function there). For messages about a running kernel; the symbol table is read
    on the first call."""
    table = []

    def load():
        from io import BytesIO

        from elftools.elf.elffile import ELFFile
        from elftools.elf.sections import SymbolTableSection
        try:
            elf = ELFFile(BytesIO(data))
            for section in elf.iter_sections():
                if isinstance(section, SymbolTableSection):
                    for sym in section.iter_symbols():
                        if sym["st_info"]["type"] == "STT_FUNC" and sym["st_value"]:
                            table.append((sym["st_value"], sym["st_size"], sym.name))
        except Exception:           # a damaged symbol table only costs us the names
            pass
        table.sort()
        table.append((1 << 64, 0, ""))          # a sentinel: the table is loaded

    def name(pc: int) -> str | None:
        if not table:
            load()
        from bisect import bisect_right
        i = bisect_right(table, (pc, 1 << 64, "")) - 1
        if i < 0:
            return None
        start, size, fname = table[i]
        if pc >= start + max(size, 1) or not fname:
            return None
        return f"{fname}+{pc - start:#x}" if pc != start else fname
    return name
