"""The kernel under pressure (QEMU): a full process table, copy-on-write
faults that run out of memory, and no page leaked afterwards. The probe is
tests/kernel/progs/kstress.c, built here onto a private disk image."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kqemu import QEMU, SKIP_REASON, boot
from rvtrace.fs.mkfs import make_image
from rvtrace.guest import build
from rvtrace.guest.toolchain import compile_elf

pytestmark = [pytest.mark.slow, pytest.mark.qemu,
              pytest.mark.skipif(QEMU is None, reason=SKIP_REASON)]

HERE = Path(__file__).parent
NPROC = 64


@pytest.fixture(scope="module")
def stress_disk(guest, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("kstress")
    lib = build.user_lib_sources()
    elf = compile_elf(lib + [HERE / "progs" / "kstress.c"], tmp / "kstress", build.USER_SRC / "user.ld",
                      include_dirs=[build.USER_SRC, build.KERNEL_SRC])
    files = {name: Path(path).read_bytes() for name, path in guest.programs.items()}
    files["kstress"] = elf.read_bytes()
    files["README"] = b"a text file, not a program\n"
    return make_image(tmp / "fs.img", files, total_blocks=4000)


@pytest.mark.parametrize("harts,mem,cow", [(1, "128M", ""), (3, "128M", ""), (3, "128M", "cow=0"),
                                           (1, "40M", ""), (3, "40M", "cow=0")])
def test_limits_are_survived_and_every_page_comes_back(guest, stress_disk, harts, mem, cow):
    status, out = boot(guest.kernel, stress_disk, f"{cow} kstress".strip(), harts=harts, mem=mem,
                       seconds=120)
    assert "panic" not in out, out
    # init, kstress and its worker hold three slots; the rest fill up.
    assert out.count(f"forkbomb: forked {NPROC - 3}, reaped {NPROC - 3}\n") == 2, out
    m = re.search(r"kstress: status 0, free pages before (\d+), after (\d+)\n", out)
    assert m and m.group(1) == m.group(2), out
    assert status == 0, out
