"""Every nondeterministic decision of a run, made in one place.

A run is a pure function of its inputs and of the decisions taken here:
which runnable hart runs next, for how many instructions (its quantum), how
long a disk request takes, how far virtual time jumps between two turns, and
when console input arrives. `Scheduler` makes them from
`random.Random(seed)` (and the live input source); every decision is
reported to `on_decision(kind, value)` so a recorder can store it, and
`ReplayScheduler` hands back stored decisions instead. Both answer the same
questions, so the machine cannot tell them apart.

How much the seed varies is the machine configuration's `perturb` level
(docs/architecture.md, "Schedule perturbation"):

  off    today's fixed model: quanta 500-3,000 (several harts only), disk
         latency 2,000-20,000, hart chosen uniformly, time never jumps.
  vary   what real hardware varies: quanta and disk latency spread over two
         orders of magnitude, one hart asked for quanta too, now and then
         virtual time jumps ahead between two turns (a stalled vCPU, a late
         timer), which moves timer interrupts relative to the program, and
         now and then one hart is starved for a while (it runs only when no
         other hart can; alone, time passes without it), as a host that
         deschedules a vCPU thread does; and, as in rr's chaos mode, the
         harts get random priorities, redrawn every 20,000-300,000
         instructions, which most picks (70%) follow.
  chaos  rr's chaos mode in full: every pick follows the priorities,
         starvation comes three times as often and lasts up to 400,000
         instructions, and turns are shorter with a time jump after almost
         a third of them, so timer interrupts land often and at odd points
         (the only source of variety on one hart).
"""

from __future__ import annotations

import math
import random

QUANTUM_MIN, QUANTUM_MAX = 500, 3000
DISK_LATENCY_MIN, DISK_LATENCY_MAX = 2_000, 20_000
PERTURB_LEVELS = ("off", "vary", "chaos")


class Spread:
    """One perturbation level's distributions (virtual-time units = instructions)."""

    def __init__(self, quantum, disk, jitter_p, jitter, starve_p, starve, strict, period):
        self.quantum, self.disk = quantum, disk           # (low, high), drawn log-uniformly
        self.jitter_p, self.jitter = jitter_p, jitter     # chance per turn of a time jump, its size
        self.starve_p, self.starve = starve_p, starve     # chance per turn to starve a hart, how long
        self.strict = strict                              # chance a pick follows the hart priorities
        self.period = period                              # how long one draw of priorities lasts


SPREADS = {
    "vary": Spread(quantum=(200, 20_000), disk=(300, 60_000), jitter_p=0.04, jitter=(2_000, 100_000),
                   starve_p=0.02, starve=(10_000, 150_000), strict=0.7, period=(20_000, 300_000)),
    "chaos": Spread(quantum=(100, 10_000), disk=(200, 100_000), jitter_p=0.3, jitter=(10_000, 200_000),
                    starve_p=0.06, starve=(20_000, 400_000), strict=1.0, period=(20_000, 400_000)),
}


def check_level(level: str) -> str:
    if level not in PERTURB_LEVELS:
        raise ValueError(f"perturbation level {level!r}: one of {', '.join(PERTURB_LEVELS)}")
    return level


class Scheduler:
    STATE = ("rng_state", "starved", "starve_until", "priority", "priority_until")

    def __init__(self, seed: int = 0, input_source=None, on_decision=None, perturb: str = "off"):
        self.rng = random.Random(seed)
        self.input_source = input_source   # callable(timeout_s) -> bytes | None (None: closed)
        self.on_decision = on_decision
        self.spread = SPREADS.get(check_level(perturb))     # None: the fixed model
        self.starved = None                # chaos: the hart kept waiting, until mtime starve_until
        self.starve_until = 0
        self.priority: dict[int, float] = {}   # perturbed: hart -> priority, redrawn now and then
        self.priority_until = 0
        self.made = 0                      # decisions made so far (a replay's position in them)

    @property
    def rng_state(self):
        return self.rng.getstate()

    @rng_state.setter
    def rng_state(self, value) -> None:
        self.rng.setstate(value)

    def _report(self, kind: str, value) -> None:
        self.made += 1
        if self.on_decision is not None:
            self.on_decision(kind, value)

    def _log_uniform(self, low: int, high: int) -> int:
        return int(math.exp(self.rng.uniform(math.log(low), math.log(high))))

    def _is_starved(self, hart: int, now: int) -> bool:
        return self.starved == hart and now < self.starve_until

    def pick_hart(self, runnable: list[int], now: int = 0) -> int:
        """Called only when more than one hart can run. A starved hart is passed over."""
        choices = [h for h in runnable if not self._is_starved(h, now)] or runnable
        spread = self.spread
        if spread is not None:
            if now >= self.priority_until:        # rr's chaos mode: fresh random priorities
                self.priority = {}
                self.priority_until = now + self._log_uniform(*spread.period)
            for h in choices:
                if h not in self.priority:
                    self.priority[h] = self.rng.random()
        if spread is not None and self.rng.random() < spread.strict:
            choice = max(choices, key=self.priority.__getitem__)
        else:
            choice = choices[self.rng.randrange(len(choices))]
        self._report("hart", choice)
        return choice

    def quantum(self) -> int:
        """Called on machines with more than one hart, and on every machine when perturbed."""
        if self.spread is None:
            q = self.rng.randint(QUANTUM_MIN, QUANTUM_MAX)
        else:
            q = self._log_uniform(*self.spread.quantum)
        self._report("quantum", q)
        return q

    def disk_latency(self) -> int:
        if self.spread is None:
            lat = self.rng.randint(DISK_LATENCY_MIN, DISK_LATENCY_MAX)
        else:
            lat = self._log_uniform(*self.spread.disk)
        self._report("disk", lat)
        return lat

    def timer_jitter(self, runnable: list[int], now: int, deadline: int | None, harts: int) -> int:
        """Perturbed machines only, before every turn: how far virtual time jumps first (0: not).

        A jump moves every timer interrupt and disk completion closer, in instructions, as a
        host that stalls a vCPU does to QEMU. In chaos mode this is also where a hart starts
        being starved, and where a starved hart that is the only one able to run loses time.
        """
        spread = self.spread
        jump = 0
        if spread.starve_p and self.rng.random() < spread.starve_p:
            self.starved = self.rng.randrange(harts)
            self.starve_until = now + self._log_uniform(*spread.starve)
        if runnable and all(self._is_starved(h, now) for h in runnable):
            jump = self.starve_until - now
            if deadline is not None:              # let a timer or the disk wake another hart
                jump = min(jump, max(deadline - now, 1))
        elif self.rng.random() < spread.jitter_p:
            jump = self._log_uniform(*spread.jitter)
        self._report("jitter", jump)
        return jump

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

    def pick_hart(self, runnable, now=0):
        return self._take("hart")

    def quantum(self):
        return self._take("quantum")

    def disk_latency(self):
        return self._take("disk")

    def timer_jitter(self, runnable, now, deadline, harts):
        return self._take("jitter")

    def console_input(self, icount: int, timeout: float = 0.0):
        if self.pos < len(self.decisions) and self.decisions[self.pos][0] == "input":
            at, data = self.decisions[self.pos][1]
            if at == icount:
                self._take("input")
                return data
        return b"" if self.pos < len(self.decisions) else None
