"""Which process a console byte belongs to.

The UART sends bytes later than, and in another context than, the write()
that produced them: xv6's uartputc() queues a byte in a ring and the
"transmit empty" interrupt sends it, possibly while another process runs.
So a byte is attributed by matching, not by who is running:

- with kernel symbols, the recorder watches `uartputc` and queues
  (pid, byte) for every byte a process hands to the console driver;
- without them, it queues the bytes of every write() to fd 1 or 2.

Each byte the UART sends is matched against the queue, oldest first; a
byte nobody queued (kernel printf, the echo of typed input, both sent
synchronously) belongs to pid 0, the kernel.
"""

from __future__ import annotations

from collections import deque

LOOKAHEAD = 16          # queued bytes examined per sent byte (processes blocked on a full ring may reorder)
MAX_QUEUED = 8192       # writes that never reach the UART (fd 1 redirected to a file) must not pile up


class ConsoleAttribution:
    def __init__(self, drop_skipped: bool):
        # With write()-level candidates, a byte skipped over was never sent to the
        # console (a write to a file): drop it. With uartputc-level ones every queued
        # byte will be sent, only possibly out of order: keep it.
        self.drop_skipped = drop_skipped
        self.queue: deque = deque()

    def queued(self, pid: int, data) -> None:
        """A process handed these bytes to the console."""
        q = self.queue
        for b in data:
            q.append((pid, b))
        while len(q) > MAX_QUEUED:
            q.popleft()

    def sent(self, byte: int) -> int:
        """The UART sent `byte`: the pid it belongs to (0 = kernel)."""
        q = self.queue
        for i in range(min(LOOKAHEAD, len(q))):
            pid, b = q[i]
            if b == byte:
                if i == 0:
                    q.popleft()
                elif self.drop_skipped:
                    for _ in range(i + 1):
                        q.popleft()
                else:
                    del q[i]
                return pid
        return 0
