"""A synthetic but realistic run's events, for tests and for measuring the format.

The mix imitates what recording xv6-style programs produces: scheduler
decisions and timer interrupts all along, printf's one-byte writes (each a
syscall enter/exit plus a console byte), fork/exec/exit/wait, copy-on-write
page faults after fork, processes sleeping on the disk inside exec.

    python -m rvtrace.trace.synthetic [EVENTS]   # bytes per event of such a trace
"""

from __future__ import annotations

import os
import random
import sys
import tempfile

from rvtrace.trace.events import Kind

SLEEP_BT = ["sleep", "virtio_disk_rw", "bread", "readi", "loadseg", "exec", "sys_exec", "syscall", "usertrap"]
TIMER_BT = ["yield", "usertrap"]
WAIT_BT = ["sleep", "wait", "sys_wait", "syscall", "usertrap"]


def synthetic_events(n: int, seed: int = 0, harts: int = 1):
    """Yield `n` stored events `(kind, icount, hart, pid, *payload)` of a plausible run."""
    rng = random.Random(seed)
    icount, pid, next_pid, produced = 0, 1, 2, 0
    text = b"parent waiting\nTHIS IS ECHO\n"

    def ev(kind, *payload):
        nonlocal produced
        produced += 1
        return (kind, icount, hart, pid, *payload)

    while True:
        hart = rng.randrange(harts)
        icount += rng.randrange(50, 3000)
        r = rng.random()
        if r < 0.20:
            batch = [ev(Kind.SCHEDULE, 0, rng.choice((1000, 2000, 5000, 10000)))]
        elif r < 0.30:
            batch = [ev(Kind.INTERRUPT, 5, 0, rng.randrange(2)),
                     ev(Kind.SWITCH, pid, 0, 1, TIMER_BT)]
        elif r < 0.75:          # printf: one write per byte
            ch = text[rng.randrange(len(text)):][:1]
            batch = [ev(Kind.SYSCALL_ENTER, 16, [1, ch, 1]), ev(Kind.CONSOLE_OUT, ch),
                     ev(Kind.SYSCALL_EXIT, 16, 1, None)]
        elif r < 0.85:
            va = rng.randrange(0, 0x20) * 4096 + rng.randrange(0, 4096, 8)
            batch = [ev(Kind.PAGE_FAULT, 15, va, rng.randrange(0, 0x2000, 2), 0, 1)]
        elif r < 0.90:
            block = rng.randrange(30, 1000)
            batch = [ev(Kind.DISK_REQUEST, 0, block, 0), ev(Kind.SWITCH, pid, 0, 2, SLEEP_BT)]
            icount += rng.randrange(5000, 20000)
            batch += [ev(Kind.INTERRUPT, 9, 1, 0), ev(Kind.DISK_COMPLETE, 0, block, 0)]
        elif r < 0.95:
            child = next_pid
            next_pid += 1
            batch = [ev(Kind.SYSCALL_ENTER, 1, []), ev(Kind.FORK, child), ev(Kind.SYSCALL_EXIT, 1, child, None),
                     ev(Kind.SYSCALL_ENTER, 7, ["echo", ["echo", "THIS", "IS", "ECHO"]]),
                     ev(Kind.EXEC, "echo", ["echo", "THIS", "IS", "ECHO"])]
        else:
            batch = [ev(Kind.SYSCALL_ENTER, 3, [0x3fa8]), ev(Kind.SWITCH, pid, 0, 5, WAIT_BT),
                     ev(Kind.EXIT, 0), ev(Kind.REAPED, next_pid - 1, 0), ev(Kind.SYSCALL_EXIT, 3, next_pid - 1, None)]
        for item in batch:
            yield item
            if produced >= n:
                return
        if rng.random() < 0.1:
            pid = rng.randrange(1, next_pid)


def write_synthetic(path, n: int, seed: int = 0, harts: int = 1, **writer_options) -> None:
    from rvtrace.trace.writer import TraceWriter
    with TraceWriter(path, config={"harts": harts, "synthetic": True}, seed=seed, **writer_options) as w:
        for e in synthetic_events(n, seed, harts):
            w.event(*e)


def bytes_per_event(n: int = 200_000, seed: int = 0) -> tuple[int, float]:
    """(file size, bytes per event) of a synthetic trace of `n` events (the header excluded)."""
    from rvtrace.trace.reader import TraceReader
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.mp")
        write_synthetic(path, n, seed)
        with TraceReader(path) as t:
            size = os.path.getsize(path) - t._data_start
            return size, size / len(t)


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    size, per = bytes_per_event(count)
    print(f"{count} synthetic events: {size} bytes after the header, {per:.2f} bytes/event")
