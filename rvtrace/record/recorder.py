"""Recorder: observers on a Machine that turn architectural moments into events.

What is observed (docs/architecture.md lists the hooks), and what it means:

  trap from U, cause 8          syscall-enter (a7 = number, a0..a5 decoded through the user page table)
  sret to U                     syscall-exit of that process's pending call (a0; exec: the new entry),
                                plus fork / exec / reaped; page faults of that process are resolved
  trap, cause 12/13/15          page-fault (resolution: the page's PTE now versus at the fault)
  trap, interrupt               interrupt (external ones: the IRQ the PLIC claim read returns)
  pc == swtch                   switch: process -> scheduler (why: the process's state, with its
                                kernel backtrace) completed by the scheduler's next switch; exit
  pc == uartputc / uartwrite    console bytes queued by a process (see console.py)
  pc == trace_cow / trace_fork  the kernel's trace points (kernel_src/tracepoints.c): every copy-on-write
                                resolution, trap or kernel copy (cow); fork's shared/copied page counts
  satp written (no symbols)     switch between address spaces, which stand in for pids
  UART output                   console-out, attributed
  disk notify / used ring       disk-request / disk-complete
  scheduler decisions           schedule (and console-in for input)

Syscalls pending are kept per pid, not per hart: a process can sleep inside
a call and come back on another hart. Everything a trap handler or
observer does here is cheap and rare next to instruction execution; the
only per-block cost is the cpu's watched-pc check (two pcs).
"""

from __future__ import annotations

from rvtrace.cpu.arch import (CAUSE_ECALL_U, EXTERNAL_INTERRUPTS, INTERRUPT, MIE, MIP, PAGE_FAULT_CAUSES,
                              PRIV_U, REG_A0, REG_A1, REG_A7, REG_FP, REG_RA, SATP_PPN_MASK,
                              TIMER_INTERRUPTS, ram_reader, sv39_leaf)
from rvtrace.kernel.memory import fault_resolution, virtual_reader
from rvtrace.kernel.syscalls import SyscallTable, decode_args, decode_out, read_argv
from rvtrace.record.console import ConsoleAttribution
from rvtrace.record.identity import AddressSpaceIdentity, KernelIdentity
from rvtrace.record.output import EventOutput, Placeholder
from rvtrace.trace.events import COW_VIAS, DECISIONS, RESOLUTIONS, SWITCH_REASONS, Kind, code_of

PLIC_CLAIM_START, PLIC_END = 0x0C20_0000, 0x1000_0000   # the contexts' claim/complete registers
TESTDEV = 0x10_0000
# Kernel functions whose call to cow_fault means "a trap asked" (else a kernel copy did).
TRAP_HANDLERS = ("usertrap", "kerneltrap")

SYS_FORK, SYS_EXIT, SYS_WAIT, SYS_READ, SYS_EXEC, SYS_WRITE = 1, 2, 3, 5, 7, 16
MAX_CONSOLE_WRITE = 65536          # bytes of one write() kept for console matching (no symbols)

R_UNKNOWN, R_TIMER, R_SLEEP, R_EXIT, R_YIELD, R_WAIT, R_RUN, R_SPACE = (
    code_of(SWITCH_REASONS, n) for n in SWITCH_REASONS)
KILLED, FATAL, UNKNOWN = (code_of(RESOLUTIONS, n) for n in ("killed", "fatal", "unknown"))
COW_COPY, COW_REUSE = code_of(RESOLUTIONS, "cow-copy"), code_of(RESOLUTIONS, "cow-reuse")
P_UNKNOWN, P_TRAP, P_COPYOUT = (code_of(COW_VIAS, n) for n in COW_VIAS)
D_HART_RUN, D_DISK, D_INPUT = (code_of(DECISIONS, n) for n in ("hart-run", "disk-latency", "input"))
D_PICK, D_JITTER = code_of(DECISIONS, "pick-hart"), code_of(DECISIONS, "timer-jitter")


class Interrupted(Exception):
    """Raised from an observer at a clean point after Ctrl-C: the run stops there."""


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


def _signed32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >> 31 else v


