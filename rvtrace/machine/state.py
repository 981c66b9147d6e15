"""Capturing and restoring the board's own state (for replay checkpoints).

Each device names the attributes that make up its state in `STATE`; these
two functions copy exactly those, deeply, so a checkpoint shares nothing with
the live device. Wiring (bus, PLIC, harts, callbacks) is never part of it.
Harts and RAM are captured elsewhere (rvtrace/machine/snapshot.py, the cpu).
"""

from __future__ import annotations

import copy


def capture(obj) -> dict:
    return {name: copy.deepcopy(getattr(obj, name)) for name in obj.STATE}


def restore(obj, state: dict) -> None:
    for name in obj.STATE:
        setattr(obj, name, copy.deepcopy(state[name]))
