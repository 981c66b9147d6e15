"""ProcessView: the kernel's processes, read from guest memory through its DWARF.

Works on any kernel following DESIGN.md's conventions (ours and xv6-riscv):
`struct cpu cpus[NCPU]` whose member `proc` points at the running
`struct proc`, and `struct proc proc[NPROC]` with `state`, `pid`, `name` and,
when present, `chan`, `parent`, `killed`, `xstate`. Offsets and sizes come
from DWARF, never from guesses. When something is missing the view says why
in `reason` and answers None: the recorder then identifies processes by
their address space (satp) instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rvtrace.kernel.image import Frame, KernelImage
from rvtrace.cpu.arch import make_satp
from rvtrace.kernel.memory import virtual_reader

ReadFn = Callable[[int, int], bytes]

# xv6's order, used when the DWARF has no `enum procstate`.
DEFAULT_STATES = {0: "UNUSED", 1: "USED", 2: "SLEEPING", 3: "RUNNABLE", 4: "RUNNING", 5: "ZOMBIE"}


@dataclass(frozen=True)
class ProcInfo:
    addr: int               # address of its struct proc
    slot: int               # index in proc[]
    pid: int
    state: str
    name: str
    chan: int | None = None
    parent: int | None = None      # the parent's pid (None when unknown or no parent)
    killed: int | None = None
    xstate: int | None = None


@dataclass(frozen=True)
class _Layout:
    cpus: int
    cpu_size: int
    ncpu: int
    cpu_proc: int               # offset of `proc` in struct cpu
    procs: int
    proc_size: int
    nproc: int
    fields: dict                # member -> (offset, size) of struct proc
    states: dict


class ProcessView:
    """`view.current_pid(hart)`, `view.processes()`; check `view.available` / `view.reason`."""

    def __init__(self, image: KernelImage | None, read: ReadFn):
        self.image = image
        self.read = read
        self.layout: _Layout | None = None
        self.reason: str | None = None
        try:
            self.layout = _find_layout(image)
        except _Missing as exc:
            self.reason = f"{exc}: processes will be told apart by address space (satp) instead"

    @property
    def available(self) -> bool:
        return self.layout is not None

    # --- per hart ------------------------------------------------------------------

    def current_proc_addr(self, hart: int) -> int | None:
        """`cpus[hart].proc`: the address of the running struct proc (0 when idle)."""
        L = self.layout
        if L is None or not 0 <= hart < L.ncpu:
            return None
        return self._u(L.cpus + hart * L.cpu_size + L.cpu_proc, 8)

    def current(self, hart: int) -> ProcInfo | None:
        addr = self.current_proc_addr(hart)
        if not addr:
            return None
        return self.proc_at(addr)

    def current_pid(self, hart: int) -> int | None:
        """The running process's pid; 0 when the hart runs no process; None if unknown."""
        addr = self.current_proc_addr(hart)
        if addr is None:
            return None
        if addr == 0:
            return 0
        return self._field(addr, "pid", signed=True)

    # --- all processes -------------------------------------------------------------

    def processes(self, include_unused: bool = False) -> list[ProcInfo]:
        L = self.layout
        if L is None:
            return []
        out = []
        for slot in range(L.nproc):
            info = self.proc_at(L.procs + slot * L.proc_size)
            if info is not None and (include_unused or info.state != L.states.get(0, "UNUSED")):
                out.append(info)
        return out

    def proc_at(self, addr: int) -> ProcInfo | None:
        L = self.layout
        if L is None:
            return None
        slot = (addr - L.procs) // L.proc_size
        pid = self._field(addr, "pid", signed=True)
        state = self._field(addr, "state")
        if pid is None or state is None:
            return None
        parent_addr = self._field(addr, "parent")
        parent = self._field(parent_addr, "pid", signed=True) if parent_addr else None
        return ProcInfo(addr=addr, slot=slot, pid=pid, state=L.states.get(state, f"?{state}"),
                        name=self._name(addr), chan=self._field(addr, "chan"), parent=parent,
                        killed=self._field(addr, "killed"), xstate=self._field(addr, "xstate", signed=True))

    # --- kernel stacks -------------------------------------------------------------

    def kernel_reader(self) -> ReadFn:
        """A reader of kernel virtual addresses: through `kernel_pagetable` (xv6's name) when
        the kernel has one, so kernel stacks mapped high are readable; else physical."""
        root = self.image.address_of("kernel_pagetable") if self.image else None
        table = self._u(root, 8) if root is not None else None
        if not table:
            return self.read
        return virtual_reader(self.read, make_satp(table))

    def saved_backtrace(self, info: ProcInfo, read_kernel: ReadFn | None = None) -> list[Frame]:
        """Where a process that is not running sits in the kernel: the frames from the
        context its last swtch saved (`struct proc.context`'s ra and s0), innermost first."""
        context = self.image.struct("context") if self.image and self.layout else None
        proc = self.image.struct("proc") if context else None
        if context is None or proc is None or None in (proc.offset("context"), context.offset("ra"),
                                                        context.offset("s0")):
            return []
        base = info.addr + proc.offset("context")
        ra, fp = self._u(base + context.offset("ra"), 8), self._u(base + context.offset("s0"), 8)
        if not ra:
            return []
        return self.image.backtrace(ra, fp or 0, read_kernel or self.kernel_reader(), pc_is_return=True)

    # --- memory --------------------------------------------------------------------

    def _field(self, base: int, member: str, signed: bool = False) -> int | None:
        f = self.layout.fields.get(member)
        if f is None:
            return None
        return self._u(base + f[0], f[1], signed)

    def _name(self, base: int) -> str:
        off, size = self.layout.fields["name"]
        raw = self._bytes(base + off, size)
        if raw is None:
            return "?"
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")

    def _u(self, addr: int, size: int, signed: bool = False) -> int | None:
        raw = self._bytes(addr, size)
        return int.from_bytes(raw, "little", signed=signed) if raw is not None else None

    def _bytes(self, addr: int, size: int) -> bytes | None:
        try:
            raw = self.read(addr, size)
        except Exception:      # a bad pointer in guest memory reads as "unknown", never crashes a recording
            return None
        return bytes(raw) if raw is not None and len(raw) == size else None


