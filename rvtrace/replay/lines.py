"""Source-line moves of one hart: gdb's step, next, until and reverse-step, reverse-next.

A line move follows the current hart in its privilege mode and address space
(what happens on other harts, in trap handlers or in other processes in
between is stepped over). Forwards:

- `step`: run until the hart is on a different source line; a call into a
  function with line information is entered, one without it (assembly such
  as `swtch`) is stepped over; a system call (ecall) and every trap are
  stepped over.
- `next`: the same, stepping over every call.

"Stepped over" means: run until the hart is back at the instruction after
the call (or the trapped instruction) with the same stack pointer, found by
the engine's pc search, so a call that runs a million instructions costs one
search, not a million steps.

Backwards (`reverse-step`, `reverse-next`): go back over the same units to the
previous different line, then on to where that line's run of instructions
began -- gdb's "the beginning of the previous source line". The recent past
is read one instruction at a time in short windows (`Engine.hart_states`);
calls and traps are jumped over with a backward pc search.
"""

from __future__ import annotations

from rvtrace.kernel.memory import virtual_reader
from rvtrace.replay import probes
from rvtrace.replay.errors import EndOfTrace, ReplayError
from rvtrace.trace.events import Kind

MAX_UNITS = 200_000                # a line move gives up after this many steps (and says so)
WINDOW = 256                       # instructions read per window going backwards
RET = {0x00008067}                 # jalr x0, 0(ra)
C_RET = 0x8082                     # c.jr ra
TRAP_RETURNS = {0x10200073, 0x30200073}   # sret, mret
ECALL = 0x00000073


