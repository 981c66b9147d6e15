"""The kernel's file system, end to end under QEMU.

These boot the bundled kernel on images made by our mkfs and check what the
kernel reads (big files through the indirect block, subdirectories, a log
left behind by a crash) and what it leaves on the disk after writing (the
image must pass fsck).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from rvtrace.fs import layout as L
from rvtrace.fs.image import DiskImage
from rvtrace.fs.mkfs import make_image

QEMU = shutil.which("qemu-system-riscv64")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.qemu,
    pytest.mark.skipif(QEMU is None, reason="qemu-system-riscv64 is not installed"),
]


def boot(kernel: Path, disk: Path, command: str, timeout: int = 60,
         harts: int = 1) -> subprocess.CompletedProcess:
    cmd = ["timeout", str(timeout), QEMU, "-machine", "virt", "-bios", "none", "-m", "128M",
           "-smp", str(harts), "-nographic", "-global", "virtio-mmio.force-legacy=false",
           "-drive", f"file={disk},if=none,format=raw,id=x0",
           "-device", "virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0",
           "-kernel", str(kernel), "-append", command]
    return subprocess.run(cmd, capture_output=True, timeout=timeout + 10)


def programs_image(guest, path: Path, extra: dict[str, bytes]) -> Path:
    files = {name: p.read_bytes() for name, p in guest.programs.items()}
    files.update(extra)
    blocks = max(2000, sum(len(b) // 1024 + 2 for b in files.values()) + 600)
    return make_image(path, files, total_blocks=blocks)


def text_pattern(size: int) -> bytes:
    line = b"".join(bytes([48 + i % 10]) for i in range(63)) + b"\n"
    return (line * (size // 64 + 1))[:size]


def test_kernel_reads_big_files_and_subdirectories(guest, tmp_path):
    big = text_pattern(200 * 1024)                 # far past the 12 direct blocks
    disk = programs_image(guest, tmp_path / "fs.img", {"big": big, "d/sub/f": b"deep file\n"})
    out = boot(guest.kernel, disk, "cat big")
    assert out.returncode == 0, out.stdout[-500:]
    assert out.stdout == big
    out = boot(guest.kernel, disk, "cat /d/sub/f")
    assert out.stdout == b"deep file\n"


def test_kernel_replays_a_committed_log_at_boot(guest, tmp_path):
    """A crash after the commit point: the header names a block, the log holds its new contents."""
    disk = programs_image(guest, tmp_path / "fs.img", {"note": b"old contents\n".ljust(1024, b"-")})
    img = DiskImage(disk)
    home = img.block_list(img.inode(img.stat("/note").inum))[0]
    sb = img.superblock
    raw = bytearray(disk.read_bytes())
    new = b"recovered from the log\n".ljust(1024, b"+")
    raw[(sb.logstart + 1) * L.BSIZE:(sb.logstart + 2) * L.BSIZE] = new
    struct.pack_into("<ii", raw, sb.logstart * L.BSIZE, 1, home)    # n = 1, block[0] = home
    disk.write_bytes(bytes(raw))

    out = boot(guest.kernel, disk, "cat note")
    assert out.stdout == new
    after = DiskImage(disk)
    assert after.read_file("note") == new                          # installed at home
    assert struct.unpack_from("<i", after.block(sb.logstart))[0] == 0   # log emptied
    assert after.fsck() == []


def test_selftest_leaves_a_consistent_file_system(guest, tmp_path):
    if "selftest" not in guest.programs:
        pytest.skip("user_src/selftest.c is not written yet")
    disk = tmp_path / "fs.img"
    shutil.copyfile(guest.disk, disk)
    out = boot(guest.kernel, disk, "selftest", timeout=120)
    assert b"ALL TESTS PASSED" in out.stdout, out.stdout[-2000:]
    assert DiskImage(disk).fsck() == []


@pytest.mark.parametrize("mode, harts", [("churn", 3), ("fill", 1)])
def test_concurrent_and_disk_full_operation_keeps_the_disk_consistent(guest, fsstress, tmp_path, mode, harts):
    disk = programs_image(guest, tmp_path / "fs.img", {"fsstress": fsstress.read_bytes()})
    # programs_image leaves ~600 free blocks: "fill" really reaches a full disk
    out = boot(guest.kernel, disk, f"fsstress {mode}", timeout=120, harts=harts)
    assert b"FSSTRESS OK" in out.stdout, out.stdout[-2000:]
    assert out.returncode == 0
    assert DiskImage(disk).fsck() == []

