"""The limits a trace's values are checked against, and the error a failed check raises.

Apart from validate.py so that writers (the recorder's snapshot layer) can share the
limits without loading the reader's checks.
"""

from __future__ import annotations

MAX_HARTS = 8                        # the board's (rvtrace.machine.config.MAX_HARTS)
MIN_MEM_MIB, MAX_MEM_MIB = 1, 1024   # the board's RAM sizes (rvtrace.machine.config)
MAX_KERNEL_BYTES = 64 << 20          # an inflated kernel ELF
MAX_DISK_BYTES = 128 << 20           # an inflated disk image (xv6's is 2 MiB)
MAX_UNDECLARED_BYTES = 32 << 20      # either, from a trace that does not declare its sizes
MAX_CHUNK_EVENTS = 1 << 16           # events in one chunk (the writer uses at most 4096)
MAX_CHUNK_BYTES = 32 << 20           # one chunk's inflated events
MAX_DEPTH = 8                        # nesting of any value inside an event or the metadata
MAX_PID = (1 << 31) - 1              # a C int, as the kernel's
MAX_ICOUNT = (1 << 63) - 1
MAX_U64 = (1 << 64) - 1


class Invalid(Exception):
    """What is wrong with a value read from a trace, in a few words."""


def depth_ok(value, limit: int = MAX_DEPTH) -> bool:
    """True when `value` nests lists and maps at most `limit` deep (iterative: no recursion)."""
    stack = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (list, tuple)):
            if d >= limit:
                return False
            stack.extend((x, d + 1) for x in v)
        elif isinstance(v, dict):
            if d >= limit:
                return False
            stack.extend((x, d + 1) for x in v.keys())
            stack.extend((x, d + 1) for x in v.values())
    return True
