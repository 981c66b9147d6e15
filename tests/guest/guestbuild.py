"""Building the bare-metal test guests, and running them under rvtrace and QEMU."""

from __future__ import annotations

import hashlib
import importlib
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import termios
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rvtrace.guest.toolchain import FREESTANDING_FLAGS, TARGET_FLAGS, compile_elf

SRC = Path(__file__).parent / "src"
REPO = Path(__file__).resolve().parents[2]
QEMU = shutil.which("qemu-system-riscv64")
COMMON = ["crt.S", "lib.c"]


def build(name: str, defines: tuple[str, ...] = ()) -> Path:
    """Compile tests/guest/src/<name>.c with the runtime; cached by content."""
    sources = [SRC / f for f in COMMON] + [SRC / f"{name}.c"]
    h = hashlib.sha256()
    for part in [*TARGET_FLAGS, *FREESTANDING_FLAGS, *defines]:
        h.update(part.encode())
    for f in sources + [SRC / "lib.h", SRC / "guest.ld"]:
        h.update(f.read_bytes())
    out = Path(tempfile.gettempdir()) / "rvtrace-test-guests" / f"{name}-{h.hexdigest()[:16]}.elf"
    if not out.exists():
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        compile_elf(sources, tmp, SRC / "guest.ld", include_dirs=[SRC],
                    extra_flags=[f"-D{d}" for d in defines])
        os.replace(tmp, out)
    return out


def make_disk(path: Path) -> Path:
    """A 4 KiB image whose sector 1 starts with a known sentence."""
    image = bytearray(4096)
    text = b"hello from sector one!!!"
    image[512:512 + len(text)] = text
    path.write_bytes(image)
    return path


def cpu_ready() -> bool:
    try:
        return hasattr(importlib.import_module("rvtrace.cpu"), "Hart")
    except ImportError:
        return False


def run_rvtrace(*args: str, stdin: bytes = b"", timeout: float = 120):
    """`rvtrace run ...` in a subprocess: (exit code, stdout bytes, stderr text)."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "rvtrace.cli", "run", *args], input=stdin,
                          capture_output=True, timeout=timeout, cwd=REPO, env=env)
    return proc.returncode, proc.stdout, proc.stderr.decode(errors="replace")


def run_qemu(elf: Path, harts: int = 1, disk: Path | None = None, stdin: bytes = b"",
             timeout: int = 30):
    """The same ELF under qemu-system-riscv64 (single-threaded TCG: QEMU 7.2's
    multi-threaded mode can lose a wfi wake-up): (exit code, stdout bytes)."""
    cmd = ["timeout", str(timeout), QEMU, "-machine", "virt", "-bios", "none", "-m", "128M",
           "-smp", str(harts), "-accel", "tcg,thread=single", "-nographic",
           "-global", "virtio-mmio.force-legacy=false", "-kernel", str(elf)]
    if disk is not None:
        cmd += ["-drive", f"file={disk},if=none,format=raw,id=x0",
                "-device", "virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0"]
    proc = subprocess.run(cmd, input=stdin, capture_output=True)
    return proc.returncode, proc.stdout


@dataclass
class PtyRun:
    proc: subprocess.Popen
    master: int               # our end of the terminal
    slave: int                # rvtrace's end
    before: list              # the terminal's settings before rvtrace started


@contextmanager
def rvtrace_run_on_pty(*args: str):
    """`rvtrace run ARGS` with a new pseudo-terminal as its terminal. On leaving, a
    process still running is killed and the terminal closed."""
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "rvtrace.cli", "run", *args],
                            stdin=slave, stdout=slave, stderr=slave, cwd=REPO, env=env)
    try:
        yield PtyRun(proc, master, slave, before)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(slave)


def read_until(fd: int, marker: bytes, timeout: float = 60) -> bytes:
    """What the terminal printed until `marker` (or the timeout, or its end)."""
    out = b""
    end = time.monotonic() + timeout
    while marker not in out and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out
