"""Noticing a kernel that stops making progress, and saying what it was doing.

machine.py already stops a hart that faults in a loop. Two other ways a
kernel hangs without faulting are watched here, both judged from guest
state and instruction counts only (no host clock), so a replay stops exactly
where the recording did:

- an interrupt storm: one hart takes the same interrupt STORM_COUNT times in
  a row, on average at least once every STORM_SPACING instructions, while
  nothing reaches the outside world;
- a spin with interrupts off: a hart that is not in wfi, has interrupts
  disabled for its privilege mode, polls neither the UART nor a disk, and
  keeps coming back to the same few states (pc and registers, sampled at the
  end of its turns: at most LOOP_STATES of them, each seen REVISITS times on
  average) for SPIN_INSNS instructions while nothing reaches the outside
  world. No interrupt can get it out; only another hart could. So while any
  other hart works with interrupts off and changing state (it may hold the
  lock, or be xv6's hart 0 still booting while the others wait for it), the
  spin is not reported.
  (Samples taken in a more privileged mode -- xv6's M-mode timer handler
  under a spinning S-mode kernel -- are looked past.)

"The outside world" is a console byte sent or read, or a disk request taken.
Both findings stop the run with a UserError naming the hart, the pc and its
function (from the kernel's ELF symbols, when it has them) and, for a storm,
the interrupt that keeps firing. A kernel that is merely busy (xv6 clearing
128 MiB byte by byte with interrupts off: its registers keep changing) or
idle (spinning in its scheduler with interrupts on, waiting in wfi) is left
alone.
"""

from __future__ import annotations

from rvtrace.errors import UserError

STORM_COUNT = 5_000             # interrupts in a row from one source ...
STORM_SPACING = 2_000           # ... at least one per this many instructions on average
SPIN_INSNS = 50_000_000         # instructions a hart may loop with interrupts off
LOOP_STATES = 64                # distinct sampled states a "loop" may have ...
REVISITS = 4                    # ... and how often each comes back on average

CSR_MSTATUS = 0x300
MS_SIE, MS_MIE = 1 << 1, 1 << 3
INTERRUPT_NAMES = {1: "supervisor software", 3: "machine software", 5: "supervisor timer",
                   7: "machine timer", 9: "supervisor external", 11: "machine external"}
SOURCE_NAMES = {10: "uart", **{n: "virtio" for n in range(1, 9)}}


class Watchdog:
    """`Watchdog(machine, describe_pc)`; the machine calls `after_turn`, the harts' traps
    call `on_interrupt` (see `attach`)."""

    def __init__(self, machine, describe_pc=None, spin_insns: int = SPIN_INSNS,
                 storm_count: int = STORM_COUNT):
        self.m = machine
        self.describe_pc = describe_pc or (lambda pc: None)     # pc -> "function+0x1c" or None
        self.spin_insns = spin_insns
        self.storm_count = storm_count
        n = len(machine.harts)
        self.storms = [None] * n        # per hart: [code, count, start icount, outside at start, source]
        self.spins = [None] * n         # per hart: [priv, start icount, outside, polls, states, samples]

    def attach(self) -> None:
        for hart in self.m.harts:
            hart.on_trap = self._trap_watcher(hart.on_trap)
        self.m.watchdog = self

    def _outside(self) -> int:
        """A number that grows whenever something reaches or comes from the outside world."""
        m = self.m
        return m.uart.traffic + sum(d.requests_taken for d in m.disks)

    def _polls(self) -> int:
        """Register reads of the devices that talk to the outside world."""
        m = self.m
        return m.uart.reads + sum(d.reads for d in m.disks)

    # --- interrupt storms -------------------------------------------------------------

    def _trap_watcher(self, chained):
        def on_trap(hart, cause, tval, epc, from_priv, to_priv):
            if chained is not None:
                chained(hart, cause, tval, epc, from_priv, to_priv)
            if cause >> 63:
                self.on_interrupt(hart, cause & ~(1 << 63), epc)
        return on_trap

    def on_interrupt(self, hart, code: int, epc: int) -> None:
        h = hart.hartid
        source = None
        if code in (9, 11):             # the PLIC source this hart is about to claim
            source = self.m.plic.best(2 * h + (1 if code == 9 else 0)) or None
        now = self.m.icount_now()
        st = self.storms[h]
        if st is None or st[0] != code:
            self.storms[h] = [code, 1, now, self._outside(), source]
            return
        st[1] += 1
        st[4] = source or st[4]
        if st[1] < self.storm_count:
            return
        span = now - st[2]
        if span <= self.storm_count * STORM_SPACING and self._outside() == st[3]:
            raise UserError(self._storm_message(h, code, st[4], st[1], span, epc))
        self.storms[h] = [code, 1, now, self._outside(), source]

    def _storm_message(self, h, code, source, count, span, epc) -> str:
        what = f"{INTERRUPT_NAMES.get(code, f'interrupt {code}')} interrupt"
        if source is not None:
            name = SOURCE_NAMES.get(source)
            what += f" (PLIC source {source}{', ' + name if name else ''})"
        return (f"no progress: interrupt storm on hart {h}: the {what} came {count:,} times in "
                f"{span:,} instructions with no console or disk activity; the last one "
                f"interrupted pc {self._where(epc)}")

    # --- spins with interrupts off -------------------------------------------------------

    def after_turn(self, hart_id: int) -> None:
        hart = self.m.harts[hart_id]
        priv = hart.priv
        sp = self.spins[hart_id]
        if sp is not None and priv > sp[0]:
            return                      # a handler above the spinning mode: look past it
        if hart.waiting or not self._interrupts_off(hart, priv):
            self.spins[hart_id] = None
            return
        sample = (hart.pc, tuple(hart.x))
        now = self.m.icount_now()
        outside, polls = self._outside(), self._polls()
        if (sp is None or priv != sp[0] or outside != sp[2] or polls != sp[3]
                or (sample not in sp[4] and len(sp[4]) >= LOOP_STATES)):
            self.spins[hart_id] = [priv, now, outside, polls, {sample}, 1]
            return
        sp[4].add(sample)
        sp[5] += 1
        if now - sp[1] >= self.spin_insns and self._looping(sp) and not self._others_working(hart_id):
            states = len(sp[4])
            raise UserError(
                f"no progress: hart {hart_id} has spun with interrupts off for {now - sp[1]:,} "
                f"instructions at pc {self._where(hart.pc)}, coming back to the same {states} "
                f"state{'s' if states != 1 else ''} (pc and registers) with no console or disk "
                f"activity; no interrupt can end that")

    @staticmethod
    def _looping(sp) -> bool:
        return sp[5] >= REVISITS * len(sp[4])

    def _others_working(self, hart_id: int) -> bool:
        """Another hart runs with interrupts off and is not looping itself."""
        for i, other in enumerate(self.m.harts):
            if i == hart_id or other.waiting or not self._interrupts_off(other, other.priv):
                continue
            sp = self.spins[i]
            if sp is None or not self._looping(sp):
                return True
        return False

    @staticmethod
    def _interrupts_off(hart, priv: int) -> bool:
        mstatus = hart.read_csr(CSR_MSTATUS)
        if priv == 3:
            return not mstatus & MS_MIE
        if priv == 1:
            return not mstatus & MS_SIE
        return False                    # user mode always takes interrupts for higher modes

    def _where(self, pc: int) -> str:
        name = self.describe_pc(pc)
        return f"{pc:#x} ({name})" if name else f"{pc:#x} (no symbol)"