class LineMover:
    def __init__(self, session, over_calls: bool):
        s = self.s = session
        self.over = over_calls
        m = s.machine
        h = m.harts[s.hart]
        self.hart, self.priv, self.satp = s.hart, h.priv, h.satp
        self.img = self._image()
        self._lines: dict[int, tuple | None] = {}
        self._words: dict[int, int] = {}

    def _image(self):
        s = self.s
        if self.priv != 0:
            return s.image
        pid = s.current_pid()
        prog = s.programs.image_of(pid, s.icount) if pid else None
        return prog[1] if prog else None

    def line(self, pc: int):
        if pc not in self._lines:
            self._lines[pc] = self.img.source_line(pc) if self.img is not None else None
        return self._lines[pc]

    def _state(self):
        h = self.s.machine.harts[self.hart]
        return h.pc, h.priv, h.satp, h.x[2]

    def _word(self, pc: int) -> int:
        """The 32 bits at `pc` in the hart's address space (code does not change under us; read
        from the machine wherever the engine left it, without moving it)."""
        if pc not in self._words:
            m = self.s.engine.m
            ram, base, size = m.bus.ram, m.bus.ram_base, m.bus.ram_size

            def read(paddr, n):
                off = paddr - base
                return bytes(ram[off:off + n]) if 0 <= off and off + n <= size else None
            if self.satp >> 60 == 0 or self.priv == 3:
                code = read(pc, 4) or read(pc, 2)
            else:
                code = virtual_reader(read, self.satp)(pc, 4) or virtual_reader(read, self.satp)(pc, 2)
            self._words[pc] = int.from_bytes((code or b"")[:4].ljust(4, b"\0"), "little")
        return self._words[pc]

    def _mine(self, priv, satp) -> bool:
        return priv == self.priv and satp == self.satp

    def _run_back_to(self, pcs, sp, what: str) -> None:
        """Forwards to the moment the hart is at one of `pcs` again in its mode and address
        space with stack pointer `sp` (the end of a call or trap)."""
        satp = self.satp
        probe = probes.AtPc(self.hart, set(pcs), self.priv, lambda h: h.x[2] == sp and h.satp == satp)
        self.s._search(probe, forward=True, what=what)

    # --- forwards ------------------------------------------------------------------------

    def forward_unit(self) -> None:
        """One instruction of the hart, or over one call / system call / trap."""
        pc, priv, satp, sp = self._state()
        word = self._word(pc)
        size, is_call = probes.call_at(self._bytes(pc))
        if is_call and (self.over or word == ECALL):
            self._run_back_to({pc + size}, sp, "the return of this call")
            return
        stvec = self.s.machine.harts[self.hart].stvec & ~3
        self.s.stepi()
        npc, npriv, nsatp, _ = self._state()
        if not self._mine(npriv, nsatp) or (npc == stvec and not is_call):
            # A trap: back where it came from (the trapped instruction, or the next one).
            self._run_back_to({pc, pc + size}, sp, "the return from this trap")
        elif is_call and self.line(npc) is None:
            self._run_back_to({pc + size}, sp, "the return of this call")

    def step(self) -> None:
        start = self.line(self._state()[0])
        for _ in range(MAX_UNITS):
            self.forward_unit()
            pc, priv, satp, _ = self._state()
            here = self.line(pc)
            if self._mine(priv, satp) and here is not None and here != start:
                return
        raise ReplayError(f"no new source line after {MAX_UNITS} steps: stopped at icount {self.s.icount}")

    def until(self) -> None:
        """`next`, but a jump back to an earlier line of the same function (a loop) goes on."""
        pc0 = self._state()[0]
        start = self.line(pc0)
        func = self.img.function_at(pc0) if self.img is not None else None
        for _ in range(MAX_UNITS):
            self.forward_unit()
            pc, priv, satp, _ = self._state()
            here = self.line(pc)
            if not self._mine(priv, satp) or here is None or here == start:
                continue
            now_func = self.img.function_at(pc) if self.img is not None else None
            if start is None or now_func is None or func is None or now_func[0] != func[0] \
                    or here[0] != start[0] or here[1] > start[1]:
                return
        raise ReplayError(f"no later source line after {MAX_UNITS} steps: stopped at icount {self.s.icount}")

    # --- backwards -----------------------------------------------------------------------

    def _window(self, upto: int) -> list[tuple]:
        e = self.s.engine
        try:
            start = e.hart_instructions_back(self.hart, upto, WINDOW)
        except EndOfTrace:
            start = 0
        return e.hart_states(self.hart, start, upto)

    def reverse_step(self) -> None:
        """Back to where the previous different line's run began."""
        s = self.s
        states = self._window(s.icount)
        i = len(states) - 1
        start_line = self.line(states[i][1])
        target, best = None, None
        for _ in range(MAX_UNITS):
            if i == 0:
                if states[0][0] == 0:
                    break
                more = self._window(states[0][0])
                i = len(more) - 1
                states = more + states[1:]
                continue
            back = self._back_unit(states, i)
            if isinstance(back, list):            # jumped over a call or trap: a new window
                states, i = back, len(back) - 1
            else:
                i = back
            icount, pc, priv, satp, _ = states[i]
            here = self.line(pc) if self._mine(priv, satp) else None
            if target is None:
                if here is not None and here != start_line:
                    target, best = here, icount
            elif here == target:
                best = icount
            elif here is not None:
                break
        if best is None:
            raise EndOfTrace("no earlier source line in this recording")
        s.goto_icount(best)
        s._moved_to(best, self.hart)

    def _back_unit(self, states, i):
        """The index of the previous unit before states[i] (i > 0), or a new window (a list)
        ending where the call or trap it went back over began."""
        icount, pc, priv, satp, sp = states[i]
        _, ppc, ppriv, psatp, _ = states[i - 1]
        if not self._mine(priv, satp):
            return i - 1
        if not self._mine(ppriv, psatp) or self._word(ppc) in TRAP_RETURNS:
            return self._trap_entry(states, i)
        word = self._word(ppc)
        if (word in RET or word & 0xFFFF == C_RET) and (self.over or self.line(ppc) is None):
            calls = {pc - n for n in (4, 2) if probes.call_at(self._bytes(pc - n)) == (n, True)}
            if calls:
                return self._jump_back(calls, sp, icount, "call")
        return i - 1

    def _trap_entry(self, states, i):
        """states[i] is the hart just back from a trap: where the trap was taken."""
        icount, pc, priv, satp, sp = states[i]
        for j in range(i - 1, -1, -1):           # in this window: the last state of ours before it
            _, jpc, jpriv, jsatp, jsp = states[j]
            if self._mine(jpriv, jsatp) and jsp == sp and jpc in (pc, pc - 4) and \
                    self._word(jpc) not in TRAP_RETURNS:
                return j
        if self._word(pc - 4) == ECALL:           # a system call: back onto its ecall
            return self._jump_back({pc - 4}, sp, icount, "system call")
        entry = self._interrupt_entry(icount, pc, sp)
        if entry is None:
            raise ReplayError(f"cannot find where the trap returning to {pc:#x} was taken; "
                              "reverse-stepi goes back one instruction at a time")
        return self._window(entry)

    def _interrupt_entry(self, before: int, pc: int, sp: int) -> int | None:
        """The interrupt taken at `pc` (the recording has an event for it): its icount."""
        s, hart = self.s, self.hart

        def mine(ev):
            return ev.hart == hart
        mine.kinds = frozenset({Kind.INTERRUPT})
        ev = s.cursor.find_prev(s.cursor.at_icount(before - 1), mine)
        if ev is None:
            return None
        h = s.engine.goto(ev.icount).harts[hart]
        if h.pc == pc and h.x[2] == sp and self._mine(h.priv, h.satp):
            return ev.icount
        return None

    def _bytes(self, pc: int) -> bytes:
        return self._word(pc).to_bytes(4, "little")

    def _jump_back(self, pcs, sp, before: int, what: str):
        satp = self.satp
        probe = probes.AtPc(self.hart, set(pcs), self.priv, lambda h: h.x[2] == sp and h.satp == satp)
        hit = self.s.engine.search_backward(before, probe)
        if hit is None:
            raise EndOfTrace(f"this {what} began before the recording")
        return self._window(hit)
