"""PageStore: page versions per checkpoint, restored exactly."""

from __future__ import annotations

import random

from rvtrace.replay.snapshot import PAGE, PageStore


def test_restore_brings_back_every_checkpoint_exactly():
    rng = random.Random(1)
    buf = bytearray(64 * PAGE + 100)        # a tail that is not a whole page
    store = PageStore(buf)
    copies = []
    for k in range(6):
        for _ in range(20):
            at = rng.randrange(len(buf) - 8)
            buf[at:at + 8] = rng.randbytes(8)
        store.take()
        copies.append(bytes(buf))
    for _ in range(30):                       # changes after the last checkpoint too
        at = rng.randrange(len(buf))
        buf[at] = (buf[at] + 1) & 0xFF
    rewritten = []
    for k in (2, 5, 0, 3, 3, 1):
        store.restore(k, rewritten.append)
        assert bytes(buf) == copies[k]
    assert rewritten                           # the hook hears about each page rewritten


def test_checkpoints_store_only_changed_pages():
    buf = bytearray(32 * PAGE)
    store = PageStore(buf)
    assert store.take() == 0                  # all zeros: nothing to keep
    buf[5 * PAGE + 7] = 1
    buf[9 * PAGE] = 2
    assert store.take() == 2
    assert store.take() == 0
    assert store.stored_bytes == 2 * PAGE
