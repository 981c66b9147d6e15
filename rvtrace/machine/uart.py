"""UART 16550 at 0x10000000 (IRQ 10), behaving as QEMU's serial device does.

Reception goes through a 16-byte FIFO (1 byte while FIFOs are off), as on
QEMU: input the host has but the FIFO cannot take waits in `held` and moves in
at the machine's turn boundaries (`pump`), so a driver that drains the FIFO
in its interrupt handler sees input arrive in FIFO-sized pieces. Nothing
moves in before the guest shows it listens (enables the receive interrupt or
polls LSR): input typed ahead of the driver's set-up, which resets the FIFO,
is kept instead of lost.

Transmission is instantaneous: a byte written to THR goes straight to
`on_output(byte)` and THR is empty again, so LSR always shows THRE|TEMT.
Interrupt sources, highest first, as reported by IIR:
  RX data available (0x04)  while the receive buffer holds data and IER.ERBFI
  THR empty         (0x02)  latched when THR empties (or IER.ETBEI is turned on,
                            or FCR resets the transmit FIFO); cleared by reading
                            IIR when it is the reported source, by turning
                            IER.ETBEI off, or by writing THR
The line to the PLIC is high while IIR reports something. As on QEMU, the
device signals its level to the PLIC each time it recomputes IIR, even when
the level did not change: on a THR write (twice: THR full, then empty again),
an RBR read, an IIR read that acknowledges THR empty, an FCR write, an IER
write that changes it, and each byte received. The PLIC pends the source
again at each such signal (see plic.py), so a driver that never reads IIR
gets one interrupt per byte it sends. LCR, MCR, SCR writes and LSR, MSR
reads do not signal.
"""

from __future__ import annotations

from collections import deque

BASE = 0x1000_0000
SIZE = 0x100
IRQ = 10

IER_RX = 0x01
IER_TX = 0x02
LCR_DLAB = 0x80
MCR_LOOP = 0x10
LSR_DR = 0x01
LSR_THRE = 0x20
LSR_TEMT = 0x40
IIR_NONE = 0x01
IIR_TX = 0x02
IIR_RX = 0x04
IIR_FIFO = 0xC0
FCR_ENABLE = 0x01
FCR_CLEAR_RX = 0x02
FCR_CLEAR_TX = 0x04
FIFO_SIZE = 16


class Uart:
    STATE = ("rx", "held", "listening", "ier", "lcr", "mcr", "scr", "fcr", "dll", "dlm",
             "thr_pending")

    def __init__(self, plic=None, on_output=None):
        self.plic = plic
        self.on_output = on_output      # callback(byte) for each transmitted byte
        self.rx = deque()               # the receive FIFO
        self.held = deque()             # input the FIFO has no room for yet
        self.listening = False          # the guest enabled RX interrupts or polled LSR
        self.ier = 0
        self.lcr = 0
        self.mcr = 0x08                 # OUT2, as QEMU resets it
        self.scr = 0
        self.fcr = 0
        self.dll = 0x0C                 # divisor latch: QEMU resets it to 9600 baud
        self.dlm = 0
        self.thr_pending = False
        self.traffic = 0                # bytes sent or taken by the guest (the watchdog's "progress")
        self.reads = 0                  # register reads (a guest polling the console)

    # --- host side ---------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Console input arriving from the outside world."""
        self.held.extend(data)
        self.pump()

    def pump(self) -> None:
        """Move held input into the receive FIFO as far as it has room."""
        if self.held and self.listening:
            room = (FIFO_SIZE if self.fcr & FCR_ENABLE else 1) - len(self.rx)
            if room > 0:
                while room > 0 and self.held:
                    self.rx.append(self.held.popleft())
                    room -= 1
                self._signal()           # bytes received

    # --- register interface -------------------------------------------------------

    def read(self, off: int, size: int) -> int:
        self.reads += 1
        dlab = self.lcr & LCR_DLAB
        if off == 0:
            if dlab:
                return self.dll
            if self.rx:
                self.traffic += 1
            value = self.rx.popleft() if self.rx else 0
            self._signal()
            return value
        if off == 1:
            return self.dlm if dlab else self.ier
        if off == 2:
            iir = self._iir()
            if iir == IIR_TX:
                self.thr_pending = False     # reading IIR acknowledges THR empty
                self._signal()
            return iir | (IIR_FIFO if self.fcr & FCR_ENABLE else 0)
        if off == 3:
            return self.lcr
        if off == 4:
            return self.mcr
        if off == 5:
            if not self.listening:
                self.listening = True
                self.pump()
            return LSR_THRE | LSR_TEMT | (LSR_DR if self.rx else 0)
        if off == 6:
            return self._msr()
        if off == 7:
            return self.scr
        return 0

    def write(self, off: int, size: int, value: int) -> None:
        value &= 0xFF
        dlab = self.lcr & LCR_DLAB
        if off == 0:
            if dlab:
                self.dll = value
            else:
                self._transmit(value)
        elif off == 1:
            if dlab:
                self.dlm = value
            else:
                self._write_ier(value)
        elif off == 2:
            self._write_fcr(value)
        elif off == 3:
            self.lcr = value
        elif off == 4:
            self.mcr = value & 0x1F
        elif off == 7:
            self.scr = value

    def _write_ier(self, value: int) -> None:
        changed = (self.ier ^ value) & 0x0F
        self.ier = value & 0x0F
        if changed & IER_TX:
            # THR is always empty here: turning ETBEI on raises the interrupt at once
            self.thr_pending = bool(value & IER_TX)
        if value & IER_RX and not self.listening:
            self.listening = True
            self.pump()
        if changed:
            self._signal()

    def _write_fcr(self, value: int) -> None:
        # (QEMU also resets both FIFOs when FCR_ENABLE changes; we keep a received
        # byte then, as we keep input typed before the driver listens)
        if value & FCR_CLEAR_RX:
            self.rx.clear()
        if value & FCR_CLEAR_TX:
            self.thr_pending = True              # an empty transmitter, interrupt due
        self.fcr = value & 0xC9
        self.pump()
        self._signal()

    def _transmit(self, byte: int) -> None:
        self.thr_pending = False         # THR holds a byte for a moment
        self._signal()
        if self.mcr & MCR_LOOP:
            if len(self.rx) < FIFO_SIZE:
                self.rx.append(byte)     # loopback: what we send comes back
        elif self.on_output is not None:
            self.on_output(byte)
        self.traffic += 1
        self.thr_pending = True          # sent at once, THR is empty again
        self._signal()

    def _msr(self) -> int:
        if self.mcr & MCR_LOOP:          # modem inputs mirror MCR outputs
            m = self.mcr
            return ((m & 0x02) << 3) | ((m & 0x01) << 5) | ((m & 0x04) << 4) | ((m & 0x08) << 4)
        return 0xB0                      # DCD, DSR, CTS asserted (QEMU's reset value)

    def _iir(self) -> int:
        if self.ier & IER_RX and self.rx:
            return IIR_RX
        if self.ier & IER_TX and self.thr_pending:
            return IIR_TX
        return IIR_NONE

    def _signal(self) -> None:
        """Tell the PLIC the line's level, changed or not (it pends the source if high)."""
        if self.plic is not None:
            self.plic.signal(IRQ, self._iir() != IIR_NONE)
