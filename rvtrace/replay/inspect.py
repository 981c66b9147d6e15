"""What the machine holds at a replay position: registers, CSRs, memory, processes, symbols.

`MachineViews` is mixed into ReplaySession (session.py), which owns the
position; everything here only looks at the machine re-executed to it
(`self.machine`) and answers in the user's terms -- registers by ABI name,
memory through the hart's or a process's page table, the process table
through the kernel's DWARF, and a pc as a function and source line in the
kernel or in the user program the process runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from rvtrace.cpu.arch import ABI_NAMES, CSR_NUMBERS, SATP_MODE_BARE, make_satp, satp_mode
from rvtrace.kernel.memory import sv39_translate, virtual_reader
from rvtrace.replay.errors import ReplayError

REG_NAMES = ABI_NAMES
PRIV_NAMES = {0: "U", 1: "S", 3: "M"}
CSRS = CSR_NUMBERS             # `csr()` also takes numbers


@dataclass(frozen=True)
class Location:
    """Where a pc is: `space` "kernel" or "user" (then `program` names the ELF), symbol and line."""
    pc: int
    space: str
    program: str | None
    function: str | None
    offset: int
    file: str | None
    line: int | None

    def __str__(self) -> str:
        where = f"{self.function}+{self.offset:#x}" if self.function else f"{self.pc:#x}"
        src = f" at {self.file}:{self.line}" if self.file else ""
        prog = f" in {self.program}" if self.program else ""
        return f"{where}{src}{prog}"


class MachineViews:
    """Looking at the machine at the position (needs `machine`, `hart`, `icount`, `image` and
    `programs` from the class it is mixed into)."""

    def _hart(self, hart: int | None):
        m = self.machine
        h = self.hart if hart is None else hart
        if not 0 <= h < len(m.harts):
            raise ReplayError(f"there is no hart {h}: this machine has harts 0 to {len(m.harts) - 1}")
        return m.harts[h]

    def registers(self, hart: int | None = None) -> dict:
        """{"pc", "priv", "zero".."t6"} of a hart at the current position."""
        h = self._hart(hart)
        out = {"pc": h.pc, "priv": h.priv}
        out.update(zip(REG_NAMES, h.x))
        return out

    def csr(self, name_or_number, hart: int | None = None) -> int:
        h = self._hart(hart)
        num = CSRS.get(name_or_number, name_or_number) if isinstance(name_or_number, str) else name_or_number
        if not isinstance(num, int):
            raise ReplayError(f"unknown CSR {name_or_number!r}: try one of {', '.join(sorted(CSRS))}")
        try:
            return h.read_csr(num)
        except Exception:
            raise ReplayError(f"CSR {name_or_number!r} cannot be read on this hart") from None

    def read_physical(self, paddr: int, size: int) -> bytes:
        m = self.machine
        off = paddr - m.bus.ram_base
        if off < 0 or off + size > m.bus.ram_size:
            raise ReplayError(f"physical address {paddr:#x} (+{size}) is not RAM")
        return bytes(m.bus.ram[off:off + size])

    def _phys_reader(self):
        m = self.machine
        ram, base, size = m.bus.ram, m.bus.ram_base, m.bus.ram_size

        def read(paddr, n):
            off = paddr - base
            return bytes(ram[off:off + n]) if 0 <= off and off + n <= size else None
        return read

    def satp_of(self, pid: int | None = None, hart: int | None = None) -> int:
        """The satp for a pid's address space (from its struct proc), or the hart's current satp."""
        if pid is None:
            return self._hart(hart).satp
        view = self.process_view()
        info = next((p for p in view.processes() if p.pid == pid), None) if view.available else None
        if info is None:
            raise ReplayError(f"no process {pid} at this point")
        proc = self.image.struct("proc") if self.image else None
        off = proc.offset("pagetable") if proc else None
        if off is None:
            raise ReplayError("the kernel's struct proc has no `pagetable` member: "
                              "give no pid to read through the hart's current page table")
        pt = int.from_bytes(self.read_physical(info.addr + off, 8), "little")
        if not pt:
            raise ReplayError(f"process {pid} has no page table at this point")
        return make_satp(pt)

    def read_virtual(self, vaddr: int, size: int, pid: int | None = None, hart: int | None = None) -> bytes:
        """Memory through a page table: the hart's current one, or process `pid`'s."""
        satp = self.satp_of(pid, hart)
        if satp_mode(satp) == SATP_MODE_BARE:
            return self.read_physical(vaddr, size)
        data = virtual_reader(self._phys_reader(), satp)(vaddr, size)
        if data is None:
            raise ReplayError(f"address {vaddr:#x} is not mapped"
                              f"{' in process ' + str(pid) if pid is not None else ''}")
        return data

    def _translate(self, hart, vaddr: int) -> int | None:
        if satp_mode(hart.satp) == SATP_MODE_BARE:
            return vaddr
        return sv39_translate(self._phys_reader(), hart.satp, vaddr)

    def _read_as(self, hart, vaddr: int, size: int) -> bytes | None:
        if not 0 <= vaddr < 1 << 64:
            return None
        if satp_mode(hart.satp) == SATP_MODE_BARE:
            return self._phys_reader()(vaddr, size)
        return virtual_reader(self._phys_reader(), hart.satp)(vaddr, size)

    def _fetch(self, hart, pc: int) -> bytes | None:
        return self._read_as(hart, pc, 4) or self._read_as(hart, pc, 2)

    def process_view(self):
        """A ProcessView over the machine at the current position (see rvtrace.kernel.procs)."""
        from rvtrace.kernel.procs import ProcessView
        self.machine
        return ProcessView(self.image, self._phys_reader())

    def processes(self):
        """Every process at this moment (ProcInfo: pid, name, state, chan, parent, ...)."""
        view = self.process_view()
        if not view.available:
            raise ReplayError(f"no process table: {view.reason}")
        return view.processes()

    def current_pid(self, hart: int | None = None) -> int | None:
        view = self.process_view()
        return view.current_pid(self.hart if hart is None else hart) if view.available else None

    def where(self, pc: int | None = None, hart: int | None = None) -> Location:
        """The symbol and source line of `pc` (default: the hart's pc), kernel or user program."""
        h = self._hart(hart)
        pc = h.pc if pc is None else pc
        user = h.priv == 0 or (self.image is not None and self.image.function_at(pc) is None and pc < 1 << 32
                               and pc < self.machine.bus.ram_base)
        if user:
            pid = self.current_pid(h.hartid)
            prog = self.programs.image_of(pid, self.icount) if pid else None
            img, name = (prog[1], prog[0]) if prog else (None, None)
            return _locate(pc, "user", name, img)
        return _locate(pc, "kernel", None, self.image)

    def backtrace(self, hart: int | None = None, max_frames: int = 32) -> list[Location]:
        """Frames by frame pointers from the hart's pc outwards (kernel, or the user program)."""
        h = self._hart(hart)
        here = self.where(hart=h.hartid)
        img = self.image if here.space == "kernel" else self.programs.image_of(
            self.current_pid(h.hartid), self.icount)
        if here.space == "user":
            img = img[1] if img else None
        if img is None:
            return [here]
        read = lambda a, n: self._read_as(h, a, n)     # noqa: E731
        frames = img.backtrace(h.pc, h.x[8], read, max_frames=max_frames)
        out = [here]
        # A leaf function (e.g. a syscall stub) keeps its return address in ra and saves no
        # frame: the fp chain skips its caller. ra pointing into another function shows it.
        ra = h.x[1]
        ra_func = img.function_at(ra)
        if ra_func and ra_func[0] != here.function and (len(frames) < 2 or frames[1].pc != ra):
            out.append(_locate(ra, here.space, here.program, img, caller=True))
        for f in frames[1:]:
            out.append(_locate(f.pc, here.space, here.program, img, caller=True))
        return out

    def line_addresses(self, file: str, line: int | str) -> set[int]:
        """Where the code of FILE:LINE starts (the current user program's first when the hart is
        in user mode, else the kernel's); empty when no code has that line."""
        line = int(line)
        images = []
        h = self.machine.harts[self.hart]
        if h.priv == 0:
            pid = self.current_pid()
            prog = self.programs.image_of(pid, self.icount) if pid else None
            if prog:
                images.append(prog[1])
        if self.image is not None:
            images.append(self.image)
        name = file.rsplit("/", 1)[-1]
        for img in images:
            table = img._line_table()
            if table is None:
                continue
            pcs = {row[0] for row in table.all_rows
                   if row[3] == line and row[2].rsplit("/", 1)[-1] == name
                   and img.source_line(row[0]) == (row[2], line)}
            if pcs:
                return pcs
        return set()

    def _function_entry(self, pc: int) -> int | None:
        loc = self.where(pc)
        if loc.function is None:
            return None
        return pc - loc.offset



def _locate(pc: int, space: str, program, img, caller: bool = False) -> Location:
    """Where pc is; for a caller's frame (pc a return address) the call itself is at pc - 1,
    as gdb looks it up: a call that never returns may be the last instruction of its function."""
    if img is None:
        return Location(pc, space, program, None, 0, None, None)
    at = pc - 1 if caller else pc
    f = img.function_at(at)
    src = img.source_line(at)
    return Location(pc, space, program, f[0] if f else None, (f[1] + (pc - at)) if f else 0,
                    src[0] if src else None, src[1] if src else None)
