"""The kernel's file system on rvtrace's own machine (no QEMU needed).

Several processes on several harts create, link and unlink files at once;
the disk the machine holds in memory afterwards must pass fsck -- the same
check test_kernel_fs_qemu.py makes under QEMU. And a power cut at any step of
a log commit must be repaired by the next boot.
"""

from __future__ import annotations

import struct

import pytest

from rvtrace.fs import layout as L
from rvtrace.fs.image import DiskImage
from rvtrace.fs.mkfs import build_image

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stress_image(guest, fsstress):
    """The kernel, and an image holding the programs plus fsstress."""
    files = {name: p.read_bytes() for name, p in guest.programs.items()}
    files["fsstress"] = fsstress.read_bytes()
    return guest.kernel, build_image(files, total_blocks=2600)


def test_concurrent_file_operations_on_three_harts(stress_image):
    from rvtrace.machine.config import MachineConfig
    from rvtrace.machine.machine import Machine
    kernel, image = stress_image
    machine = Machine(MachineConfig(kernel=str(kernel), bootargs="fsstress churn", harts=3, seed=1),
                      disk_bytes=image)
    console = bytearray()
    machine.on_console_output = console.append
    result = machine.run(max_insns=300_000_000)
    assert (result.reason, result.exit_code) == ("poweroff", 0), console[-2000:]
    assert console == b"FSSTRESS OK\n"
    after = DiskImage(bytes(machine.disk.disk))
    assert after.fsck() == []
    assert sorted(after.listdir("/d2")) == ["l2_00", "l2_02", "l2_04"]


def log_count(disk: bytes, sb) -> int:
    """n of the on-disk log header: > 0 means a committed transaction not yet cleared."""
    return struct.unpack_from("<i", disk, sb.logstart * L.BSIZE)[0]


def test_a_crash_at_any_step_of_a_commit_is_repaired_at_the_next_boot(stress_image):
    """Stop the disk at the commit point and half-way through installing, then reboot.

    The machine completes each disk write whole, so a copy of its disk taken
    when a write completes is exactly what a power cut at that moment leaves.
    """
    from rvtrace.machine.config import MachineConfig
    from rvtrace.machine.machine import Machine
    kernel, image = stress_image
    sb = DiskImage(image).superblock
    log_region = range(sb.logstart, sb.logstart + sb.nlog)
    machine = Machine(MachineConfig(kernel=str(kernel), bootargs="fsstress churn", harts=2, seed=3),
                      disk_bytes=image)
    crashes: list[tuple[str, bytes]] = []
    commits = 0

    def on_complete(kind, sector, nbytes, head, status):
        nonlocal commits
        if kind != 1:                                    # only writes change the disk
            return
        block, disk = sector * 512 // L.BSIZE, machine.disk.disk
        n = log_count(disk, sb)
        if block == sb.logstart and n > 0:
            commits += 1                                 # the header just made it durable
            if commits % 7 == 1:
                crashes.append(("after the commit point", bytes(disk)))
        elif n > 1 and block not in log_region and crashes and crashes[-1][0] != "mid-install":
            if commits % 7 == 1:                         # the first of n home blocks is written
                crashes.append(("mid-install", bytes(disk)))

    machine.disk.on_complete = on_complete
    while len(crashes) < 6:
        assert machine.run(max_insns=1_000_000).reason == "max-insns", "fsstress ended too soon"

    broken_before = 0
    for when, disk in crashes:
        assert log_count(disk, sb) > 0
        broken_before += DiskImage(disk).fsck() != []
        reboot = Machine(MachineConfig(kernel=str(kernel), bootargs="echo recovered"), disk_bytes=disk)
        console = bytearray()
        reboot.on_console_output = console.append
        result = reboot.run(max_insns=20_000_000)
        assert (result.reason, console) == ("poweroff", b"recovered\n"), when
        after = bytes(reboot.disk.disk)
        assert log_count(after, sb) == 0, when
        assert DiskImage(after).fsck() == [], when
    # Half-installed transactions really are inconsistent on disk until the replay.
    assert broken_before > 0
