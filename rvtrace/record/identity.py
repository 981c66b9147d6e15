"""Who runs on a hart: processes as the kernel knows them, or address spaces.

With a kernel that follows DESIGN.md's conventions (symbols + DWARF for
`cpus`, `proc`, `struct context`), the recorder watches `swtch` and learns
each switch's old and new `struct context`; `KernelIdentity` turns a
context address into the process it belongs to. Without them,
`AddressSpaceIdentity` numbers the user page tables (satp values) in the
order they appear, and those numbers stand in for pids; the trace's
metadata says so.
"""

from __future__ import annotations

from rvtrace.cpu.arch import SATP_MODE_BARE, SATP_PPN_MASK, satp_mode
from rvtrace.kernel.image import KernelImage
from rvtrace.kernel.procs import ProcessView, ProcInfo


class KernelIdentity:
    """Processes read from guest memory through the kernel's DWARF."""

    def __init__(self, image: KernelImage, view: ProcessView):
        self.image = image
        self.view = view
        L = view.layout
        proc = image.struct("proc")
        self.context_offset = proc.offset("context") if proc else None
        self.procs, self.proc_size, self.nproc = L.procs, L.proc_size, L.nproc
        self.swtch = image.address_of("swtch")
        # Where process output enters the console driver: xv6-riscv's newer
        # uartwrite(buf, n) (kernel buffer), else uartputc(c) per byte (ours, older xv6).
        self.uartwrite = image.address_of("uartwrite")
        self.uartputc = None if self.uartwrite else image.address_of("uartputc")
        # Our kernel's trace points (kernel_src/tracepoints.c); None on kernels without them.
        self.trace_cow = image.address_of("trace_cow")
        self.trace_fork = image.address_of("trace_fork")
        self.usable = self.context_offset is not None and self.swtch is not None

    def proc_of_context(self, addr: int) -> ProcInfo | None:
        """The process whose `struct proc.context` lives at addr; None for a cpu's context."""
        rel = addr - self.context_offset - self.procs
        if rel < 0 or rel >= self.nproc * self.proc_size or rel % self.proc_size:
            return None
        return self.view.proc_at(self.procs + rel)


class AddressSpaceIdentity:
    """Numbers for user address spaces (satp roots), in order of first appearance."""

    def __init__(self):
        self.kernel_satp: int | None = None     # the first satp an S-mode kernel installs
        self.numbers: dict[int, int] = {}
        self.last = 0                           # the latest number handed out

    def number(self, satp: int, inherit: int | None = None) -> int | None:
        """The number of a user address space; None for the kernel's page table or Bare.

        `inherit`: the number a new address space takes over (exec replaces a process's
        page table; it stays the same process)."""
        if satp_mode(satp) == SATP_MODE_BARE:
            return None
        if self.kernel_satp is None:
            self.kernel_satp = satp
        root = satp & SATP_PPN_MASK
        if root == self.kernel_satp & SATP_PPN_MASK:
            return None
        n = self.numbers.get(root)
        if n is None:
            n = self.numbers[root] = inherit if inherit is not None else self._fresh()
        return n

    def known(self, satp: int) -> bool:
        return satp & SATP_PPN_MASK in self.numbers

    def forget(self, number: int) -> None:
        """The process numbered so exited or replaced its page table: the kernel may reuse
        those root pages for another process, which must get a number of its own."""
        for root in [r for r, n in self.numbers.items() if n == number]:
            del self.numbers[root]

    def _fresh(self) -> int:
        self.last += 1
        return self.last
