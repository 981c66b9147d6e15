"""Boot the bundled kernel under qemu-system-riscv64 for the kernel's own tests."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

QEMU = shutil.which("qemu-system-riscv64")
SKIP_REASON = "qemu-system-riscv64 is not installed (Debian: apt-get install qemu-system-misc)"
TIMED_OUT = 124   # what `timeout` returns when it had to stop QEMU


def qemu_command(image: Path, kernel: Path, bootargs: str, harts: int,
                 mem: str = "128M") -> list[str]:
    return [QEMU, "-machine", "virt", "-bios", "none",
            "-m", mem, "-smp", str(harts), "-nographic",
            "-global", "virtio-mmio.force-legacy=false",
            "-drive", f"file={image},if=none,format=raw,id=x0",
            "-device", "virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0",
            "-kernel", str(kernel), "-append", bootargs]


def boot(kernel: Path, disk: Path, bootargs: str, harts: int = 1,
         stdin: bytes = b"", seconds: int = 60, mem: str = "128M") -> tuple[int, str]:
    """Boot with a private copy of disk; return (exit status, console text).

    The status is the one the guest wrote to the test device, or TIMED_OUT
    when the guest was still running after `seconds` (a shell waiting for
    input, for instance).
    """
    with tempfile.TemporaryDirectory(prefix="rvtrace-kernel-") as tmp:
        image = Path(tmp) / "fs.img"
        shutil.copyfile(disk, image)
        cmd = ["timeout", str(seconds)] + qemu_command(image, kernel, bootargs, harts, mem)
        proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=seconds + 30)
    text = proc.stdout.decode(errors="replace").replace("\r\n", "\n")
    # QEMU announces the timeout's SIGTERM on stderr, not on the console.
    return proc.returncode, text


def converse(kernel: Path, disk: Path, prompt: bytes, line: bytes, answer: bytes,
             seconds: int = 20) -> str:
    """Boot with no command; when `prompt` shows, type `line`; wait for
    `answer` (or the deadline), stop QEMU, and return the console text.

    Input is typed only once the prompt is up: bytes sent before the UART
    is initialised are lost, as on a real serial line.
    """
    with tempfile.TemporaryDirectory(prefix="rvtrace-kernel-") as tmp:
        image = Path(tmp) / "fs.img"
        shutil.copyfile(disk, image)
        # QEMU itself, not under `timeout`: killing `timeout` would leave
        # QEMU running. The loop below keeps the deadline instead.
        proc = subprocess.Popen(qemu_command(image, kernel, "", 1), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out, typed = b"", False
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline and answer not in out:
                ready, _, _ = select.select([proc.stdout], [], [], 0.2)
                if ready:
                    chunk = os.read(proc.stdout.fileno(), 4096)
                    if not chunk:
                        break
                    out += chunk
                if not typed and prompt in out:
                    proc.stdin.write(line)
                    proc.stdin.flush()
                    typed = True
        finally:
            proc.kill()   # the QEMU we started
            proc.wait()
    return out.decode(errors="replace").replace("\r\n", "\n")
