"""KernelImage: what a guest kernel's ELF says about itself (symbols, DWARF, lines).

Everything here is read from the file with pyelftools -- no machine needed.
pyelftools is imported on first use: an image restored from the symbol cache
(record/kernelcache.py) answers symbol and struct queries without it.
- functions: the function containing a pc, the address of a symbol;
- DWARF 2 to 5 types: struct layouts (member offsets and sizes), enum values;
- the line program: the source file and line of a pc;
- a kernel backtrace through frame pointers, given a way to read memory.

The kernel may be ours, a student's xv6, or stripped: each query answers
None when the information is missing, and `has_symbols` / `has_dwarf` say
what the file holds, so callers degrade instead of failing.
"""

from __future__ import annotations

import bisect
import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rvtrace.errors import UserError
from rvtrace.kernel.elfsyms import ElfFormatError, loaded_segments
from rvtrace.kernel.elfsyms import symbols as elf_symbols
from rvtrace.kernel.lines import LineTable

ReadFn = Callable[[int, int], bytes]

# Functions a hart enters without a call, so the oldest frame of a stack: the kernel's main
# (start() mrets into it), usertrap (the trampoline jumps to it), forkret (a new process's first
# swtch returns into it), and a user program's _start (exec starts it). A backtrace ends there.
ENTRY_FUNCTIONS = frozenset({"main", "usertrap", "forkret", "_start"})
DW_OP_plus_uconst = 0x23


@dataclass(frozen=True)
class Member:
    name: str
    offset: int
    size: int | None


@dataclass(frozen=True)
class StructLayout:
    name: str
    size: int
    members: dict[str, Member]

    def offset(self, member: str) -> int | None:
        m = self.members.get(member)
        return m.offset if m else None


@dataclass(frozen=True)
class Frame:
    pc: int
    function: str | None
    offset: int            # pc - function start (0 when the function is unknown)
    fp: int                # the frame pointer this frame was found through

    def __str__(self) -> str:
        return f"{self.function}+{self.offset:#x}" if self.function else f"{self.pc:#x}"


