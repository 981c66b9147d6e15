"""Run the bundled guest under qemu-system-riscv64 (the reference machine)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

QEMU = shutil.which("qemu-system-riscv64")
SKIP_REASON = "qemu-system-riscv64 is not installed (Debian: apt-get install qemu-system-misc)"


def run_qemu(kernel: Path, disk: Path, bootargs: str, harts: int = 1,
             stdin: bytes = b"", timeout: int = 60) -> tuple[int, str]:
    """Boot kernel with a private copy of disk; return (exit status, console output).

    The exit status is what the guest gave the test device (poweroff(status)).
    """
    with tempfile.TemporaryDirectory(prefix="rvtrace-qemu-") as tmp:
        image = Path(tmp) / "fs.img"
        shutil.copyfile(disk, image)          # the guest writes to its disk
        cmd = ["timeout", str(timeout), QEMU, "-machine", "virt", "-bios", "none",
               "-m", "128M", "-smp", str(harts), "-nographic",
               "-global", "virtio-mmio.force-legacy=false",
               "-drive", f"file={image},if=none,format=raw,id=x0",
               "-device", "virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0",
               "-kernel", str(kernel), "-append", bootargs]
        proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout + 10)
    if proc.returncode == 124:
        raise AssertionError(f"QEMU timed out after {timeout}s running {bootargs!r}; console so far:\n"
                             + proc.stdout.decode(errors="replace"))
    return proc.returncode, proc.stdout.decode(errors="replace")
