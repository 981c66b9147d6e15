"""PLIC (platform-level interrupt controller) at 0xc000000, QEMU virt layout.

    0x000000 + 4*irq               priority of source irq (0 = never interrupts)
    0x001000 + 4*word              pending bits (read-only)
    0x002000 + 0x80*ctx + 4*word   enable bits of context ctx
    0x200000 + 0x1000*ctx          priority threshold of ctx
    0x200004 + 0x1000*ctx          claim (read) / complete (write)

Context 2*h is hart h's M-mode (drives MEIP), 2*h+1 its S-mode (drives SEIP).

Interrupt signalling follows QEMU's virt board, not the PLIC specification's
ideal gateway, because kernels written for QEMU depend on it. A device
*signals* its line level whenever it updates its interrupt state (a 16550 on
every register access that recomputes IIR, virtio on every used-buffer
notification and interrupt acknowledge), and each high signal sets the
source's pending bit, even while the source is claimed. A claim clears the
pending bit and marks the source claimed; a complete clears only the claimed
mark. A line that simply stays high is therefore not pended again after a
complete until its device signals again: xv6 2022 never reads the UART's IIR,
so its "transmit empty" condition stays up, and on QEMU it interrupts once per
transmitted byte rather than forever.

A low signal leaves the pending bit alone: only a claim clears it, as in QEMU
since its late-2024 PLIC fix (also in the 7.2 stable series Debian ships;
tests/guest/src/plicuart.c checks it against the installed QEMU). Older QEMU
releases cleared pending on a low signal too. The difference shows when a
device's condition goes away before the claim (a driver that polled it): here,
as on current QEMU, the source is still claimed once and its handler finds
nothing to do.
"""

from __future__ import annotations

BASE = 0x0C00_0000
NUM_SOURCES = 97                       # ids 1..96: riscv,ndev = 96 as on QEMU virt

PRIORITY_BASE = 0x000000
PENDING_BASE = 0x001000
ENABLE_BASE = 0x002000
ENABLE_STRIDE = 0x80
CONTEXT_BASE = 0x200000
CONTEXT_STRIDE = 0x1000

MIP_SEIP = 1 << 9
MIP_MEIP = 1 << 11
WORDS = (NUM_SOURCES + 31) // 32


SIZE = 0x600000                        # QEMU maps room for its maximum of harts


def size_for(harts: int) -> int:
    """The register window (the same for any hart count, as on QEMU)."""
    return SIZE


class Plic:
    STATE = ("priority", "level", "pending", "claimed", "enable", "threshold", "_out")

    def __init__(self, harts):
        self.harts = harts
        self.contexts = 2 * len(harts)
        self.size = size_for(len(harts))
        self.priority = [0] * NUM_SOURCES
        self.level = [False] * NUM_SOURCES       # the device lines
        self.pending = [False] * NUM_SOURCES
        self.claimed = [False] * NUM_SOURCES     # in flight between claim and complete
        self.enable = [[False] * NUM_SOURCES for _ in range(self.contexts)]
        self.threshold = [0] * self.contexts
        self._out = [False] * self.contexts      # last level driven into mip

    # --- device side ---------------------------------------------------------------

    def signal(self, irq: int, high: bool) -> None:
        """The device reports its line level: high pends the source, claimed or not."""
        self.level[irq] = high
        if high:
            self.pending[irq] = True
            self._update()

    # --- register interface -------------------------------------------------------

    def read(self, off: int, size: int) -> int:
        if off < PENDING_BASE:
            irq = off // 4
            return self.priority[irq] if 0 < irq < NUM_SOURCES else 0
        if off < ENABLE_BASE:
            return self._bits(self.pending, (off - PENDING_BASE) // 4)
        if off < CONTEXT_BASE:
            ctx, word = divmod(off - ENABLE_BASE, ENABLE_STRIDE)
            return self._bits(self.enable[ctx], word // 4) if ctx < self.contexts else 0
        ctx, reg = divmod(off - CONTEXT_BASE, CONTEXT_STRIDE)
        if ctx >= self.contexts:
            return 0
        if reg == 0:
            return self.threshold[ctx]
        if reg == 4:
            return self.claim(ctx)
        return 0

    def write(self, off: int, size: int, value: int) -> None:
        value &= 0xFFFF_FFFF
        if off < PENDING_BASE:
            irq = off // 4
            if 0 < irq < NUM_SOURCES:
                self.priority[irq] = value & 7
        elif off < ENABLE_BASE:
            return                                # pending bits are read-only
        elif off < CONTEXT_BASE:
            ctx, word = divmod(off - ENABLE_BASE, ENABLE_STRIDE)
            word //= 4
            if ctx < self.contexts and word < WORDS:
                for bit in range(32):
                    irq = 32 * word + bit
                    if irq < NUM_SOURCES:           # bit 0 is stored too, as on QEMU (never pends)
                        self.enable[ctx][irq] = bool(value >> bit & 1)
        else:
            ctx, reg = divmod(off - CONTEXT_BASE, CONTEXT_STRIDE)
            if ctx >= self.contexts:
                return
            if reg == 0:
                self.threshold[ctx] = value & 7
            elif reg == 4:
                self.complete(ctx, value)
        self._update()

    @staticmethod
    def _bits(flags, word: int) -> int:
        v = 0
        for bit in range(32):
            irq = 32 * word + bit
            if irq < NUM_SOURCES and flags[irq]:
                v |= 1 << bit
        return v

    # --- claim / complete -----------------------------------------------------------

    def best(self, ctx: int) -> int:
        """The pending, enabled source with the highest priority above threshold (0 if none)."""
        best_irq, best_prio = 0, self.threshold[ctx]
        enable = self.enable[ctx]
        claimed = self.claimed
        for irq in range(1, NUM_SOURCES):
            if self.pending[irq] and enable[irq] and not claimed[irq] and self.priority[irq] > best_prio:
                best_irq, best_prio = irq, self.priority[irq]
        return best_irq

    def claim(self, ctx: int) -> int:
        irq = self.best(ctx)
        if irq:
            self.pending[irq] = False
            self.claimed[irq] = True
            self._update()
        return irq

    def complete(self, ctx: int, irq: int) -> None:
        # As QEMU: any source id is accepted (enabled for ctx or not) and only its
        # claimed mark goes; a line still high waits for its device's next signal.
        if 0 < irq < NUM_SOURCES:
            self.claimed[irq] = False

    def _update(self) -> None:
        for ctx in range(self.contexts):
            high = self.best(ctx) != 0
            if high != self._out[ctx]:
                self._out[ctx] = high
                hart = self.harts[ctx // 2]
                hart.set_pending(MIP_MEIP if ctx % 2 == 0 else MIP_SEIP, high)
