"""An ELF64 file's symbol table and loadable segments, read with struct alone.

KernelImage needs the symbols of every kernel it opens (a recording of a new
kernel, every debugger start, every user program the debugger names), and
pyelftools takes about a quarter of a second to list the bundled kernel's --
plus its own import. The symbol table is a plain array of fixed-size records,
so it is read here directly (ELF-64 Object File Format, little-endian as RISC-V
is); DWARF stays with pyelftools.

Every offset and size is checked against the file: a damaged or hostile ELF
(a trace's embedded kernel is input like any other) raises ElfFormatError,
never reads past the end, and never loops for long.
"""

from __future__ import annotations

import struct

EM_RISCV = 243
SHN_LORESERVE, SHN_XINDEX = 0xFF00, 0xFFFF
SHF_EXECINSTR = 0x4
SYMBOL_TYPES = {0: "STT_NOTYPE", 1: "STT_OBJECT", 2: "STT_FUNC", 3: "STT_SECTION", 4: "STT_FILE",
                5: "STT_COMMON", 6: "STT_TLS"}
SYMBOL_BINDS = {0: "STB_LOCAL", 1: "STB_GLOBAL", 2: "STB_WEAK"}

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")      # the ELF-64 file header
_SHDR = struct.Struct("<IIQQQQIIQQ")           # a section header
_SYM = struct.Struct("<IBBHQQ")                # a symbol
_PHDR = struct.Struct("<IIQQQQQQ")             # a program header
PT_LOAD = 1


class ElfFormatError(ValueError):
    """The bytes are not a well-formed little-endian ELF-64 file."""


def is_rv64(data: bytes) -> bool:
    """An ELF-64, little-endian, RISC-V file (ElfFormatError if not an ELF file at all)."""
    if len(data) < _EHDR.size or data[:4] != b"\x7fELF":
        raise ElfFormatError("no ELF header")
    machine = struct.unpack_from("<H", data, 18)[0]
    return data[4] == 2 and data[5] == 1 and machine == EM_RISCV


def _sections(data: bytes) -> list[tuple]:
    """Every section header, as _SHDR tuples."""
    (_, _, _, _, _, _, shoff, _, _, _, _, shentsize, shnum, shstrndx) = _EHDR.unpack_from(data, 0)
    if shoff == 0:
        return []
    if shentsize < _SHDR.size:
        raise ElfFormatError(f"section headers of {shentsize} bytes")
    first = _header(data, shoff, shentsize, 0)
    if shnum == 0:                   # more than 0xff00 sections: the count is in section 0
        shnum = first[5]
    if shnum * shentsize > len(data):
        raise ElfFormatError(f"{shnum} section headers do not fit in the file")
    return [_header(data, shoff, shentsize, i) for i in range(shnum)]


def _header(data: bytes, shoff: int, shentsize: int, i: int) -> tuple:
    at = shoff + i * shentsize
    if at + _SHDR.size > len(data):
        raise ElfFormatError(f"section header {i} lies past the end of the file")
    return _SHDR.unpack_from(data, at)


def _contents(data: bytes, sh: tuple) -> bytes:
    offset, size = sh[4], sh[5]
    if sh[1] == 8:                   # SHT_NOBITS: no bytes in the file
        return b""
    if offset + size > len(data):
        raise ElfFormatError("a section lies past the end of the file")
    return data[offset:offset + size]


def _string(table: bytes, at: int) -> str:
    if at >= len(table):
        return ""                    # as a reader of the stream finds there: nothing
    end = table.find(b"\0", at)
    return table[at:end if end >= 0 else len(table)].decode("latin-1")


def symbols(data: bytes) -> list[tuple[str, int, int, str, str, bool]] | None:
    """The symbols of the `.symtab` section in file order, or None when there is none:
    (name, value, size, type, bind, in_text). type and bind by pyelftools' names
    ("STT_FUNC", "STB_GLOBAL"; "STT_<n>" for others); in_text: defined in a section
    holding instructions (SHF_EXECINSTR)."""
    if not is_rv64(data):
        raise ElfFormatError("not a little-endian ELF-64 RISC-V file")
    sections = _sections(data)
    if not sections:
        return None
    shstrndx = _EHDR.unpack_from(data, 0)[13]
    if shstrndx == SHN_XINDEX:
        shstrndx = sections[0][6]
    if shstrndx >= len(sections):
        raise ElfFormatError("no section-name string table")
    names = _contents(data, sections[shstrndx])
    symtab = next((sh for sh in sections if _string(names, sh[0]) == ".symtab"), None)
    if symtab is None:
        return None
    if symtab[6] >= len(sections):
        raise ElfFormatError(".symtab names no string table")
    strings = _contents(data, sections[symtab[6]])
    entsize = symtab[9] or _SYM.size
    if entsize < _SYM.size:
        raise ElfFormatError(f"symbols of {entsize} bytes")
    table = _contents(data, symtab)
    out = []
    for at in range(0, len(table) - _SYM.size + 1, entsize):
        st_name, info, _, shndx, value, size = _SYM.unpack_from(table, at)
        in_text = 0 < shndx < SHN_LORESERVE and shndx < len(sections) \
            and bool(sections[shndx][2] & SHF_EXECINSTR)
        out.append((_string(strings, st_name), value, size, SYMBOL_TYPES.get(info & 0xF, f"STT_{info & 0xF}"),
                    SYMBOL_BINDS.get(info >> 4, f"STB_{info >> 4}"), in_text))
    return out


def loaded_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(virtual address, file bytes) of every PT_LOAD segment, in file order."""
    if not is_rv64(data):
        raise ElfFormatError("not a little-endian ELF-64 RISC-V file")
    header = _EHDR.unpack_from(data, 0)
    phoff, phentsize, phnum = header[5], header[9], header[10]
    if phnum and phentsize < _PHDR.size:
        raise ElfFormatError(f"program headers of {phentsize} bytes")
    if phoff + phnum * phentsize > len(data):
        raise ElfFormatError(f"{phnum} program headers do not fit in the file")
    out = []
    for i in range(phnum):
        p_type, _, offset, vaddr, _, filesz, _, _ = _PHDR.unpack_from(data, phoff + i * phentsize)
        if p_type != PT_LOAD:
            continue
        if offset + filesz > len(data):
            raise ElfFormatError(f"segment {i} lies past the end of the file")
        out.append((vaddr, data[offset:offset + filesz]))
    return out
