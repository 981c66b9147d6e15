"""The kernel's hand-written assembly agrees with its C structures.

trampoline.S and swtch.S address struct fields by fixed offsets; the
compiler decides the real ones. These tests read the offsets the assembly
uses out of the .S files and compare them with the DWARF of the built ELF.
"""

from __future__ import annotations

import re

import pytest
from elftools.elf.elffile import ELFFile

from rvtrace.kernel import KernelImage

pytestmark = pytest.mark.slow   # builds the kernel (cached after the first time)

# ABI register names as they appear in struct trapframe / struct context.
STORE = re.compile(r"^\s*sd\s+(\w+),\s*(\d+)\((a0|sp)\)", re.M)
LOAD = re.compile(r"^\s*ld\s+(\w+),\s*(\d+)\((a0|a1)\)", re.M)


def asm_offsets(text: str, pattern: re.Pattern, base: str) -> dict[str, int]:
    return {reg: int(off) for reg, off, b in pattern.findall(text) if b == base}


@pytest.fixture(scope="module")
def image(guest):
    return KernelImage(guest.kernel)


def section(text: str, start: str, end: str | None) -> str:
    body = text[text.index(start):]
    return body[:body.index(end)] if end else body


def test_uservec_saves_every_register_where_the_trapframe_has_it(image, kernel_src):
    text = (kernel_src / "trampoline.S").read_text()
    uservec = section(text, "uservec:", "userret:")
    # The user's a0 is parked in sscratch and stored through t0 afterwards.
    before, after = uservec.split("csrr t0, sscratch")
    saved = asm_offsets(before, STORE, "a0")
    tf = image.struct("trapframe")
    assert asm_offsets(after, STORE, "a0") == {"t0": tf.offset("a0")}
    assert len(saved) == 30   # x1..x31 except a0
    for reg, off in saved.items():
        assert tf.offset(reg) == off, f"uservec stores {reg} at {off}, struct trapframe has it at {tf.offset(reg)}"
    # the fields read back on the way in, and a0 itself
    assert {"kernel_satp": 0, "kernel_sp": 8, "kernel_trap": 16, "epc": 24,
            "kernel_hartid": 32, "a0": 112} == {m: tf.offset(m) for m in
                                                ("kernel_satp", "kernel_sp", "kernel_trap", "epc",
                                                 "kernel_hartid", "a0")}


def test_userret_restores_from_the_same_offsets(image, kernel_src):
    text = (kernel_src / "trampoline.S").read_text()
    restored = asm_offsets(section(text, "userret:", None), LOAD, "a0")
    tf = image.struct("trapframe")
    assert len(restored) == 31   # x1..x31, a0 last
    for reg, off in restored.items():
        assert tf.offset(reg) == off, reg


def test_swtch_matches_struct_context(image, kernel_src):
    text = (kernel_src / "swtch.S").read_text()
    saves = asm_offsets(text, STORE, "a0")
    loads = asm_offsets(text, LOAD, "a1")
    ctx = image.struct("context")
    assert saves == loads
    assert set(saves) == set(ctx.members) == {"ra", "sp"} | {f"s{i}" for i in range(12)}
    for reg, off in saves.items():
        assert ctx.offset(reg) == off, reg


def test_the_image_starts_at_the_reset_address_with_a_trampoline_page(guest, image):
    with open(guest.kernel, "rb") as f:
        assert ELFFile(f).header.e_entry == 0x80000000
    assert image.address_of("_entry") == 0x80000000
    tramp = image.address_of("trampoline")
    assert tramp % 4096 == 0
    assert image.address_of("uservec") == tramp
    assert tramp < image.address_of("userret") < tramp + 4096


def test_kstats_layout_is_what_user_programs_compile_against(image):
    ks = image.struct("kstats")
    assert list(ks.members) == ["fork_eager_pages", "cow_faults", "cow_copies",
                                "free_pages", "pages_allocated"]
    assert [ks.offset(m) for m in ks.members] == [0, 8, 16, 24, 32]


def test_syscall_numbers_are_xv6s_plus_ours(kernel_src):
    text = (kernel_src / "syscall.h").read_text()
    numbers = {name: int(n) for name, n in re.findall(r"#define SYS_(\w+)\s+(\d+)", text)}
    xv6 = ["fork", "exit", "wait", "pipe", "read", "kill", "exec", "fstat", "chdir", "dup",
           "getpid", "sbrk", "sleep", "uptime", "open", "write", "mknod", "unlink", "link",
           "mkdir", "close", "poweroff", "kstats"]
    assert numbers == {name: i + 1 for i, name in enumerate(xv6)}
