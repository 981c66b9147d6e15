"""CPU benchmark: MIPS of one Hart on a RAM-only bus, running a compiled C loop.

The guest loop mixes ALU work, loads, stores, branches and calls. It runs twice:
in M-mode with paging off, and in U-mode under Sv39 (page tables built here).
Then xv6's memset shape (sb / addi / bne, three instructions a byte) clears
128 MiB as kinit does, with loop acceleration and without (a shorter run,
scaled). Prints MIPS and, beside them, the calibrated figure: MIPS divided by
the reference loop's M iterations/s (bench/calibrate.py), measured in
interleaved rounds -- reference, then a slice of the guest loop -- and
reported as the median of the per-round ratios with their spread. Never
asserts timings.

    python bench/bench_cpu.py [--insns N] [--rounds K] [--memset-mib M]
"""

from __future__ import annotations

import argparse
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from elftools.elf.elffile import ELFFile  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibrate import interleaved, reference_rate  # noqa: E402

from rvtrace.cpu import BusError, CodeCache, Hart  # noqa: E402
from rvtrace.cpu import accel  # noqa: E402
from rvtrace.guest.toolchain import compile_elf  # noqa: E402

RAM_BASE = 0x8000_0000
RAM_SIZE = 16 << 20

GUEST_C = r"""
#define N 256
long table[N];
long out;

__attribute__((noinline)) long mix(long a, long b) {
    return (a ^ (b << 3)) + (a >> 5) - b;
}

__attribute__((noinline)) void work(long rounds) {
    long sum = 0;
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < N; i++) {
            long v = table[i];
            v = mix(v, i + r);
            if (v & 1)
                sum += v;
            else
                sum -= v >> 1;
            table[i] = v;
        }
    }
    out = sum;
}

void start_c(void) {
    for (int i = 0; i < N; i++)
        table[i] = i * 2654435761u;
    for (;;)
        work(1000000);
}
"""

GUEST_S = r"""
    .section .text.entry
    .globl _start
_start:
    la sp, stack_top
    call start_c
1:  j 1b
    .bss
    .align 12
    .space 16384
stack_top:
"""

LINKER = r"""
ENTRY(_start)
SECTIONS {
  . = 0x80000000;
  .text : { *(.text.entry) *(.text .text.*) }
  .rodata : { *(.rodata .rodata.*) *(.srodata .srodata.*) }
  .data : { *(.data .data.*) *(.sdata .sdata.*) }
  .bss : { *(.bss .bss.*) *(.sbss .sbss.*) *(COMMON) }
}
"""


class RamBus:
    """The minimal bus of docs/architecture.md: RAM and nothing else."""

    def __init__(self, size=RAM_SIZE):
        self.ram = bytearray(size)
        self.ram_base = RAM_BASE
        self.ram_size = size
        self.stop_requested = False

    def read(self, paddr, size):
        raise BusError(f"nothing at {paddr:#x}")

    def write(self, paddr, size, value):
        raise BusError(f"nothing at {paddr:#x}")


def build_guest(tmp: Path) -> Path:
    (tmp / "guest.c").write_text(GUEST_C)
    (tmp / "start.S").write_text(GUEST_S)
    (tmp / "link.ld").write_text(LINKER)
    return compile_elf([tmp / "start.S", tmp / "guest.c"], tmp / "guest.elf", tmp / "link.ld")


def load(bus: RamBus, elf_path: Path) -> int:
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_LOAD":
                data = seg.data()
                off = seg["p_paddr"] - RAM_BASE
                bus.ram[off:off + len(data)] = data
        return elf.header["e_entry"]


def map_sv39_user(bus: RamBus) -> int:
    """Page tables mapping RAM 1:1 with 4 KiB user pages (RWXU). Returns satp."""
    root = RAM_BASE + RAM_SIZE - 0x2000                  # root and middle tables at the top of RAM,
    mid = root + 0x1000                                  # the leaf tables just below them
    tables_needed = RAM_SIZE // (512 * 4096)
    leaves = [root - 0x1000 * (i + 1) for i in range(tables_needed)]

    def put(addr, pte):
        struct.pack_into("<Q", bus.ram, addr - RAM_BASE, pte)

    put(root + 8 * ((RAM_BASE >> 30) & 511), ((mid >> 12) << 10) | 1)
    for t, leaf in enumerate(leaves):
        put(mid + 8 * (((RAM_BASE >> 21) + t) & 511), ((leaf >> 12) << 10) | 1)
        for i in range(512):
            pa = RAM_BASE + (t * 512 + i) * 4096
            put(leaf + 8 * i, ((pa >> 12) << 10) | 0xDF)       # D A . U X W R V
    return (8 << 60) | (root >> 12)


