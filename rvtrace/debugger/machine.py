"""MachineView: what the debugger asks of the re-executed machine, in the debugger's terms.

The replay engine (rvtrace.replay.ReplaySession) owns the position and the
machine; this view adds what a debugger user means:
- registers by any name ($pc, $a0, $x10, $fp, $satp, $priv);
- memory "in the current process's address space": through the hart's
  page table, else through the running process's own page table (so user
  addresses read while the hart is in the kernel), or physical with `phys:`;
- values of kernel variables through DWARF (print);
- where each process is (info procs), frames (bt), source frames (list).
It never moves: moves and searches are the replay session's.
"""

from __future__ import annotations

from rvtrace.debugger.addresses import ABI_NAMES, REGISTER_NUMBER, TRAMPOLINE, Address
from rvtrace.errors import UserError

KERNEL_BASE = 0x80000000


def open_engine(path, interactive: bool = False):
    """The replay session for the trace at `path` (TraceError for a bad file).

    Interactive sessions let the engine learn in the background which event kinds each chunk
    holds, so that far filtered moves on long traces become instant."""
    from rvtrace.replay import ReplaySession
    return ReplaySession(path, learn_kinds=interactive)


class _Unmapped(UserError):
    """An address nothing maps (the message says where it looked)."""


class MachineView:
    def __init__(self, session):
        self.s = session

    @property
    def r(self):
        return self.s.engine

    @property
    def hart(self) -> int:
        return self.s.hart

    # --- registers -------------------------------------------------------------------------

    def registers(self) -> list[int]:
        regs = self.r.registers(self.hart)
        return [regs[name] for name in ABI_NAMES]

    def pc(self) -> int:
        return self.r.registers(self.hart)["pc"]

    def priv(self) -> int:
        return self.r.registers(self.hart)["priv"]

    def csr(self, name: str) -> int | None:
        try:
            return self.r.csr(name, self.hart)
        except UserError:
            return None

    def register_value(self, name: str) -> int:
        name = name.lower().lstrip("$")
        regs = self.r.registers(self.hart)
        if name in ("pc", "priv"):
            return regs[name]
        if name in REGISTER_NUMBER:
            return regs[ABI_NAMES[REGISTER_NUMBER[name]]]
        try:
            return self.r.csr(name, self.hart)
        except UserError:
            raise UserError(f"unknown register ${name}: use pc, ra, sp, a0..a7, s0..s11, t0..t6, "
                            "x0..x31, or a CSR such as sstatus, sepc, satp") from None

    # --- memory -----------------------------------------------------------------------------

    def current_pid(self) -> int | None:
        pid = None
        try:
            pid = self.r.current_pid(self.hart)
        except UserError:
            pid = None
        if not pid and self.s.event is not None:
            pid = self.s.event.pid or None
        return pid

    def read(self, addr: Address, size: int, partial: bool = False) -> bytes:
        """`size` bytes at `addr`; with `partial`, as many as are readable from its start."""
        from rvtrace.replay import ReplayError
        try:
            return self._read(addr, size)
        except (ReplayError, _Unmapped):
            if not partial:
                raise
        out = b""
        for a in range(addr.value, addr.value + size):
            try:
                out += self._read(Address(a, addr.physical), 1)
            except (ReplayError, _Unmapped):
                break
        return out

    def _read(self, addr: Address, size: int) -> bytes:
        from rvtrace.replay import ReplayError
        if addr.physical:
            return self.r.read_physical(addr.value, size)
        try:
            return self.r.read_virtual(addr.value, size, hart=self.hart)
        except ReplayError:                        # not mapped there: try the process's own table
            pid = self.current_pid()
            if pid:
                try:
                    return self.r.read_virtual(addr.value, size, pid=pid)
                except ReplayError:
                    pass
            if addr.value >= KERNEL_BASE:
                try:                               # kernel addresses: RAM is mapped one to one
                    return self.r.read_physical(addr.value, size)
                except ReplayError:
                    pass
            where = f" in pid {pid}'s address space" if pid else ""
            raise _Unmapped(f"cannot access memory at {addr.value:#x}: not mapped{where} "
                            f"(use phys:ADDR for physical memory)") from None

    def physical_of(self, addr: Address) -> tuple[int, int | None]:
        """(physical address, pid whose address space it was in) -- for watchpoints."""
        from rvtrace.kernel.memory import sv39_translate
        if addr.physical:
            return addr.value, None

        def read(pa, n):
            try:
                return self.r.read_physical(pa, n)
            except UserError:
                return None
        satp = self.r.csr("satp", self.hart)
        pa = sv39_translate(read, satp, addr.value)
        pid = self.current_pid()
        if pa is None and pid:
            try:
                pa = sv39_translate(read, self.r.satp_of(pid), addr.value)
            except UserError:
                pa = None
        if pa is None and addr.value >= KERNEL_BASE:
            pa = addr.value                       # the kernel maps RAM one to one
        if pa is None:
            raise UserError(f"cannot watch {addr.value:#x}: not mapped"
                            f"{' in pid ' + str(pid) + chr(39) + 's address space' if pid else ''}")
        return pa, pid

    def value_of(self, text: str):
        from rvtrace.debugger.values import value_of
        return value_of(self.s, text)

    # --- symbols of user code ------------------------------------------------------------------

    def _user_image(self):
        pid = self.current_pid()
        got = self.r.programs.image_of(pid, self.s.icount) if pid else None
        return got[1] if got else None

    def user_symbolize(self, pc: int) -> str | None:
        if pc >= KERNEL_BASE:
            return None
        img = self._user_image()
        f = img.function_at(pc) if img else None
        return (f"{f[0]}+{f[1]:#x}" if f[1] else f[0]) if f else None

    def user_function_at(self, pc: int):
        if pc >= KERNEL_BASE:
            return None
        img = self._user_image()
        return img.function_at(pc) if img else None

    def user_symbol_size(self, name: str) -> int | None:
        img = self._user_image()
        return img.size_of_symbol(name) if img and name in img.symbols else None

    def source_line(self, pc: int) -> tuple[str, int] | None:
        k = self.s.kernel
        if k is not None and TRAMPOLINE <= pc < TRAMPOLINE + 4096 and k.address_of("trampoline"):
            pc = pc - TRAMPOLINE + k.address_of("trampoline")    # the trampoline page, mapped high
        if pc >= KERNEL_BASE:
            img = k
        else:
            img = self._user_image()
        return img.source_line(pc) if img is not None else None

    def source_frames(self) -> list[tuple[int, str]]:
        """Pcs whose source `list` shows: the pc, then (for an assembly stub) the caller's call site."""
        pc = self.pc()
        regs = self.r.registers(self.hart)
        frames = [(pc, "pc")]
        ra = regs["ra"]
        if ra:
            frames.append((ra - 1, self.s.describe_address(ra) if ra >= KERNEL_BASE
                           else (self.user_symbolize(ra) or f"{ra:#x}")))
        return frames

    # --- processes ---------------------------------------------------------------------------------

    def processes(self):
        return self.r.processes()

    def process_view_reason(self) -> str:
        view = self.r.process_view()
        return view.reason or "unknown"

    def running_pids(self) -> dict[int, int]:
        """hart -> pid it runs now (harts running no process left out)."""
        view = self.r.process_view()
        out = {}
        for h in range(len(self.r.machine.harts)):
            pid = view.current_pid(h) if view.available else None
            if pid:
                out[h] = pid
        return out

    def where_process_is(self, info, running: dict[int, int]) -> str:
        for h, pid in running.items():
            if pid == info.pid:
                return f"running on hart {h}"
        if info.state == "ZOMBIE":
            return f"exited (status {info.xstate}), waiting for its parent to reap it"
        view = self.r.process_view()
        frames = []
        try:
            frames = [f.function for f in view.saved_backtrace(info) if f.function]
        except Exception:      # a process caught mid-switch may have a half-written context
            frames = []
        chan = self._describe_chan(info, view)
        inside = " <- ".join(f for f in frames if f not in ("swtch", "sched"))[:70]
        if info.state == "SLEEPING":
            return f"sleeping on {chan}" + (f" in {inside}" if inside else "")
        if info.state == "RUNNABLE":
            return "ready to run" + (f" (in {inside})" if inside else "")
        return inside

    def _describe_chan(self, info, view) -> str:
        chan = info.chan
        if not chan:
            return "?"
        layout = view.layout
        if layout and layout.procs <= chan < layout.procs + layout.nproc * layout.proc_size:
            slot = (chan - layout.procs) // layout.proc_size
            owner = next((p for p in view.processes() if p.slot == slot), None)
            who = f"pid {owner.pid}" if owner else f"proc[{slot}]"
            return f"{who}'s proc (wait for a child)" if owner and owner.pid == info.pid else f"{who}'s proc"
        name = self.s.symbolize(chan)
        return name if name else f"{chan:#x}"

    # --- frames ---------------------------------------------------------------------------------------

    def backtrace(self) -> list[tuple[int, str | None, str | None]]:
        out = []
        for i, loc in enumerate(self.r.backtrace(self.hart)):
            name = loc.function
            if name and loc.offset:
                name = f"{name}+{loc.offset:#x}"
            if name is None:
                name = self.s.symbolize(loc.pc)        # e.g. the trampoline page, mapped high
            # Return addresses point after the call: its line is the one holding pc - 1.
            src = self.source_line(loc.pc if i == 0 else loc.pc - 1)
            place = f"{_short(src[0])}:{src[1]}" if src else None
            if loc.program:
                place = (place + " " if place else "") + f"[{loc.program}]"
            out.append((loc.pc, name, place))
        return out

    # --- moving (the replay session moves; this only says what the user meant) ----------------

    def goto_icount(self, icount: int) -> None:
        end = self.r.end_icount
        if not 0 <= icount <= end:
            raise UserError(f"icount {icount} is outside this recording (0 to {end})")
        self.r.goto_icount(icount)


def _short(path: str) -> str:
    for d in ("kernel_src/", "user_src/"):
        i = path.find(d)
        if i >= 0:
            return path[i:]
    return path
