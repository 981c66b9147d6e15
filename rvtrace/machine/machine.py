"""The board: harts, bus, devices, and the loop that interleaves the harts.

`Machine(config)` boots like `qemu-system-riscv64 -machine virt -bios none
-kernel ELF`: every hart starts in M-mode at the ELF entry with a0 = hart id
and a1 = the device tree's address. `run()` then gives the harts turns
(quanta) chosen by the scheduler until the guest powers off or a limit is hit.

Time (docs/architecture.md, "Time and determinism"): mtime advances by one
per instruction retired by any hart, and jumps to the next deadline when all
harts wait in wfi. Deadlines -- each hart's mtimecmp and Sstc stimecmp, and
disk completions -- cap the quanta, so interrupts land at exact instruction
counts; devices that create a new deadline mid-quantum end the quantum
(`bus.request_stop()`) so it is planned in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rvtrace.cpu.arch import (CAUSE_BREAKPOINT, CAUSE_ECALL_M, CAUSE_ECALL_S, CAUSE_ECALL_U, MCAUSE,
                              MEPC, MIE, MIP, MTVAL, cause_name)
from rvtrace.errors import UserError
from rvtrace.files import check_input
from rvtrace.machine import clint, plic, state, testdev, uart, virtio_blk
from rvtrace.machine.bus import Bus
from rvtrace.machine.config import MAX_HARTS, MAX_MEM_MIB, MIN_MEM_MIB, MachineConfig
from rvtrace.machine.elfload import check_rv64, load_elf, read_kernel
from rvtrace.machine.fdt import board_fdt, fdt_address
from rvtrace.machine.scheduler import Scheduler

SOLO_QUANTUM = 200_000         # one hart: nothing to interleave, only deadlines cut turns
INPUT_POLL_INSNS = 200_000     # how often (in instructions) console input is looked for
FAULT_LOOP_TURNS = 3           # turns in a row retiring nothing while not waiting
FAULT_LOOP_REPEATS = 1000      # the same exception at the same pc and address, back to back
NOT_FAULTS = {CAUSE_BREAKPOINT, CAUSE_ECALL_U, CAUSE_ECALL_S, CAUSE_ECALL_M}   # these repeat legitimately
MAX_IDLE_WAIT_S = 0.05         # longest host sleep per idle skip while input may come
CSR_MIE, CSR_MIP, CSR_MCAUSE, CSR_MEPC, CSR_MTVAL = MIE, MIP, MCAUSE, MEPC, MTVAL


@dataclass
class RunResult:
    reason: str                 # "poweroff", "reset" or "max-insns"
    exit_code: int | None       # the guest's exit code (poweroff/reset), else None
    icount: int                 # instructions retired by all harts since boot
    per_hart: list[int] = field(default_factory=list)


def _read_disk(path: str) -> bytes:
    check_input(path, "disk image")        # a FIFO or /dev/zero is no disk image
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UserError(f"disk image {path}: no such file") from None
    except OSError as exc:
        raise UserError(f"disk image {path}: cannot read it ({exc.strerror})") from None


class Machine:
    def __init__(self, config: MachineConfig, scheduler=None, kernel_bytes: bytes | None = None,
                 disk_bytes: bytes | None = None, cpu=None):
        """`kernel_bytes`/`disk_bytes` replace reading the files (a replay has them from the
        trace); `cpu` is the module providing Hart and CodeCache (tests pass a fake)."""
        if not 1 <= config.harts <= MAX_HARTS:
            raise UserError(f"--harts {config.harts}: the board has 1 to {MAX_HARTS} harts")
        if type(config.mem_mib) is not int or not MIN_MEM_MIB <= config.mem_mib <= MAX_MEM_MIB:
            raise UserError(f"--mem {config.mem_mib}: give a RAM size from {MIN_MEM_MIB} to {MAX_MEM_MIB} MiB")
        kernel = kernel_bytes if kernel_bytes is not None else read_kernel(config.kernel)
        name = str(config.kernel) if config.kernel else "kernel"
        check_rv64(kernel, name)
        if disk_bytes is None and config.disk:
            disk_bytes = _read_disk(config.disk)
        if cpu is None:
            import rvtrace.cpu as cpu            # the cpu layer sits above us
        self.config = config
        self.scheduler = scheduler if scheduler is not None else Scheduler(config.seed, perturb=config.perturb)
        self.perturbed = config.perturb != "off"   # the scheduler also plans one hart's turns and time jumps
        self.on_console_output = None      # callback(byte) for every byte the UART sends
        self.on_turn = None                # on_turn(hart_id, start_icount, retired) after a turn
        self.icount = 0                    # instructions retired by all harts
        self._time0 = 0                    # mtime at the start of the current turn
        self._running = None               # the hart inside run(), if any
        self._instret0 = 0                 # its instret when its turn began
        self._last_hart = None
        self._next_poll = 0
        self._carry = None                 # (hart id, instructions left) of a turn cut by max_insns
        self.watchdog = None               # a Watchdog (watchdog.py), told after every turn

        self.bus = Bus(config.mem_mib << 20)
        self.cache = cpu.CodeCache()
        self.bus.code_cache = self.cache
        self.harts = [cpu.Hart(h, self.bus, self.cache, self.mtime) for h in range(config.harts)]
        self._build_devices(disk_bytes)
        self._boot(kernel, name)

    # --- construction --------------------------------------------------------------------

    def _build_devices(self, disk: bytes | None) -> None:
        bus = self.bus
        self.plic = plic.Plic(self.harts)
        self.clint = clint.Clint(self.harts, self.mtime, self._set_mtime, bus)
        self.uart = uart.Uart(self.plic, on_output=self._console_byte)
        self.testdev = testdev.SifiveTest(bus)
        self.disks = []
        for slot in range(virtio_blk.SLOTS):
            dev = virtio_blk.VirtioBlk(bus, self.plic, virtio_blk.IRQ + slot,
                                       image=disk if slot == 0 else None,
                                       latency_fn=self.scheduler.disk_latency, now_fn=self.mtime)
            bus.map(virtio_blk.BASE + slot * virtio_blk.STRIDE, virtio_blk.STRIDE, dev)
            self.disks.append(dev)
        self.disk = self.disks[0]
        self._live_disks = [d for d in self.disks if d.present]   # only these can have deadlines
        bus.map(testdev.BASE, testdev.SIZE, self.testdev)
        bus.map(clint.BASE, clint.SIZE, self.clint)
        bus.map(plic.BASE, self.plic.size, self.plic)
        bus.map(uart.BASE, uart.SIZE, self.uart)

    def _boot(self, kernel: bytes, name: str) -> None:
        entry = load_elf(kernel, self.bus, name)
        blob = board_fdt(len(self.harts), self.bus.ram_base, self.bus.ram_size, self.config.bootargs)
        self.fdt_addr = fdt_address(self.bus.ram_base, self.bus.ram_size, len(blob))
        self.bus.dma_write(self.fdt_addr, blob)
        for hart in self.harts:
            hart.pc = entry
            hart.x[10] = self.harts.index(hart)
            hart.x[11] = self.fdt_addr

    # --- time ------------------------------------------------------------------------------

    def mtime(self) -> int:
        """The current virtual time, exact even in the middle of a hart's turn."""
        hart = self._running
        if hart is None:
            return self._time0
        return self._time0 + hart.instret - self._instret0

    def icount_now(self) -> int:
        """The global instruction count, exact even in the middle of a hart's turn."""
        hart = self._running
        if hart is None:
            return self.icount
        return self.icount + hart.instret - self._instret0

    def _set_mtime(self, value: int) -> None:
        hart = self._running
        self._time0 = value - (hart.instret - self._instret0 if hart is not None else 0)

    def _next_deadline(self, now: int):
        """The earliest moment after `now` at which an interrupt or completion is due."""
        best = self.clint.next_deadline(now)
        for hart in self.harts:
            d = hart.timer_deadline()           # all ones is how kernels switch it off
            if d is not None and now < d < clint.NEVER and (best is None or d < best):
                best = d
        for disk in self._live_disks:
            d = disk.next_deadline()            # _settle completed everything due by now
            if d is not None and (best is None or d < best):
                best = d
        return best

    # --- console -----------------------------------------------------------------------------

    def _console_byte(self, byte: int) -> None:
        if self.on_console_output is not None:
            self.on_console_output(byte)

    def feed_console(self, data: bytes) -> None:
        """Put bytes in the UART's receive buffer now (tests; a recorder goes through the scheduler)."""
        self.uart.feed(data)

    def _poll_input(self, timeout: float = 0.0):
        data = self.scheduler.console_input(self.icount, timeout)
        if data:
            self.uart.feed(data)
        return data

    # --- the run loop --------------------------------------------------------------------------

    def _runnable(self) -> list[int]:
        """Ids of the harts that can run: not in wfi, or with an interrupt to wake them."""
        return [i for i, hart in enumerate(self.harts)
                if not hart.waiting or hart.read_csr(CSR_MIP) & hart.read_csr(CSR_MIE)]

    def _settle(self, now: int) -> None:
        """Bring device state up to `now`: finished disk requests, timer levels, held input."""
        for disk in self._live_disks:
            if disk.inflight and disk.inflight[0][0] <= now:
                disk.complete_due(now)
        self.clint.update_timers(now)
        if self.uart.held:
            self.uart.pump()

    def run(self, max_insns: int | None = None) -> RunResult:
        """Run until the guest powers off, or `max_insns` more instructions have retired.

        Stopping for `max_insns` is invisible to the guest: a turn cut short
        resumes, on the next call, with the same hart and the rest of its
        quantum and no new decisions, so running in pieces (a replay stepping
        to an exact icount) retires exactly what one long run does.
        """
        if self.bus.power_off is not None:      # already off: nothing more will run
            return self._result(*self.bus.power_off)
        stop_at = None if max_insns is None else self.icount + max_insns
        idle_turns = 0
        bus = self.bus
        multi = len(self.harts) > 1 or self.perturbed
        while True:
            if bus.stop_requested:
                bus.stop_requested = False
                if bus.power_off is not None:
                    return self._result(*bus.power_off)
            if stop_at is not None and self.icount >= stop_at:
                return self._result("max-insns", None)
            if self._carry is not None:         # the rest of a turn cut by max_insns
                hart_id, planned = self._carry
                self._turn(hart_id, planned, stop_at)
                continue
            now = self._time0
            self._settle(now)
            if self.icount >= self._next_poll:
                self._next_poll = self.icount + INPUT_POLL_INSNS
                self._poll_input()
            runnable = self._runnable()
            if not runnable:
                self._idle(now)
                continue
            if self.perturbed and self._jump(runnable, now):
                continue                        # time moved: settle devices and look again
            hart_id = runnable[0] if len(runnable) == 1 else self.scheduler.pick_hart(runnable, now)
            quantum = self.scheduler.quantum() if multi else SOLO_QUANTUM
            deadline = self._next_deadline(now)
            if deadline is not None:
                quantum = min(quantum, deadline - now)
            retired = self._turn(hart_id, quantum, stop_at)
            if self.watchdog is not None:
                self.watchdog.after_turn(hart_id)
            hart = self.harts[hart_id]
            if retired == 0 and not hart.waiting and not bus.stop_requested:
                idle_turns += 1
                if idle_turns >= FAULT_LOOP_TURNS:
                    raise UserError(self._fault_loop_message(hart_id, hart))
            else:
                idle_turns = 0

    def _jump(self, runnable: list[int], now: int) -> int:
        """Perturbed machines: let the scheduler move virtual time ahead before a turn (a stalled
        vCPU, a starved hart); deadlines passed meanwhile fire at once, late."""
        jump = self.scheduler.timer_jitter(runnable, now, self._next_deadline(now), len(self.harts))
        self._time0 += jump
        return jump

    def _turn(self, hart_id: int, planned: int, stop_at) -> int:
        """Run one hart for up to `planned` instructions (less if `stop_at` comes first)."""
        hart = self.harts[hart_id]
        budget = planned if stop_at is None else min(planned, stop_at - self.icount)
        if hart is not self._last_hart:
            for other in self.harts:            # another hart ran: LR reservations are gone
                if other is not hart:
                    other.clear_reservation()
            self._last_hart = hart
        self.bus.current_hart = hart
        self._running, self._instret0 = hart, hart.instret
        start = self.icount
        try:
            hart.run(budget)
        finally:                                # exact even when the hart raised
            retired = hart.instret - self._instret0
            self._time0 += retired
            self.icount += retired
            self._running = None
        if retired and self.on_turn is not None:
            self.on_turn(hart_id, start, retired)
        self._carry = None
        if (budget < planned and retired == budget and not hart.waiting
                and not self.bus.stop_requested and not getattr(hart, "_yield", False)):
            self._carry = (hart_id, planned - retired)
        return retired

    def _idle(self, now: int) -> None:
        """Every hart waits in wfi: wait for input or skip time to the next deadline."""
        deadline = self._next_deadline(now)
        if deadline is None:
            data = self._poll_input(MAX_IDLE_WAIT_S)
            if data is None:
                raise UserError("guest is idle forever (all harts in wfi with no timer armed)")
            return                      # input came (or may still come): look again
        wait = min((deadline - now) / 10_000_000, MAX_IDLE_WAIT_S)
        if self._poll_input(wait):
            return
        self._time0 = deadline

    def _fault_loop_message(self, hart_id: int, hart) -> str:
        cause = hart.read_csr(CSR_MCAUSE)
        epc = hart.read_csr(CSR_MEPC)
        tval = hart.read_csr(CSR_MTVAL)
        return (f"guest fault loop: hart {hart_id} keeps trapping without progress: "
                f"{cause_name(cause)} at {epc:#x} (mtval {tval:#x}); "
                f"check the trap vector (mtvec/stvec) and the code there")

    def watch_fault_loops(self, repeats: int = FAULT_LOOP_REPEATS) -> None:
        """Stop with a UserError when a hart takes the same exception at the same pc and
        address `repeats` times in a row (a handler that never fixes the fault).

        Costs one call per trap, none per instruction; chains any on_trap already set."""
        for hart_id, hart in enumerate(self.harts):
            hart.on_trap = self._fault_watcher(hart_id, hart.on_trap, repeats)

    @staticmethod
    def _fault_watcher(hart_id: int, chained, repeats: int):
        last = [None, 0]

        def on_trap(hart, cause, tval, epc, from_priv, to_priv):
            if chained is not None:
                chained(hart, cause, tval, epc, from_priv, to_priv)
            if cause >> 63 or cause in NOT_FAULTS:
                return
            key = (cause, epc, tval)
            if key == last[0]:
                last[1] += 1
                if last[1] >= repeats:
                    raise UserError(f"guest fault loop: hart {hart_id} took a {cause_name(cause)} at pc "
                                    f"{epc:#x} (tval {tval:#x}) {repeats} times in a row; "
                                    f"its trap handler never fixes the fault")
            else:
                last[0], last[1] = key, 1
        return on_trap

    def watch_progress(self, describe_pc=None, **limits) -> None:
        """Stop with a UserError when the guest stops making progress without faulting
        (an interrupt storm, a hart spinning with interrupts off): see watchdog.py.
        `describe_pc(pc)` names a kernel address ("function+0x1c") or returns None;
        `limits`: spin_insns, storm_count (tests make them small)."""
        from rvtrace.machine.watchdog import Watchdog
        Watchdog(self, describe_pc, **limits).attach()

    # --- checkpoints ------------------------------------------------------------------------------

    def board_state(self) -> dict:
        """Everything of the board except harts and RAM: devices, scheduler position, time."""
        return {
            "icount": self.icount, "time": self._time0, "next_poll": self._next_poll,
            "carry": self._carry, "power_off": self.bus.power_off,
            "last_hart": None if self._last_hart is None else self.harts.index(self._last_hart),
            "clint": state.capture(self.clint), "plic": state.capture(self.plic),
            "uart": state.capture(self.uart), "disks": [state.capture(d) for d in self._live_disks],
            "scheduler": state.capture(self.scheduler),
        }

    def restore_board_state(self, saved: dict) -> None:
        """Put back what board_state() returned (harts and RAM are restored by the caller)."""
        self.icount, self._time0 = saved["icount"], saved["time"]
        self._next_poll, self._carry = saved["next_poll"], saved["carry"]
        self.bus.power_off, self.bus.stop_requested = saved["power_off"], False
        self._last_hart = None if saved["last_hart"] is None else self.harts[saved["last_hart"]]
        self._running = None
        state.restore(self.clint, saved["clint"])
        state.restore(self.plic, saved["plic"])
        state.restore(self.uart, saved["uart"])
        for disk, disk_state in zip(self._live_disks, saved["disks"]):
            state.restore(disk, disk_state)
        state.restore(self.scheduler, saved["scheduler"])

    def _result(self, reason: str, code) -> RunResult:
        return RunResult(reason, code, self.icount, [h.instret for h in self.harts])