class KernelImage:
    """Introspection of one kernel ELF (a path, or its bytes as stored in a trace)."""

    def __init__(self, elf: str | os.PathLike | bytes):
        if isinstance(elf, (bytes, bytearray)):
            data, self.name = bytes(elf), "kernel ELF"
        else:
            try:
                data, self.name = Path(elf).read_bytes(), str(elf)
            except OSError as exc:
                raise UserError(f"cannot read the kernel {elf}: {exc.strerror or exc}") from None
        from elftools.common.exceptions import ELFError
        self._data, self._elf = data, None
        try:
            if self.elf.get_machine_arch() != "RISC-V" or self.elf.elfclass != 64:
                raise UserError(f"{self.name} is not an RV64 kernel ELF")
            self._load_symbols()
        except (ELFError, ElfFormatError, struct.error) as exc:
            raise UserError(f"{self.name} is not a readable ELF file ({exc})") from None
        self._types: dict | None = None          # filled on first DWARF query
        self._lines: LineTable | None | bool = None   # False: no usable line programs
        self._has_dwarf: bool | None = None

    @property
    def elf(self):
        """pyelftools' ELFFile over the kernel's bytes, made on first use."""
        if self._elf is None:
            from elftools.elf.elffile import ELFFile
            self._elf = ELFFile(io.BytesIO(self._data))
        return self._elf

    # --- symbols -------------------------------------------------------------------

    def _load_symbols(self) -> None:
        self.symbols: dict[str, tuple[int, int]] = {}      # name -> (address, size)
        funcs: list[tuple[int, int, str]] = []
        table = elf_symbols(self._data)          # struct, not pyelftools: 20 times faster
        self.has_symbols = table is not None
        if table is None:
            self._funcs, self._func_addrs = [], []
            return
        for name, addr, size, kind, bind, in_text in table:
            if not name or name.startswith(("$", ".L")) or kind in ("STT_FILE", "STT_SECTION"):
                continue
            if name not in self.symbols or bind == "STB_GLOBAL":
                self.symbols[name] = (addr, size)
            if kind == "STT_FUNC" or (kind == "STT_NOTYPE" and in_text):
                funcs.append((addr, size, name))
        funcs = _drop_inner_labels(sorted(funcs))
        self._funcs = funcs
        self._func_addrs = [f[0] for f in funcs]

    def address_of(self, name: str) -> int | None:
        s = self.symbols.get(name)
        return s[0] if s else None

    def size_of_symbol(self, name: str) -> int | None:
        s = self.symbols.get(name)
        return s[1] if s else None

    def initial_bytes(self, addr: int, size: int) -> bytes | None:
        """The bytes at [addr, addr + size) as the ELF loads them (from one segment's file
        data), or None where the file does not hold them."""
        try:
            segments = loaded_segments(self._data)
        except ElfFormatError:
            return None
        for start, data in segments:
            if start <= addr and addr + size <= start + len(data):
                return data[addr - start:addr - start + size]
        return None

    def function_at(self, pc: int) -> tuple[str, int] | None:
        """(function name, offset of pc in it), or None outside every known function."""
        i = bisect.bisect_right(self._func_addrs, pc) - 1
        # Several symbols may share an address (aliases, labels): take the last
        # one that still covers pc, preferring sized function symbols.
        while i >= 0:
            addr, size, name = self._funcs[i]
            nxt = self._func_addrs[i + 1] if i + 1 < len(self._funcs) else None
            end = addr + size if size else (nxt if nxt is not None and nxt > addr else addr + 0x1000)
            if addr <= pc < end:
                return name, pc - addr
            if size or addr < pc:
                return None
            i -= 1
        return None

    def describe_pc(self, pc: int) -> str:
        f = self.function_at(pc)
        return f"{f[0]}+{f[1]:#x}" if f else f"{pc:#x}"

    # --- DWARF types ------------------------------------------------------------------

    @property
    def has_dwarf(self) -> bool:
        if self._has_dwarf is None:
            self._has_dwarf = self.elf.has_dwarf_info() and self.elf.get_section_by_name(".debug_info") is not None
        return self._has_dwarf

    @property
    def dwarf_versions(self) -> set[int]:
        if not self.has_dwarf:
            return set()
        return {cu.header["version"] for cu in self.elf.get_dwarf_info().iter_CUs()}

    def struct(self, name: str) -> StructLayout | None:
        """The layout of `struct name`, or None if the DWARF does not define it."""
        return self._dwarf_types()[0].get(name)

    def enum(self, name: str) -> dict[int, str] | None:
        """`enum name`'s values -> names, or None."""
        return self._dwarf_types()[1].get(name)

    def _dwarf_types(self) -> tuple[dict, dict]:
        if self._types is None:
            self._types = ({}, {})
            if self.has_dwarf:
                from elftools.common.exceptions import DWARFError, ELFError
                try:
                    self._types = _read_types(self.elf.get_dwarf_info())
                except (DWARFError, ELFError, KeyError, ValueError, IndexError, struct.error):
                    self._types = ({}, {})      # unreadable DWARF: behave as if absent
        return self._types

    # --- source lines -----------------------------------------------------------------

    def source_line(self, pc: int) -> tuple[str, int] | None:
        """(source file, line) of the instruction at pc, from the DWARF line programs."""
        table = self._line_table()
        return table.lookup(pc) if table is not None else None

    def _line_table(self) -> LineTable | None:
        if self._lines is None:
            self._lines = False                  # read once, even when it fails
            if self.has_dwarf:
                from elftools.common.exceptions import DWARFError, ELFError
                try:
                    self._lines = LineTable(self.elf.get_dwarf_info(), self.function_at)
                except (DWARFError, ELFError, KeyError, ValueError, IndexError, struct.error):
                    pass
        return self._lines or None

    # --- backtraces ---------------------------------------------------------------

    def backtrace(self, pc: int, fp: int, read: ReadFn, max_frames: int = 32,
                  pc_is_return: bool = False) -> list[Frame]:
        """Frames from `pc` outwards, following the frame-pointer chain from `fp` (register s0).

        With -fno-omit-frame-pointer a RISC-V function saves the return address
        at fp-8 and its caller's fp at fp-16. A return address is named by the
        instruction before it, the call (as gdb does): a call to a function that
        never returns may be a function's last instruction, and its return
        address is then the next function's first. `pc_is_return`: `pc` itself
        is a return address (a saved ra), not an instruction about to run.
        `read(vaddr, size)` reads kernel virtual memory; the walk stops at a null
        or misaligned fp, a frame that does not move up the stack, a failed
        read, a return address outside every known function, after a frame a
        hart enters without a call (`ENTRY_FUNCTIONS`), or at `max_frames`.
        """
        frames = [self.frame_at(pc, fp, pc_is_return)]
        start = fp
        while len(frames) < max_frames and fp and fp % 8 == 0 \
                and frames[-1].function not in ENTRY_FUNCTIONS:
            raw = _safe_read(read, fp - 16, 16)
            if raw is None:
                break
            prev_fp, ra = struct.unpack("<QQ", raw)
            if ra == 0:
                break
            frame = self.frame_at(ra, prev_fp, True)
            if frame.function is None and self.has_symbols:
                break                   # not a return into code we know: a stale or foreign value
            frames.append(frame)
            # Frames lie at rising addresses on one kernel stack.
            if not fp < prev_fp <= start + 0x10000:
                break
            fp = prev_fp
        return frames

    def frame_at(self, pc: int, fp: int, is_return: bool = False) -> Frame:
        """The Frame at `pc`; a return address is looked up at pc - 1 (its call)."""
        f = self.function_at(pc - 1 if is_return else pc)
        return Frame(pc, f[0], pc - (pc - 1 - f[1] if is_return else pc - f[1]), fp) if f \
            else Frame(pc, None, 0, fp)


