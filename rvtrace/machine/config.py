"""What defines a machine: everything a run's determinism depends on.

A trace header stores exactly this (plus the kernel and disk bytes), so the
same MachineConfig and seed rebuild the same run on any host.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

RAM_BASE = 0x8000_0000
MAX_HARTS = 8
# RAM sizes a machine may have (a trace's header is held to the same range).
MIN_MEM_MIB, MAX_MEM_MIB = 1, 1024


@dataclass(frozen=True)
class MachineConfig:
    kernel: str                 # path to an RV64 ELF built for QEMU's virt board
    disk: str | None = None     # raw disk image for the virtio block device
    bootargs: str = ""          # /chosen/bootargs in the device tree
    harts: int = 1              # 1..MAX_HARTS
    seed: int = 0               # the scheduler's seed: every nondeterministic decision
    mem_mib: int = 128          # RAM size
    perturb: str = "off"        # how much the seed varies: "off", "vary", "chaos" (scheduler.py)

    def to_dict(self) -> dict:
        return asdict(self)