def measure(label: str, elf: Path, insns: int, user: bool, rounds: int) -> None:
    """MIPS of the guest loop, in `rounds` slices each after a reference-loop timing."""
    bus = RamBus()
    hart = Hart(0, bus, CodeCache())
    hart.pc = load(bus, elf)
    if user:
        hart.write_csr(0x180, map_sv39_user(bus))
        hart.set_priv(0)
    hart.run(200_000)                                    # warm up: translate the loop
    per_round = max(1, insns // rounds)

    def one_slice() -> tuple[int, float]:
        # CPU time, not wall time: the machine is shared, and wall time measures the neighbours
        c0 = time.process_time()
        done = 0
        while done < per_round:
            done += hart.run(min(100_000, per_round - done))
        return done, time.process_time() - c0
    cal = interleaved(one_slice, rounds)
    print(f"{label:20s} {cal.rate:6.2f} MIPS  calibrated {cal.ratio:4.2f} (spread {cal.lo:.2f}-{cal.hi:.2f})"
          f"  reference {cal.ref:.2f} M it/s  [{rounds} x {per_round:,} insns; "
          f"{hart.code_cache.translations} blocks]")


def memset_hart(mib: int, accelerate: bool) -> Hart:
    """xv6's memset loop (gcc -O): sb a1,0(a5); addi a5,a5,1; bne a5,a4,loop, over `mib` MiB."""
    bus = RamBus(size=(mib + 1) << 20)
    code = struct.pack("<IHII", 0x00B78023, 0x0785, 0xFEE79DE3, 0x00100073)   # sb / c.addi / bne / ebreak
    bus.ram[0:len(code)] = code                                      # the bytes of xv6's memset loop
    hart = Hart(0, bus, CodeCache())
    hart.accel = accelerate
    hart.pc = RAM_BASE
    hart.x[15] = RAM_BASE + (1 << 20)                                # a5: destination
    hart.x[14] = hart.x[15] + (mib << 20)                            # a4: its end
    hart.x[11] = 1                                                   # a1: the byte (kfree's junk)
    return hart


def measure_memset(mib: int) -> None:
    for accelerate, size in ((True, mib), (False, max(1, mib // 64))):
        ref = reference_rate(reps=1)                       # just before, in the same process
        hart = memset_hart(size, accelerate)
        insns = 3 * (size << 20)
        before = dict(accel.stats)
        t0 = time.process_time()
        done = 0
        while done < insns:
            done += hart.run(min(200_000, insns - done))        # the machine's turn length
        cpu = time.process_time() - t0
        assert hart.pc == RAM_BASE + 10, "the loop did not finish"
        scaled = cpu * mib / size
        label = "accelerated" if accelerate else "plain (scaled)"
        bulk = accel.stats["rounds"] - before["rounds"]
        print(f"memset {mib} MiB, {label:15s} cpu {scaled:7.2f} s  {3 * (mib << 20) / scaled / 1e6:8.1f} MIPS"
              f"  calibrated {3 * (mib << 20) / scaled / 1e6 / ref:6.1f}  ({bulk:,} rounds in bulk)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--insns", type=int, default=5_000_000)
    ap.add_argument("--memset-mib", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    print("calibrated = MIPS / the reference loop's M iterations/s, per round; medians of the rounds")
    with tempfile.TemporaryDirectory() as d:
        elf = build_guest(Path(d))
        measure("M-mode, paging off", elf, args.insns, user=False, rounds=args.rounds)
        measure("U-mode, Sv39", elf, args.insns, user=True, rounds=args.rounds)
    if args.memset_mib:
        measure_memset(args.memset_mib)


if __name__ == "__main__":
    main()