class _Missing(Exception):
    pass


def _find_layout(image: KernelImage | None) -> _Layout:
    if image is None:
        raise _Missing("no kernel ELF")
    if not image.has_symbols:
        raise _Missing("the kernel ELF has no symbol table (stripped)")
    for sym in ("cpus", "proc"):
        if image.address_of(sym) is None:
            raise _Missing(f"the kernel has no `{sym}` symbol (not laid out like xv6)")
    if not image.has_dwarf:
        raise _Missing("the kernel has no DWARF debug info (build it with -g)")
    cpu, proc = image.struct("cpu"), image.struct("proc")
    if cpu is None or proc is None:
        raise _Missing(f"the kernel's DWARF does not define struct {'cpu' if cpu is None else 'proc'}")
    for need in ("pid", "state", "name"):
        if need not in proc.members:
            raise _Missing(f"struct proc has no `{need}` member")
    if "proc" not in cpu.members:
        raise _Missing("struct cpu has no `proc` member")
    if not cpu.size or not proc.size:
        raise _Missing("struct cpu or struct proc has no size in the DWARF")
    fields = {m.name: (m.offset, m.size) for m in proc.members.values()
              if m.name in ("pid", "state", "name", "chan", "parent", "killed", "xstate") and m.size}
    if set(fields) < {"pid", "state", "name"}:
        raise _Missing("struct proc's pid, state or name has no size in the DWARF")
    return _Layout(
        cpus=image.address_of("cpus"), cpu_size=cpu.size,
        ncpu=max(image.size_of_symbol("cpus") // cpu.size, 1),
        cpu_proc=cpu.offset("proc"),
        procs=image.address_of("proc"), proc_size=proc.size,
        nproc=max(image.size_of_symbol("proc") // proc.size, 1),
        fields=fields, states=image.enum("procstate") or DEFAULT_STATES,
    )