def _drop_inner_labels(funcs: list) -> list:
    """Remove untyped labels (assembly loops, `$x` markers) that sit inside a sized function."""
    out, covered_until = [], -1
    for addr, size, name in funcs:
        if size == 0 and addr < covered_until:
            continue
        out.append((addr, size, name))
        if size:
            covered_until = max(covered_until, addr + size)
    return out


def _safe_read(read: ReadFn, addr: int, size: int) -> bytes | None:
    try:
        data = read(addr, size)
    except Exception:      # any failure of a guest-memory reader on a bad pointer ends the walk
        return None
    return bytes(data) if data is not None and len(data) == size else None


# --- DWARF walking (pure functions over pyelftools' DIEs) -------------------------------

def _read_types(dwarf) -> tuple[dict, dict]:
    structs: dict[str, StructLayout] = {}
    enums: dict[str, dict[int, str]] = {}
    for cu in dwarf.iter_CUs():
        for die in cu.get_top_DIE().iter_children():
            name = dwarf_attr(die, "DW_AT_name")
            if not name or "DW_AT_declaration" in die.attributes:
                continue
            if die.tag == "DW_TAG_structure_type" and name not in structs:
                structs[name] = _struct_layout(name, die)
            elif die.tag == "DW_TAG_enumeration_type" and name not in enums:
                enums[name] = {int(dwarf_attr(c, "DW_AT_const_value")): dwarf_attr(c, "DW_AT_name")
                               for c in die.iter_children() if c.tag == "DW_TAG_enumerator"}
    return structs, enums


def _struct_layout(name: str, die) -> StructLayout:
    members = {}
    for child in die.iter_children():
        if child.tag != "DW_TAG_member":
            continue
        mname = dwarf_attr(child, "DW_AT_name")
        if mname is None:
            continue
        members[mname] = Member(mname, member_offset(child), _type_size(child))
    return StructLayout(name, dwarf_attr(die, "DW_AT_byte_size") or 0, members)


def member_offset(die) -> int:
    """Byte offset of a DW_TAG_member in its struct (DWARF 4+ constant, or gcc's DWARF 2
    location expression)."""
    attr = die.attributes.get("DW_AT_data_member_location")
    if attr is None:
        return 0                       # union members and the first member of some producers
    value = attr.value
    if isinstance(value, int):
        return value
    # DWARF 2/3: a location expression, DW_OP_plus_uconst ULEB128.
    if value and value[0] == DW_OP_plus_uconst:
        result, shift = 0, 0
        for byte in value[1:]:
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return result
    raise ValueError(f"unsupported member location {value!r}")


def _type_size(die, depth: int = 0) -> int | None:
    """Byte size of the type a DIE refers to (through typedefs, qualifiers, arrays)."""
    if depth > 20 or "DW_AT_type" not in die.attributes:
        return None
    t = die.get_DIE_from_attribute("DW_AT_type")
    size = dwarf_attr(t, "DW_AT_byte_size")
    if size is not None:
        return size
    if t.tag == "DW_TAG_pointer_type":
        return die.cu["address_size"]
    if t.tag == "DW_TAG_array_type":
        elem = _type_size(t, depth + 1)
        return elem * array_count(t) if elem is not None else None
    return _type_size(t, depth + 1)       # typedef, const, volatile


def array_count(die) -> int:
    """Elements of a DW_TAG_array_type (all dimensions); 0 when a bound is unknown."""
    count = 1
    for sub in die.iter_children():
        if sub.tag == "DW_TAG_subrange_type":
            n = dwarf_attr(sub, "DW_AT_count")
            if n is None and dwarf_attr(sub, "DW_AT_upper_bound") is not None:
                n = dwarf_attr(sub, "DW_AT_upper_bound") + 1
            count *= n or 0
    return count


def dwarf_attr(die, name):
    """A DIE attribute's value, names decoded to str; None when absent."""
    a = die.attributes.get(name)
    if a is None:
        return None
    v = a.value
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v
