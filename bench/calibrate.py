"""What the benchmarks measure against: this host's Python speed, and QEMU.

reference_rate()  M iterations/s of the reference loop
                  `for i in range(N): x = (x + i) & 0xFFFFFFFFFFFFFFFF`
                  at a script's top level, on this interpreter, now (best of a
                  few, CPU time). Dividing
                  MIPS by it gives a figure that does not depend on how fast
                  the host's CPython is ("calibrated MIPS": guest instructions
                  per reference-loop iteration).
interleaved()     the calibrated figure of some work done in slices: rounds
                  of (reference loop, one slice), medians of the per-round
                  rates and ratios, and their spread. CPython's speed can
                  change within a process, so a reference taken once, before
                  the work, can be off by a factor of two.
qemu_seconds()    CPU seconds qemu-system-riscv64 takes to boot the same
                  kernel and disk to power-off, or None without QEMU.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import time
from typing import Callable, NamedTuple

REFERENCE_N = 2_000_000


# Run as a script's top level (global variables), as the figures were first taken:
# inside a function the same loop runs about three times faster.
_REFERENCE = compile(f"x = 0\nfor i in range({REFERENCE_N}): x = (x + i) & 0xFFFFFFFFFFFFFFFF\n",
                     "<reference loop>", "exec")


def reference_rate(reps: int = 3) -> float:
    best = None
    for _ in range(reps):
        t = time.process_time()
        exec(_REFERENCE, {})
        dt = time.process_time() - t
        best = dt if best is None else min(best, dt)
    return REFERENCE_N / best / 1e6


class Calibrated(NamedTuple):
    """Medians over the rounds of interleaved(); lo/hi: the extreme per-round ratios."""
    rounds: int
    rate: float          # M units/s of the work
    ref: float           # M iterations/s of the reference loop
    ratio: float         # median of the per-round rate / ref
    lo: float
    hi: float

    def __str__(self) -> str:
        return (f"{self.rate:6.2f} M/s  calibrated {self.ratio:4.2f} (spread {self.lo:.2f}-{self.hi:.2f}, "
                f"median of {self.rounds} rounds; reference {self.ref:.2f} M it/s)")


def interleaved(work: Callable[[], tuple[float, float]], rounds: int = 5) -> Calibrated:
    """Calibrate `work`, a function doing one slice and returning (units done, CPU seconds):
    each round times the reference loop once and then one slice."""
    rates, refs, ratios = [], [], []
    for _ in range(rounds):
        ref = reference_rate(reps=1)
        units, cpu = work()
        rate = units / cpu / 1e6
        rates.append(rate)
        refs.append(ref)
        ratios.append(rate / ref)
    return Calibrated(rounds, statistics.median(rates), statistics.median(refs), statistics.median(ratios),
                      min(ratios), max(ratios))


def qemu_command(kernel, disk, bootargs: str, harts: int = 1, mem_mib: int = 128) -> list[str] | None:
    qemu = shutil.which("qemu-system-riscv64")
    if qemu is None:
        return None
    cmd = [qemu, "-machine", "virt", "-bios", "none", "-m", str(mem_mib), "-smp", str(harts),
           "-nographic", "-global", "virtio-mmio.force-legacy=false"]
    if disk:
        cmd += ["-drive", f"file={disk},if=none,format=raw,id=x0,snapshot=on",
                "-device", "virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0"]
    return cmd + ["-kernel", str(kernel), "-append", bootargs]


def child_cpu(cmd, timeout: float = 120, env=None) -> float:
    """CPU seconds (user + sys) a subprocess used. Python's bytecode cache stays on,
    as for an installed copy (PYTHONDONTWRITEBYTECODE would recompile every module)."""
    env = dict(os.environ if env is None else env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=timeout, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def qemu_seconds(kernel, disk, bootargs: str, harts: int = 1, reps: int = 3) -> float | None:
    """Best-of-reps CPU seconds of QEMU booting to power-off (the bundled kernel powers
    off when its program ends), or None when QEMU is not installed."""
    cmd = qemu_command(kernel, disk, bootargs, harts)
    if cmd is None:
        return None
    return min(child_cpu(cmd) for _ in range(reps))
