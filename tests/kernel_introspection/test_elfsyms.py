"""The struct-only symbol table and segment reader agrees with pyelftools, and damage is one
clean error."""

from __future__ import annotations

import random
import struct

import pytest
from elftools.elf.elffile import ELFFile

from rvtrace.errors import UserError
from rvtrace.guest.build import build_kernel, build_program
from rvtrace.kernel import KernelImage
from rvtrace.kernel import elfsyms


def pyelftools_symbols(path):
    with open(path, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        if symtab is None:
            return None
        sections = list(elf.iter_sections())
        out = []
        for sym in symtab.iter_symbols():
            shndx = sym["st_shndx"]
            in_text = isinstance(shndx, int) and 0 < shndx < len(sections) \
                and bool(sections[shndx]["sh_flags"] & elfsyms.SHF_EXECINSTR)
            out.append((sym.name, sym["st_value"], sym["st_size"], sym["st_info"]["type"],
                        sym["st_info"]["bind"], in_text))
        return out


@pytest.mark.parametrize("which", ["kernel", "forkexec", "stripped"])
def test_the_same_symbols_as_pyelftools(which, tmp_path):
    path = build_kernel() if which == "kernel" else build_program("forkexec")
    if which == "stripped":           # a symbol table pyelftools no longer finds under that name
        data = path.read_bytes()
        path = tmp_path / "nosyms.elf"
        path.write_bytes(data.replace(b".symtab\0", b".nosymt\0"))
    ours = elfsyms.symbols(path.read_bytes())
    assert ours == pyelftools_symbols(path)
    assert (ours is None) == (which == "stripped")
    with open(path, "rb") as f:
        segments = [(s["p_vaddr"], s.data()) for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD"]
    assert elfsyms.loaded_segments(path.read_bytes()) == segments and segments
    if which == "kernel":
        assert ("swtch", KernelImage(path).address_of("swtch")) in [(s[0], s[1]) for s in ours]


def test_damaged_files_end_in_one_error(tmp_path):
    good = build_program("echo").read_bytes()
    rng = random.Random(11)
    shoff = struct.unpack_from("<Q", good, 0x28)[0]
    for trial in range(300):
        data = bytearray(good)
        if trial % 3 == 0:
            data = data[:rng.randrange(len(data))]
        else:               # damage the section headers and the tables they point at
            for _ in range(rng.randrange(1, 8)):
                at = rng.choice([rng.randrange(0x20, 0x40), rng.randrange(shoff, len(data)),
                                 rng.randrange(len(data))])
                data[at] = rng.randrange(256)
        for read in (elfsyms.symbols, elfsyms.loaded_segments):
            try:
                read(bytes(data))
            except (elfsyms.ElfFormatError, struct.error):
                pass
        try:
            KernelImage(bytes(data))
        except UserError as exc:
            assert "\n" not in str(exc)
