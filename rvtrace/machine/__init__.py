"""The board: QEMU virt's memory map, devices, and the loop that runs the harts.

    config.py      MachineConfig: everything a run's determinism depends on
    bus.py         RAM + MMIO dispatch by address range, DMA, the stop flags
    clint.py       msip / mtimecmp / mtime (0x2000000)
    plic.py        interrupt routing, claim/complete (0xc000000)
    uart.py        16550 console (0x10000000, IRQ 10)
    virtio_blk.py  virtio-mmio block device, modern interface (0x10001000, IRQ 1)
    testdev.py     SiFive test finisher: power-off and exit code (0x100000)
    fdt.py         the device tree handed to the kernel in a1
    elfload.py     loading a kernel ELF as `-kernel` does
    scheduler.py   every nondeterministic decision, live or replayed
    state.py       capture/restore of device state (replay checkpoints)
    machine.py     Machine: boots, runs, keeps virtual time
    runner.py      `rvtrace run`: the machine on this terminal
"""
