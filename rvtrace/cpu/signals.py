"""The exceptions that carry control flow out of translated code.

They are Python exceptions because raising costs nothing until it happens: the
common path of a translated block never tests for any of these.
"""


class BusError(Exception):
    """Raised by the bus when nothing is mapped at a physical address.

    The hart turns it into an access-fault exception for the guest.
    """


class Trap(Exception):
    """A synchronous exception for the guest: `cause` (mcause code) and `tval`.

    The hart records which instruction of the running block raised it (its
    index, `Hart._idx`) before raising, so the block's retired count is exact.
    """

    def __init__(self, cause: int, tval: int = 0):
        super().__init__(cause, tval)
        self.cause = cause
        self.tval = tval


class Resync(Exception):
    """A system instruction completed: continue at `pc`, but first look again at
    interrupts, privilege and translation state (they may have changed)."""

    def __init__(self, pc: int):
        super().__init__(pc)
        self.pc = pc


class MmioExit(Exception):
    """A store reached a device: the block stops after it (instruction `Hart._idx`
    retired), so that an interrupt it raised or a stop it requested is seen at
    the exact instruction count."""
