"""Bare-metal guests on the whole machine through `rvtrace run --kernel`, and
the same ELFs under QEMU where it is installed: identical console output."""


import pytest

from guestbuild import QEMU, build, cpu_ready, make_disk, run_qemu, run_rvtrace

needs_cpu = pytest.mark.skipif(not cpu_ready(), reason="rvtrace.cpu.Hart is not written yet")
needs_qemu = pytest.mark.skipif(QEMU is None, reason="qemu-system-riscv64 is not installed "
                                "(Debian: apt-get install qemu-system-misc)")

def multihart_out(n):
    return b"".join([b"multihart: %d harts\n" % n] + [
        b"hart %d: mtimer 3 ipi 1 from %d stimer 3 ok\n" % (h, (h - 1) % n) for h in range(n)
    ] + [b"multihart: all good\n"])


MULTIHART_OUT = multihart_out(4)
DISK_ECHO_OUT = b"sector 1: hello from sector one!!!\necho: typed line\ndisk_echo: done\n"


@pytest.fixture(scope="module")
def disk(tmp_path_factory):
    return make_disk(tmp_path_factory.mktemp("disk") / "disk.img")


@needs_cpu
@pytest.mark.slow
@pytest.mark.parametrize("harts, seed", [(4, 0), (4, 7), (8, 5), (2, 1)])
def test_multihart_timers_and_ipis(harts, seed):
    elf = build("multihart", defines=(f"NHARTS={harts}",))
    rc, out, err = run_rvtrace("--kernel", str(elf), "--harts", str(harts), "--seed", str(seed))
    assert (rc, out) == (0, multihart_out(harts)), err


@needs_cpu
@pytest.mark.slow
def test_same_seed_same_instructions():
    elf = str(build("multihart"))
    runs = [run_rvtrace("--kernel", elf, "--harts", "4", "--seed", "3", "--stats")[2] for _ in range(2)]
    counts = [[line for line in err.splitlines() if "instructions retired" in line] for err in runs]
    assert len(counts[0]) == 4 and counts[0] == counts[1]


@needs_cpu
@pytest.mark.slow
def test_disk_read_and_console_echo(disk):
    rc, out, err = run_rvtrace("--kernel", str(build("disk_echo")), "--disk", str(disk),
                               stdin=b"typed line\n")
    assert (rc, out) == (0, DISK_ECHO_OUT), err


@needs_cpu
@pytest.mark.slow
def test_traps_and_paging():
    rc, out, err = run_rvtrace("--kernel", str(build("traps")))
    assert rc == 0, err
    lines = out.decode().splitlines()
    assert lines[:4] == ["M cause 0x2 value 0xb00b", "M cause 0x3 value 0x0", "M cause 0xb value 0x0",
                         "M cause 0x5 value 0x18000000"]
    assert "S cause 0xd value 0x40002000" in lines and "S cause 0xd value 0x40003000" in lines
    assert "s cause 0x1 value 0xc0" in lines          # A and D set by the hardware
    assert lines[-1] == "traps: done"


@needs_qemu
@pytest.mark.qemu
def test_guests_self_check_under_qemu(disk):
    assert run_qemu(build("multihart"), harts=4) == (0, MULTIHART_OUT)
    assert run_qemu(build("disk_echo"), disk=disk, stdin=b"typed line\n") == (0, DISK_ECHO_OUT)
    assert run_qemu(build("exitcode")) == (3, b"exit with 3\n")


@needs_cpu
@needs_qemu
@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("name, harts, with_disk, stdin", [
    ("multihart", 4, False, b""),
    ("disk_echo", 1, True, b"typed line\n"),
    ("traps", 1, False, b""),
    ("exitcode", 1, False, b""),
    ("bootinfo", 2, False, b""),
    ("uartregs", 1, False, b""),
    ("devregs", 1, True, b""),
    ("cpuloop", 1, False, b""),
])
def test_same_console_as_qemu(name, harts, with_disk, stdin, disk):
    elf = build(name)
    q_rc, q_out = run_qemu(elf, harts=harts, disk=disk if with_disk else None, stdin=stdin)
    args = ["--kernel", str(elf), "--harts", str(harts)] + (["--disk", str(disk)] if with_disk else [])
    r_rc, r_out, err = run_rvtrace(*args, stdin=stdin)
    assert (r_rc, r_out) == (q_rc, q_out), err
