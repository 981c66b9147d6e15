"""The guest build: programs, caching, ELF layout, the disk image, bundle and CLI errors."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from rvtrace import cli
from rvtrace.errors import UserError
from rvtrace.fs.image import DiskImage
from rvtrace.guest import build, bundle, toolchain

SEED_PROGRAMS = {"exec", "forkexec", "forkexec_fail", "myecho", "bigfork", "cowwrite",
                 "waitnochild", "twochildren", "selftest"}
TOOLS = {"init", "sh", "echo", "cat", "ls", "mkdir", "rm", "kill"}


def test_every_program_is_listed():
    assert SEED_PROGRAMS | TOOLS <= set(bundle.programs())


def test_boot_arguments_put_options_first():
    assert bundle.boot_arguments("forkexec") == "forkexec"
    assert bundle.boot_arguments("bigfork", ["8"], cow=False) == "cow=0 bigfork 8"


@pytest.mark.parametrize("bad", ["two words", "", "tab\there"])
def test_boot_arguments_refuse_what_the_command_line_cannot_carry(bad):
    with pytest.raises(UserError, match="no spaces"):
        bundle.boot_arguments("echo", [bad])


def test_unknown_program_names_the_available_ones():
    with pytest.raises(UserError) as info:
        bundle.bundled_boot("no_such_prog", [])
    message = str(info.value)
    assert "no_such_prog" in message and "\n" not in message
    assert "forkexec" in message and "selftest" in message


# --- caching, on a private copy of user_src/ so the real cache is untouched -------

@pytest.fixture
def private_tree(tmp_path, monkeypatch):
    """A throwaway repo: user_src/ copied, kernel_src/ shared, build/ private."""
    shutil.copytree(build.USER_SRC, tmp_path / "user_src")
    monkeypatch.setattr(build, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(build, "USER_SRC", tmp_path / "user_src")
    calls = []
    real = toolchain.compile_elf

    def counting(*args, **kwargs):
        calls.append(Path(args[1]).name)
        return real(*args, **kwargs)
    monkeypatch.setattr(toolchain, "compile_elf", counting)
    return tmp_path, calls


def test_a_second_build_is_served_from_the_cache(private_tree):
    root, calls = private_tree
    first = build.build_program("echo")
    again = build.build_program("echo")
    assert first == again and first.parent == root / "build" / "guest"
    assert len(calls) == 1


def test_editing_a_program_rebuilds_only_that_program(private_tree):
    root, calls = private_tree
    echo, cat = build.build_program("echo"), build.build_program("cat")
    src = root / "user_src" / "echo.c"
    src.write_text(src.read_text() + "\n// edited\n")
    assert build.build_program("echo") != echo
    assert build.build_program("cat") == cat
    assert len(calls) == 3


def test_editing_the_library_rebuilds_every_program(private_tree):
    root, _ = private_tree
    echo = build.build_program("echo")
    lib = root / "user_src" / "lib" / "string.c"
    lib.write_text(lib.read_text() + "\n// edited\n")
    assert build.build_program("echo") != echo


def test_concurrent_builds_agree(private_tree):
    results, errors = [], []

    def one():
        try:
            results.append(build.build_program("rm", force=True))
        except Exception as exc:       # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1
    assert results[0].read_bytes()[:4] == b"\x7fELF"
    assert not [p for p in results[0].parent.iterdir() if p.name.startswith(".")]   # no temp files left


def test_a_compile_error_is_one_user_error_with_the_compiler_message(private_tree):
    root, _ = private_tree
    (root / "user_src" / "broken.c").write_text("int main(void) { return undefined_thing; }\n")
    with pytest.raises(UserError, match="undefined_thing"):
        build.build_program("broken")


# --- the real build -------------------------------------------------------------

PAGE = 4096
MAX_FILE = (12 + 256) * 1024      # the largest file xv6's inode can address


@pytest.mark.parametrize("name", sorted(SEED_PROGRAMS | TOOLS))
def test_user_programs_are_laid_out_for_exec(guest, name):
    path = guest.programs[name]
    assert path.stat().st_size < MAX_FILE
    with open(path, "rb") as f:
        elf = ELFFile(f)
        assert elf.elfclass == 64 and elf["e_machine"] == "EM_RISCV"
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        assert loads and loads[0]["p_vaddr"] == 0
        assert all(s["p_vaddr"] % PAGE == 0 and s["p_filesz"] <= s["p_memsz"] for s in loads)
        start = elf.get_section_by_name(".symtab").get_symbol_by_name("_start")[0]
        assert elf["e_entry"] == start["st_value"] == 0


def test_disk_image_holds_every_program_and_the_readme(guest):
    image = DiskImage(guest.disk)
    names = set(image.listdir("/"))
    assert set(guest.programs) | {"README"} <= names
    for name, path in guest.programs.items():
        assert image.read_file("/" + name) == path.read_bytes()


def test_kernel_is_an_rv64_elf(guest):
    with open(guest.kernel, "rb") as f:
        elf = ELFFile(f)
        assert elf.elfclass == 64 and elf["e_machine"] == "EM_RISCV"
        assert elf["e_entry"] == 0x8000_0000


def test_bundled_boot_returns_the_cached_build(guest):
    kernel, disk, bootargs = bundle.bundled_boot("forkexec", [], cow=False)
    assert (Path(kernel), Path(disk)) == (guest.kernel, guest.disk)
    assert bootargs == "cow=0 forkexec"


def test_rvtrace_build_lists_the_programs(guest, capsys):
    assert cli.main(["build", "--list"]) == 0
    assert capsys.readouterr().out.split() == sorted(guest.programs)


def test_rvtrace_run_of_an_unknown_program_is_one_clear_line(capsys):
    pytest.importorskip("rvtrace.machine.runner", reason="the emulator's runner does not exist yet")
    assert cli.main(["run", "no_such_prog"]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no_such_prog" in err and "forkexec" in err
