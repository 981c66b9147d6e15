"""A scripted stand-in for rvtrace.cpu, to test the machine's loop without a CPU.

A FakeHart retires instructions in bulk and performs scripted actions when its
instret reaches given values: ("wfi",), ("write", paddr, size, value), ("fault",).
"""


class CodeCache:
    def __init__(self):
        self.invalidated = []

    def invalidate(self, paddr, length):
        self.invalidated.append((paddr, length))


SCRIPTS = {}        # hartid -> {instret: action}; set by a test before building the machine


class Hart:
    def __init__(self, hartid, bus, cache, time_fn):
        self.hartid, self.bus, self.time_fn = hartid, bus, time_fn
        self.pc = 0
        self.x = [0] * 32
        self.instret = 0
        self.waiting = False
        self.faulting = False
        self.mip = 0
        self.mie = 0
        self.script = dict(SCRIPTS.get(hartid, {}))
        self.turns = []                 # (time at start, budget, retired)
        self.reservation_cleared = 0

    def set_pending(self, mask, level):
        self.mip = (self.mip | mask) if level else (self.mip & ~mask)

    def read_csr(self, n):
        return {0x344: self.mip, 0x304: self.mie}.get(n, 0)

    def timer_deadline(self):
        return None

    def clear_reservation(self):
        self.reservation_cleared += 1

    def run(self, budget):
        start = self.time_fn()
        n = self._run(budget)
        self.turns.append((start, budget, n))
        return n

    def _run(self, budget):
        if self.waiting:
            if not self.mip & self.mie:
                return 0
            self.waiting = False
        if self.faulting:
            return 0
        n = 0
        while n < budget:
            action = self.script.pop(self.instret, None)
            if action is not None:
                if action[0] == "wfi":
                    if not self.mip & self.mie:
                        self.waiting = True
                        return n
                elif action[0] == "write":
                    self.bus.write(*action[1:])
                    if self.bus.stop_requested:
                        return n
                elif action[0] == "fault":
                    self.faulting = True
                    return n
            later = [k for k in self.script if k > self.instret]
            step = min([budget - n] + [k - self.instret for k in later])
            self.instret += step
            n += step
        return n
