"""Interrupt signalling between the 16550 and the PLIC as on QEMU's virt board
(tests/guest/src/plicuart.c): a driver that never reads IIR, as xv6 2022's,
gets one interrupt per byte it sends, and claim, complete, the pending bits
and the threshold read back as on QEMU."""

import pytest

from guestbuild import QEMU, build, cpu_ready, run_qemu, run_rvtrace

needs_cpu = pytest.mark.skipif(not cpu_ready(), reason="rvtrace.cpu.Hart is not written yet")
needs_qemu = pytest.mark.skipif(QEMU is None, reason="qemu-system-riscv64 is not installed "
                                "(Debian: apt-get install qemu-system-misc)")

# one interrupt for turning THR-empty on, then one per byte of "abcde\n"
PER_BYTE = b"interrupts per byte: 1 1 1 1 1 1 1\n"
# see the comments in plicuart.c's part2 for what each number is
POLLED = (b"polled: 1 1 10 0 0 0 1 1 10 0 0 0 1 0 0 1 0 0 1 1 10 0 0 0 2 1 1 10 1 0 0 0\n")
EXPECTED = b"abcde\n\n" + PER_BYTE + b"xyz" + POLLED + b"plicuart: done\n"


@needs_cpu
def test_one_interrupt_per_byte_and_plic_as_qemu():
    rc, out, err = run_rvtrace("--kernel", str(build("plicuart")))
    assert (rc, out) == (0, EXPECTED), err


@needs_qemu
@pytest.mark.qemu
def test_plicuart_under_qemu_gives_the_same_console():
    assert run_qemu(build("plicuart")) == (0, EXPECTED)
