"""`rvtrace run --kernel`: exit codes, --stats, and one clear line for every bad input."""

import re
import shutil

import pytest

from guestbuild import build, cpu_ready, run_rvtrace

needs_cpu = pytest.mark.skipif(not cpu_ready(), reason="rvtrace.cpu.Hart is not written yet")


def one_line_error(rc, err):
    assert rc != 0
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rvtrace: "), err
    return lines[0]


@needs_cpu
def test_exit_code_passthrough():
    rc, out, err = run_rvtrace("--kernel", str(build("exitcode")))
    assert (rc, out, err) == (3, b"exit with 3\n", "")


@needs_cpu
def test_stats_on_stderr():
    rc, out, err = run_rvtrace("--kernel", str(build("exitcode")), "--harts", "2", "--stats")
    assert rc == 3 and out == b"exit with 3\n"
    assert re.search(r"^hart 0: \d+ instructions retired$", err, re.M)
    assert re.search(r"^hart 1: \d+ instructions retired$", err, re.M)
    m = re.search(r"^total: (\d+) instructions in [\d.]+ s wall, [\d.]+ MIPS$", err, re.M)
    assert m and int(m.group(1)) > 0


def test_missing_kernel(tmp_path):
    line = one_line_error(*run_rvtrace("--kernel", str(tmp_path / "nope.elf"))[::2])
    assert "nope.elf" in line and "no such file" in line


def test_not_an_elf(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("hello\n" * 20)
    line = one_line_error(*run_rvtrace("--kernel", str(f))[::2])
    assert "not an ELF" in line


def test_elf_for_another_machine():
    host_elf = shutil.which("ls")
    line = one_line_error(*run_rvtrace("--kernel", host_elf)[::2])
    assert "expected an RV64 RISC-V" in line


def test_missing_disk(tmp_path):
    line = one_line_error(*run_rvtrace("--kernel", str(build("exitcode")), "--disk", str(tmp_path / "d.img"))[::2])
    assert "d.img" in line


@pytest.mark.parametrize("harts", ["0", "9"])
def test_bad_hart_count(harts):
    line = one_line_error(*run_rvtrace("--kernel", str(build("exitcode")), "--harts", harts)[::2])
    assert "1 to 8" in line


@needs_cpu
def test_max_insns():
    rc, out, err = run_rvtrace("--kernel", str(build("spin")), "--max-insns", "20000")
    assert out == b"spinning\n"
    assert one_line_error(rc, err) == "rvtrace: stopped after 20000 instructions (--max-insns)"


@needs_cpu
def test_fault_loop():
    rc, out, err = run_rvtrace("--kernel", str(build("faultloop")))
    assert out == b"faulting now\n"
    line = one_line_error(rc, err)
    assert "guest fault loop" in line and "instruction access fault at 0x18000000" in line


@needs_cpu
def test_idle_forever():
    rc, out, err = run_rvtrace("--kernel", str(build("idle")))
    assert out == b"going to sleep\n"
    assert one_line_error(rc, err) == \
        "rvtrace: guest is idle forever (all harts in wfi with no timer armed)"


@needs_cpu
def test_trap_handler_that_never_fixes_the_fault():
    rc, out, err = run_rvtrace("--kernel", str(build("retrap")))
    assert out == b"retrying a bad load\n"
    line = one_line_error(rc, err)
    assert "guest fault loop" in line and "load access fault" in line and "tval 0x18000000" in line


def test_bad_memory_size():
    line = one_line_error(*run_rvtrace("--kernel", str(build("exitcode")), "--mem", "0")[::2])
    assert "--mem 0" in line


def test_kernel_linked_outside_ram(tmp_path):
    import struct
    # an RV64 ELF whose only segment sits at 0x1000, where QEMU's virt has no RAM
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header += struct.pack("<HHIQQQIHHHHHH", 2, 243, 1, 0x1000, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 120, 0x1000, 0x1000, 4, 4, 4)
    f = tmp_path / "low.elf"
    f.write_bytes(header + phdr + b"\x13\x00\x00\x00")
    line = one_line_error(*run_rvtrace("--kernel", str(f))[::2])
    assert "outside RAM" in line and "0x1000" in line
