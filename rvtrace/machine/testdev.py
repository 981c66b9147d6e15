"""SiFive test finisher at 0x100000: how a guest powers the machine off.

A 32-bit write of 0x5555 powers off with exit code 0; (code << 16) | 0x3333
exits with `code`; 0x7777 asks for a reset, which we treat as power-off with
exit code 0 (a run ends there). Anything else is ignored, as on QEMU.
"""

from __future__ import annotations

BASE = 0x0010_0000
SIZE = 0x1000
PASS, FAIL, RESET = 0x5555, 0x3333, 0x7777


class SifiveTest:
    def __init__(self, bus):
        self.bus = bus

    def read(self, off: int, size: int) -> int:
        return 0

    def write(self, off: int, size: int, value: int) -> None:
        if off != 0:
            return
        status, code = value & 0xFFFF, (value >> 16) & 0xFFFF
        if status == PASS:
            self.bus.power_off = ("poweroff", 0)
        elif status == FAIL:
            self.bus.power_off = ("poweroff", code)
        elif status == RESET:
            self.bus.power_off = ("reset", 0)
        else:
            return
        self.bus.stop_requested = True