class Recorder:
    """Attach with `Recorder(machine, sink, image)`; then run the machine; then `finish()`."""

    def __init__(self, machine, sink, image=None, view=None, console_echo=None, progress=None):
        self.m = machine
        self.out = EventOutput(sink)
        self.console_echo = console_echo        # callable(byte): the live console, or None
        self.progress = progress                # callable(recorder), called now and then, or None
        self.stop_requested = False
        n = len(machine.harts)
        self.current = [0] * n                  # pid running on each hart (0: none)
        self.last_cause = [0] * n               # each hart's latest trap cause (bit 63: interrupt)
        self.leaving: list[Placeholder | None] = [None] * n     # switch waiting for its "to" pid
        self.irq_wait: list[Placeholder | None] = [None] * n    # interrupt waiting for its claim
        self.kernel_faults: list[list] = [[] for _ in range(n)]
        self.pending: dict[int, tuple] = {}     # pid -> (num, regs, args) of the call it is inside
        self.user_faults: dict[int, list] = {}  # pid -> [(placeholder, va, pte before)]
        self.exit_status: dict[int, int] = {}
        self.forked: set[int] = set()           # children whose fork event is written
        self.in_user: set[int] = set()          # pids seen returning to user mode
        self.forks_unclaimed: list[int] = []    # no symbols: parents whose child has not shown up
        self.names: dict[int, str] = {}         # pid -> latest name, for the summary
        self.disk_reqs: dict[int, tuple] = {}
        self.fork_pages: dict[int, tuple] = {}  # child pid -> (shared, copied) told by trace_fork
        self.poweroff_code = None
        self.picked = None                      # hart chosen by the last pick decision
        self.listeners = []                     # callables(kind, pid, value) for lifecycle news
        self._traps = 0
        self.read_phys = ram_reader(machine.bus.ram, machine.bus.ram_base)
        self.calls = SyscallTable.of_kernel(image)     # the kernel's own names for its calls

        self.kernel = None
        if image is not None and view is not None and view.available:
            ident = KernelIdentity(image, view)
            if ident.usable:
                self.kernel = ident
        self.spaces = None if self.kernel else AddressSpaceIdentity()
        # Console bytes are queued where processes hand them to the driver when the kernel
        # shows us that place; else from write() calls on fds 1 and 2 (see console.py).
        hooked = bool(self.kernel and (self.kernel.uartputc or self.kernel.uartwrite))
        self.console_from_writes = not hooked
        self.console = ConsoleAttribution(drop_skipped=not hooked)
        self._attach()

    # --- wiring ------------------------------------------------------------------

    def _attach(self) -> None:
        m = self.m
        watch = set()
        if self.kernel:
            watch.add(self.kernel.swtch)
            for hook in (self.kernel.uartputc, self.kernel.uartwrite, self.kernel.trace_cow,
                         self.kernel.trace_fork):
                if hook:
                    watch.add(hook)
        for hart in m.harts:
            hart.on_trap = self.on_trap
            hart.on_xret = self.on_xret
            if watch:
                hart.watch_pcs = watch
                hart.on_watch = self.on_watch
            if self.spaces is not None:
                hart.on_satp = self.on_satp
        m.bus.on_mmio = self.on_mmio
        m.disk.on_request = self.on_disk_request
        m.disk.on_complete = self.on_disk_complete
        m.on_console_output = self.on_console_output
        m.scheduler.on_decision = self.on_decision

    @property
    def trace_points(self) -> list[str]:
        """The kernel trace points this recording watches (kernel_src/tracepoints.c)."""
        k = self.kernel
        return [name for name in ("trace_cow", "trace_fork") if k is not None and getattr(k, name)]

    @property
    def pid_source(self) -> str:
        return "kernel" if self.kernel else "satp"

    def now(self) -> int:
        """The global icount at this moment, also in the middle of a hart's turn."""
        return self.m.icount_now()

    # --- traps -------------------------------------------------------------------

    def on_trap(self, hart, cause, tval, epc, from_priv, to_priv) -> None:
        if self.stop_requested:
            raise Interrupted()
        self._traps += 1
        if self.progress is not None and not self._traps & 63:
            self.progress(self)
        h = hart.hartid
        self.last_cause[h] = cause
        if cause & INTERRUPT:
            self._interrupt(hart, h, cause ^ INTERRUPT, from_priv)
        elif cause == CAUSE_ECALL_U and from_priv == PRIV_U:
            self._syscall_enter(hart, h)
        elif cause in PAGE_FAULT_CAUSES:
            self._page_fault(hart, h, cause, tval, epc, from_priv)

    def _interrupt(self, hart, h: int, code: int, from_priv: int) -> None:
        if self.leaving[h] is not None:         # the hart went idle in its scheduler
            self._leave_to(h, 0)
        mode = from_priv if from_priv in (0, 1) else 3
        if code in EXTERNAL_INTERRUPTS:
            if self.irq_wait[h] is not None:
                self.out.fill(self.irq_wait[h], "irq", 0)
            self.irq_wait[h] = self.out.placeholder(Kind.INTERRUPT, self.now(), h, self.current[h],
                                                    cause=code, irq=0, mode=mode)
        else:
            self.out.emit(Kind.INTERRUPT, self.now(), h, self.current[h], cause=code, irq=0, mode=mode)

    def _syscall_enter(self, hart, h: int) -> None:
        x = hart.x
        num = x[REG_A7]
        regs = x[REG_A0:REG_A0 + 6]
        pid = self.current[h]
        read = virtual_reader(self.read_phys, hart.satp)
        args = decode_args(num, regs, read, self.calls)
        self.out.emit(Kind.SYSCALL_ENTER, self.now(), h, pid, num=num, args=args)
        self.pending[pid] = (num, regs, args, hart.satp)
        num = self._meaning(num)
        if self.console_from_writes and num == SYS_WRITE and args[0] in (1, 2) and args[2] > 0:
            data = read(regs[1], min(args[2], MAX_CONSOLE_WRITE))
            if data:
                self.console.queued(pid, data)
        if self.spaces is not None and num == SYS_EXIT:     # no process table to see it in
            self._exited(h, pid, args[0])
            self.spaces.forget(pid)
        if self.spaces is not None and num == SYS_FORK:
            # Without the process table a fork's child is the next new page table to show
            # up (on_satp) -- possibly before fork returns, as the child may run first.
            self.forks_unclaimed.append(pid)

    def _page_fault(self, hart, h: int, cause: int, va: int, epc: int, from_priv: int) -> None:
        pid = self.current[h]
        user = from_priv == PRIV_U
        before = self._leaf(hart.satp, va)
        p = self.out.placeholder(Kind.PAGE_FAULT, self.now(), h, pid, cause=cause, va=va, pc=epc,
                                 mode=0 if user else 1, resolution=FATAL if not user else UNKNOWN)
        if user:
            self.user_faults.setdefault(pid, []).append((p, va, before))
        else:
            self.kernel_faults[h].append((p, va, before, hart.satp))

    def _leaf(self, satp: int, va: int):
        leaf = sv39_leaf(self.read_phys, satp, va)      # odd memory reads as unmapped: "unknown"
        return leaf[0] if leaf else None

    # --- returns -----------------------------------------------------------------

    def on_xret(self, hart, kind, from_priv, to_priv, new_pc) -> None:
        h = hart.hartid
        if self.irq_wait[h] is not None:        # handled without a claim: no IRQ to tell
            self.out.fill(self.irq_wait[h], "irq", 0)
            self.irq_wait[h] = None
        faults = self.kernel_faults[h]
        if faults and to_priv != 0:
            for p, va, before, satp in faults:  # the kernel fixed its own fault and goes on
                res = fault_resolution(before, self._leaf(satp, va))
                self.out.fill(p, "resolution", code_of(RESOLUTIONS, res))
            faults.clear()
        if to_priv != PRIV_U:
            return
        pid = self.current[h]
        if faults:
            for p, *_ in faults:
                self.out.fill(p, "resolution", UNKNOWN)
            faults.clear()
        mine = self.user_faults.pop(pid, None)
        if mine:
            for p, va, before in mine:
                res = fault_resolution(before, self._leaf(hart.satp, va))
                self.out.fill(p, "resolution", code_of(RESOLUTIONS, res))
        call = self.pending.pop(pid, None)
        if call is not None:
            self._syscall_exit(hart, h, pid, call, new_pc)
        elif pid not in self.in_user:
            self.in_user.add(pid)
            if pid not in self.forked and self.kernel is not None:
                self._first_image(hart, h, pid, new_pc)

    def _syscall_exit(self, hart, h: int, pid: int, call: tuple, new_pc: int) -> None:
        num, regs, args, _ = call
        ret = _signed64(hart.x[REG_A0])  # a0 as user mode sees it (a successful exec: argc)
        now = self.now()
        out = self.out
        called, num = num, self._meaning(num)
        if num == SYS_EXEC and ret != -1:
            path, argv = args[0], args[1]
            out.emit(Kind.EXEC, now, h, pid, path=path, argv=argv if argv is not None else [], entry=new_pc)
            name = (argv[0] if argv and isinstance(argv[0], str) else path) or "?"
            self.names[pid] = name.rsplit("/", 1)[-1]
            self._tell("exec", pid, path)
        elif self.spaces is not None:
            # Without the process table, pids are address-space numbers (the child was named
            # in on_satp); wait's pid means nothing here. A failed fork has no child to claim.
            if num == SYS_FORK and ret < 0 and pid in self.forks_unclaimed:
                self.forks_unclaimed.remove(pid)
        elif num == SYS_FORK and ret > 0:
            self._fork(h, pid, ret, now)
        elif num == SYS_WAIT and ret > 0:
            out.emit(Kind.REAPED, now, h, pid, child=ret, status=self.exit_status.pop(ret, None))
        data = None
        if num == SYS_READ:
            data = decode_out(num, regs, ret, virtual_reader(self.read_phys, hart.satp), self.calls)
        out.emit(Kind.SYSCALL_EXIT, now, h, pid, num=called, ret=ret, out=data)
        self._tell("syscall-exit", pid, (called, ret))

    def _meaning(self, num: int) -> int:
        """The number if the kernel's table gives it xv6's meaning (the SYS_* handling
        below applies), else 0."""
        return num if self.calls.signature(num) is not None else 0

    def _first_image(self, hart, h: int, pid: int, new_pc: int) -> None:
        """A process reaching user mode for the first time without fork or an exec call: the
        kernel exec'd it itself (xv6's first process, /init). Its argv is in a1 (a0 = argc)."""
        argv = read_argv(virtual_reader(self.read_phys, hart.satp), hart.x[REG_A1])
        name = self.names.get(pid) or (argv[0] if argv else "?")
        self.out.emit(Kind.EXEC, self.now(), h, pid, path=name, argv=argv or [name], entry=new_pc)

    def _fork(self, h: int, parent: int, child: int, now: int) -> None:
        if child in self.forked:
            return
        self.forked.add(child)
        if parent in self.names:
            self.names.setdefault(child, self.names[parent])
        shared, copied = self.fork_pages.pop(child, (None, None))
        self.out.emit(Kind.FORK, now, h, parent, child=child, shared=shared, copied=copied)
        self._tell("fork", parent, child)

    def _exited(self, h: int, pid: int, status) -> None:
        self.out.emit(Kind.EXIT, self.now(), h, pid, status=status)
        self.exit_status[pid] = status
        self.pending.pop(pid, None)             # exit never returns
        for p, *_ in self.user_faults.pop(pid, ()):
            self.out.fill(p, "resolution", KILLED)
        self._tell("exit", pid, status)

    def _tell(self, what: str, pid: int, value) -> None:
        for fn in self.listeners:
            fn(what, pid, value)

    # --- context switches --------------------------------------------------------

    def on_watch(self, hart, pc) -> None:
        k = self.kernel
        if pc == k.swtch:
            self._swtch(hart, hart.hartid)
        elif pc == k.uartputc:
            self.console.queued(self.current[hart.hartid], (hart.x[REG_A0] & 0xFF,))
        elif pc == k.uartwrite:
            n = min(hart.x[REG_A1] & 0xFFFFFFFF, MAX_CONSOLE_WRITE)
            data = virtual_reader(self.read_phys, hart.satp)(hart.x[REG_A0], n) if n else None
            if data:
                self.console.queued(self.current[hart.hartid], data)
        elif pc == k.trace_cow:
            self._cow(hart, hart.hartid)
        elif pc == k.trace_fork:
            x = hart.x
            self.fork_pages[_signed32(x[REG_A0])] = (x[REG_A1], x[REG_A1 + 1])

    def _cow(self, hart, h: int) -> None:
        """trace_cow(va, copied): which path asked is the first caller above cow_fault."""
        x = hart.x
        callers = [f for f in self._backtrace(hart) if f not in ("trace_cow", "cow_fault")]
        caller = callers[0] if callers else None
        via = P_TRAP if caller in TRAP_HANDLERS else P_COPYOUT if caller == "copyout" else P_UNKNOWN
        self.out.emit(Kind.COW, self.now(), h, self.current[h], va=x[REG_A0], via=via,
                      resolution=COW_COPY if x[REG_A1] & 0xFFFFFFFF else COW_REUSE)

    def _swtch(self, hart, h: int) -> None:
        k = self.kernel
        x = hart.x
        old = k.proc_of_context(x[REG_A0])
        if old is not None:                     # a process gives the hart back to its scheduler
            self._leave(hart, h, old)
            return
        new = k.proc_of_context(x[REG_A1])
        if new is None:
            return
        pid = new.pid
        self.names[pid] = new.name
        if pid not in self.forked and new.parent and new.parent in self.pending \
                and self.pending[new.parent][0] == SYS_FORK:
            self._fork(h, new.parent, pid, self.now())   # the child runs before fork returned
        self.current[h] = pid
        if self.leaving[h] is not None:
            self._leave_to(h, pid)
        else:
            self.out.emit(Kind.SWITCH, self.now(), h, 0, from_pid=0, to_pid=pid, reason=R_RUN,
                          backtrace=[])                           # an idle hart picks it

    def _leave(self, hart, h: int, info) -> None:
        pid = info.pid
        self.names[pid] = info.name
        backtrace = self._backtrace(hart)
        state = info.state
        if state == "ZOMBIE":
            reason = R_EXIT
            self._exited(h, pid, info.xstate)
        elif state == "SLEEPING":
            reason = R_WAIT if "wait" in backtrace else R_SLEEP
        elif state == "RUNNABLE":
            last = self.last_cause[h]
            reason = R_TIMER if last & INTERRUPT and last ^ INTERRUPT in TIMER_INTERRUPTS else R_YIELD
        else:
            reason = R_UNKNOWN
        if self.leaving[h] is not None:
            self._leave_to(h, 0)
        self.leaving[h] = self.out.placeholder(Kind.SWITCH, self.now(), h, pid, from_pid=pid, to_pid=0,
                                               reason=reason, backtrace=backtrace)
        self.current[h] = 0

    def _leave_to(self, h: int, to_pid: int) -> None:
        p = self.leaving[h]
        self.leaving[h] = None
        self.out.fill(p, "to_pid", to_pid)

    def _backtrace(self, hart) -> list[str]:
        """Kernel functions of the process leaving, innermost first (sched and swtch left out)."""
        try:
            read = virtual_reader(self.read_phys, hart.satp)
            frames = self.kernel.image.backtrace(hart.x[REG_RA], hart.x[REG_FP], read, max_frames=16,
                                                 pc_is_return=True)
        except Exception:       # a corrupt stack: no backtrace rather than no recording
            return []
        names = [f.function or f"{f.pc:#x}" for f in frames]
        while names and names[0] in ("sched", "swtch"):
            names.pop(0)
        return names

    def on_satp(self, hart, old, new) -> None:
        """Without kernel symbols: a hart entering another user address space is a switch."""
        h = hart.hartid
        if not self.spaces.known(new):
            # A page table never seen: a process that was inside exec (this hart's last one,
            # else the only one) comes back with its new image -- the same process.
            execs = [pid for pid, call in self.pending.items() if call[0] == SYS_EXEC
                     and (new ^ call[3]) & SATP_PPN_MASK]
            heir = self.current[h] if self.current[h] in execs else (execs[0] if len(execs) == 1 else None)
            if heir is not None:
                self.spaces.forget(heir)
                self.spaces.number(new, inherit=heir)
        fresh = not self.spaces.known(new)
        n = self.spaces.number(new)
        if fresh and n is not None and self.forks_unclaimed:
            self._fork(h, self.forks_unclaimed.pop(0), n, self.now())
        if n is None or n == self.current[h]:
            return
        self.out.emit(Kind.SWITCH, self.now(), h, self.current[h], from_pid=self.current[h], to_pid=n,
                      reason=R_SPACE, backtrace=[])
        self.current[h] = n

    # --- devices -----------------------------------------------------------------

    def on_mmio(self, hart, paddr, size, value, is_write) -> None:
        if PLIC_CLAIM_START <= paddr < PLIC_END:
            if not is_write and paddr & 0xFFF == 4 and hart is not None:
                p = self.irq_wait[hart.hartid]
                if p is not None:
                    self.irq_wait[hart.hartid] = None
                    self.out.fill(p, "irq", value)
        elif is_write and paddr == TESTDEV:
            self.poweroff_code = value

    def _hart_now(self):
        hart = self.m.bus.current_hart
        return (hart.hartid if hart is not None else 0), self.now()

    def on_disk_request(self, kind, sector, nbytes, head) -> None:
        h, now = self._hart_now()
        pid = self.current[h]
        block = sector * 512 // nbytes if nbytes else sector
        self.disk_reqs[head] = (h, pid, block)
        self.out.emit(Kind.DISK_REQUEST, now, h, pid, req=head, block=block, write=kind)

    def on_disk_complete(self, kind, sector, nbytes, head, status) -> None:
        h, pid, block = self.disk_reqs.pop(head, (0, 0, sector))
        self.out.emit(Kind.DISK_COMPLETE, self.now(), h, pid, req=head, block=block, write=kind)

    def on_console_output(self, byte: int) -> None:
        h, now = self._hart_now()
        self.out.console(now, h, self.console.sent(byte), byte)
        if self.console_echo is not None:
            self.console_echo(byte)

    # --- scheduler ---------------------------------------------------------------

    def on_decision(self, kind: str, value) -> None:
        now = self.now()
        out = self.out
        if kind == "hart":
            self.picked = value
            out.emit(Kind.SCHEDULE, now, value, self.current[value], decision=D_PICK, value=value)
        elif kind == "quantum":
            h = self.picked if self.picked is not None else self._only_runnable()
            self.picked = None
            out.emit(Kind.SCHEDULE, now, h, self.current[h], decision=D_HART_RUN, value=value)
        elif kind == "disk":
            h, _ = self._hart_now()
            out.emit(Kind.SCHEDULE, now, h, self.current[h], decision=D_DISK, value=value)
        elif kind == "jitter":
            out.emit(Kind.SCHEDULE, now, 0, 0, decision=D_JITTER, value=value)
        elif kind == "input":
            at, data = value
            out.emit(Kind.CONSOLE_IN, now, 0, 0, data=bytes(data))
            out.emit(Kind.SCHEDULE, now, 0, 0, decision=D_INPUT, value=[at, bytes(data)])

    def _only_runnable(self) -> int:
        for i, hart in enumerate(self.m.harts):
            if not hart.waiting or hart.read_csr(MIP) & hart.read_csr(MIE):
                return i
        return 0

    # --- the end -----------------------------------------------------------------

    def finish(self, result=None) -> None:
        """Write what the run's end completes: the power-off, then release held events."""
        if result is not None and result.reason in ("poweroff", "reset"):
            code = self.poweroff_code if self.poweroff_code is not None else 0
            self.out.emit(Kind.POWEROFF, self.now(), 0, 0, status=result.exit_code, code=code)
        for h, p in enumerate(self.leaving):
            if p is not None:
                self._leave_to(h, 0)
        self.out.finish()

    @property
    def event_count(self) -> int:
        return sum(self.out.counts.values())
