"""MIPS of the whole machine (harts + bus + devices + scheduler), not a test.

    python bench/bench_machine.py [--rounds N] [--harts N] [PROGRAM ARGS...]

1. a CPU-bound bare-metal guest (tests/guest/src/cpuloop.c: ALU, loads,
   stores, branches, calls) booted with `Machine` and run to power-off;
2. the boot of a small kernel: the bundled kernel running a program when
   rvtrace.guest can build it, else the multi-hart timer/IPI test guest.
Prints instructions, wall seconds and MIPS for each. Never asserts timings.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "guest")]

from guestbuild import build  # noqa: E402
from rvtrace.errors import UserError  # noqa: E402
from rvtrace.machine.config import MachineConfig  # noqa: E402
from rvtrace.machine.machine import Machine  # noqa: E402


def measure(label: str, config: MachineConfig, max_insns: int | None = None) -> float:
    machine = Machine(config)
    out = bytearray()
    machine.on_console_output = out.append
    start = time.perf_counter()
    result = machine.run(max_insns)
    seconds = time.perf_counter() - start
    mips = result.icount / seconds / 1e6
    console = out.decode(errors="replace").strip().splitlines()
    print(f"{label:<34} {result.icount:>11,} insns {seconds:8.2f} s {mips:7.2f} MIPS"
          f"   ({result.reason}, exit {result.exit_code}; last line: {console[-1] if console else ''!r})")
    return mips


def kernel_boot_config(harts: int, words: list[str]):
    """The bundled kernel running a program, or None when it cannot be built yet."""
    try:
        from rvtrace.guest.bundle import bundled_boot
        kernel, disk, bootargs = bundled_boot(words[0], words[1:])
        return f"bundled kernel: {bootargs}", MachineConfig(kernel=kernel, disk=disk, bootargs=bootargs, harts=harts)
    except (UserError, ImportError, AttributeError, OSError) as exc:
        print(f"(bundled kernel unavailable: {str(exc).splitlines()[0]})")
        return None, None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3000, help="cpuloop rounds (about 1,700 insns each)")
    ap.add_argument("--harts", type=int, default=1, help="harts for the kernel boot")
    ap.add_argument("--max-insns", type=int, default=50_000_000, help="cap for the kernel boot")
    ap.add_argument("program", nargs="*", default=["echo", "hi"],
                    help="what the bundled kernel runs (default: echo hi)")
    args = ap.parse_args()

    loop = build("cpuloop", defines=(f"ROUNDS={args.rounds}",))
    measure("cpu-bound guest (cpuloop)", MachineConfig(kernel=str(loop)))
    loop4 = build("cpuloop", defines=(f"ROUNDS={args.rounds // 4}", "WORKERS=4"))
    measure("cpu-bound guest, 4 harts", MachineConfig(kernel=str(loop4), harts=4))
    label, config = kernel_boot_config(args.harts, args.program)
    if config is not None:
        try:
            measure(label, config, args.max_insns)
            return 0
        except Exception as exc:        # a bench reports; it does not stop at the first problem
            print(f"(bundled kernel failed: {type(exc).__name__}: {exc})")
    config = MachineConfig(kernel=str(build("multihart")), harts=4)
    measure("multihart guest (4 harts, timers)", config, args.max_insns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
