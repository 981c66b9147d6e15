"""Every nondeterministic decision of a run, made in one place.

A run is a pure function of its inputs and of the decisions taken here:
which runnable hart runs next, for how many instructions (its quantum), how
long a disk request takes, and when console input arrives. `Scheduler` makes
them from `random.Random(seed)` (and the live input source); every decision
is reported to `on_decision(kind, value)` so a recorder can store it, and
`ReplayScheduler` hands back stored decisions instead. Both answer the same
questions, so the machine cannot tell them apart.
"""

from __future__ import annotations

import random

QUANTUM_MIN, QUANTUM_MAX = 500, 3000
DISK_LATENCY_MIN, DISK_LATENCY_MAX = 2_000, 20_000


class Scheduler:
    STATE = ("rng_state",)

    def __init__(self, seed: int = 0, input_source=None, on_decision=None):
        self.rng = random.Random(seed)
        self.input_source = input_source   # callable(timeout_s) -> bytes | None (None: closed)
        self.on_decision = on_decision

    @property
    def rng_state(self):
        return self.rng.getstate()

    @rng_state.setter
    def rng_state(self, value) -> None:
        self.rng.setstate(value)

    def _report(self, kind: str, value) -> None:
        if self.on_decision is not None:
            self.on_decision(kind, value)

    def pick_hart(self, runnable: list[int]) -> int:
        """Called only when more than one hart can run."""
        choice = runnable[self.rng.randrange(len(runnable))]
        self._report("hart", choice)
        return choice

    def quantum(self) -> int:
        """Called only when more than one hart exists."""
        q = self.rng.randint(QUANTUM_MIN, QUANTUM_MAX)
        self._report("quantum", q)
        return q

    def disk_latency(self) -> int:
        lat = self.rng.randint(DISK_LATENCY_MIN, DISK_LATENCY_MAX)
        self._report("disk", lat)
        return lat

    def console_input(self, icount: int, timeout: float = 0.0):
        """Bytes that arrived on the console at `icount`; b"" if none; None when input is closed.

        Reported as ("input", (icount, data)): where input lands is part of the decision.
        """
        if self.input_source is None:
            return None
        data = self.input_source(timeout)
        if data:
            self._report("input", (icount, data))
        return data


class ReplayMismatch(Exception):
    """The run asked for a decision the recording does not hold at this point."""


class ReplayScheduler:
    STATE = ("pos",)

    """Answers with recorded decisions, in recorded order: [(kind, value), ...]."""

    def __init__(self, decisions, on_decision=None):
        self.decisions = list(decisions)
        self.pos = 0
        self.on_decision = on_decision

    def _take(self, kind: str):
        if self.pos >= len(self.decisions) or self.decisions[self.pos][0] != kind:
            got = self.decisions[self.pos] if self.pos < len(self.decisions) else "the end"
            raise ReplayMismatch(f"replay expected a {kind!r} decision, the recording has {got}")
        value = self.decisions[self.pos][1]
        self.pos += 1
        if self.on_decision is not None:
            self.on_decision(kind, value)
        return value

    def pick_hart(self, runnable):
        return self._take("hart")

    def quantum(self):
        return self._take("quantum")

    def disk_latency(self):
        return self._take("disk")

    def console_input(self, icount: int, timeout: float = 0.0):
        if self.pos < len(self.decisions) and self.decisions[self.pos][0] == "input":
            at, data = self.decisions[self.pos][1]
            if at == icount:
                self._take("input")
                return data
        return b"" if self.pos < len(self.decisions) else None
