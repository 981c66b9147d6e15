"""Boot of a real xv6-riscv build to its first shell prompt, rvtrace next to QEMU. Not a test.

    RVTRACE_XV6=DIR python bench/bench_xv6.py [--harts 1 3] [--no-qemu] [--command forkexec]

DIR is an xv6-riscv checkout built with `make kernel/kernel fs.img` (see
docs/compat.md). For each hart count, prints the instructions and wall time
rvtrace needs until xv6 prints its first `$ `, and the wall time of
qemu-system-riscv64 (-accel tcg, on this machine) to the same point; then
types COMMAND into both shells and prints what each answered. Never asserts.
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from rvtrace.machine.config import MachineConfig  # noqa: E402
from rvtrace.machine.machine import Machine  # noqa: E402

PROMPT = b"$ "
STEP = 1_000_000


def rvtrace_boot(xv6: Path, harts: int, command: str | None):
    """(instructions, seconds) to the first prompt, and the console after COMMAND."""
    m = Machine(MachineConfig(kernel=str(xv6 / "kernel" / "kernel"), disk=str(xv6 / "fs.img"),
                              harts=harts))
    out = bytearray()
    prompt_at = []

    def byte(b):
        out.append(b)
        if out.endswith(PROMPT):
            prompt_at.append((m.icount_now(), time.perf_counter()))
    m.on_console_output = byte
    start = time.perf_counter()
    while not prompt_at:
        m.run(STEP)
    insns, seconds = prompt_at[0][0], prompt_at[0][1] - start
    if not command:
        return insns, seconds, ""
    out.clear()
    m.feed_console(command.encode() + b"\n")
    while len(prompt_at) < 2:
        m.run(STEP)
    return insns, seconds, out.decode(errors="replace")


def qemu_boot(xv6: Path, harts: int, command: str | None):
    """Wall seconds to the first prompt under qemu-system-riscv64, and the console after COMMAND."""
    cmd = ["qemu-system-riscv64", "-machine", "virt", "-bios", "none", "-m", "128M", "-smp", str(harts),
           "-nographic", "-snapshot", "-global", "virtio-mmio.force-legacy=false",
           "-kernel", str(xv6 / "kernel" / "kernel"),
           "-drive", f"file={xv6 / 'fs.img'},if=none,format=raw,id=x0",
           "-device", "virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        out = _read_until(proc, PROMPT, 120)
        seconds = time.perf_counter() - start
        answer = ""
        if command and out is not None:
            proc.stdin.write(command.encode() + b"\n")
            proc.stdin.flush()
            answer = (_read_until(proc, PROMPT, 60) or b"").decode(errors="replace")
        return seconds if out is not None else None, answer
    finally:
        proc.kill()
        proc.wait()


def _read_until(proc, marker: bytes, timeout: float):
    got = bytearray()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                return None
            got += chunk
            if got.endswith(marker):
                return bytes(got)
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--harts", type=int, nargs="+", default=[1, 3])
    ap.add_argument("--no-qemu", action="store_true")
    ap.add_argument("--command", default="forkexec")
    args = ap.parse_args()
    where = os.environ.get("RVTRACE_XV6")
    if not where or not (Path(where) / "kernel" / "kernel").exists():
        sys.exit("set RVTRACE_XV6 to an xv6-riscv directory built with `make kernel/kernel fs.img`")
    xv6 = Path(where)
    qemu = None if args.no_qemu else shutil.which("qemu-system-riscv64")
    for harts in args.harts:
        insns, seconds, answer = rvtrace_boot(xv6, harts, args.command)
        print(f"rvtrace {harts} hart(s): first prompt after {insns:,} instructions, {seconds:.1f} s "
              f"({insns / seconds / 1e6:.2f} MIPS)")
        if answer:
            print("  " + answer.replace("\n", "\n  "))
        if qemu:
            q_seconds, q_answer = qemu_boot(xv6, harts, args.command)
            shown = f"{q_seconds:.2f} s" if q_seconds is not None else "no prompt within 120 s"
            print(f"qemu    {harts} hart(s): first prompt after {shown}")
            if q_answer:
                print("  " + q_answer.replace("\r", "").replace("\n", "\n  "))


if __name__ == "__main__":
    main()
