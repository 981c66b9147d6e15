"""Stack frames at the current position: the kernel's, then the user program's below a trap.

    #0  swtch                  the pc the hart is about to execute
    #1  sched+0x86             return addresses: each names its call (ra - 1, as gdb does)
    ...
    #5  usertrap+0x70          the kernel stack's first frame (a hart enters it without a call)
    #6  wait+0x8 [forkexec]    the user code the trap interrupted, from the process's trapframe
    #7  main+0x62 [forkexec]

Frames are found through frame pointers (every guest function is compiled
with -fno-omit-frame-pointer: ra at fp-8, the caller's fp at fp-16; fp is
the frame's canonical frame address, the sp at its entry). A function that
has not set up its frame yet (its first instructions, an assembly stub)
still has its caller's return address in ra: that caller is shown too. A
chain ends at a function a hart enters without a call (kernel/image.py
ENTRY_FUNCTIONS), at a value that is not a return into known code, or when
a frame does not lie above the one before it.

`frame N`, `up`, `down` select a frame; the selection holds while the
position stays where it was, and goes back to frame 0 after any move.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rvtrace.cpu.arch import ABI_NAMES, PAGE_SIZE, PRIV_U, SEPC, SV39_MAXVA
from rvtrace.errors import UserError
from rvtrace.kernel.image import ENTRY_FUNCTIONS

MAX_FRAMES = 64
MAX_FRAME_SIZE = 0x10000         # a frame pointer further than this above the last one: not a frame
# Where xv6-style kernels map the trampoline page in every address space (MAXVA - PGSIZE, Sv39).
TRAMPOLINE = SV39_MAXVA - PAGE_SIZE


@dataclass
class Frame:
    level: int
    pc: int                          # frame 0 (and a trap's user frame): the pc; others: a return address
    exact: bool                      # pc is an instruction about to run (not a return address)
    space: str                       # "kernel" | "user"
    program: str | None              # user frames: the program's name
    image: object                    # KernelImage of that code, or None
    function: str | None
    offset: int
    file: str | None
    line: int | None
    fp: int | None                   # s0 in this frame: its canonical frame address once set up
    sp: int | None
    pid: int | None
    regs: dict | None = field(default=None, repr=False)    # every register, where known (frame 0, traps)
    note: str = ""                   # "trap", "no frame yet", ...

    @property
    def lookup_pc(self) -> int:
        """The pc that names this frame's line: a return address is looked up at its call."""
        return self.pc if self.exact else self.pc - 1

    @property
    def name(self) -> str:
        if self.function is None:
            return "??"
        return f"{self.function}+{self.offset:#x}" if self.offset else self.function

    def register(self, name: str) -> int | None:
        """A register's value in this frame, when it is known (sp, fp, pc always; the rest in
        frame 0 and at a trap)."""
        if name == "pc":
            return self.pc
        if name in ("sp", "x2"):
            return self.sp
        if name in ("s0", "fp", "x8"):
            return self.fp
        if self.regs is not None:
            return self.regs.get(name)
        return None


# --- the selection -------------------------------------------------------------------------

def _here(session) -> tuple:
    return (session.icount, session.hart, session.event_number)


def frames(session) -> list[Frame]:
    """The frames at the current position (computed once per position)."""
    cached = session.__dict__.get("_frames_cache")
    if cached is not None and cached[0] == _here(session):
        return cached[1]
    got = _compute(session)
    session.__dict__["_frames_cache"] = (_here(session), got)
    return got


def selected_level(session) -> int:
    sel = session.__dict__.get("_frame_selected")
    if sel is None or sel[0] != _here(session):
        return 0
    return sel[1]


def select(session, level: int) -> Frame:
    fs = frames(session)
    if not fs:
        raise UserError("No stack.")
    if not 0 <= level < len(fs):
        raise UserError(f"no frame {level}: the stack has frames 0 to {len(fs) - 1}")
    session.__dict__["_frame_selected"] = (_here(session), level)
    return fs[level]


def selected_frame(session) -> Frame | None:
    fs = frames(session)
    if not fs:
        return None
    return fs[min(selected_level(session), len(fs) - 1)]


def selected_frame_space(session) -> str | None:
    """The space of an explicitly selected frame (None when frame 0 is implied)."""
    sel = session.__dict__.get("_frame_selected")
    if sel is None or sel[0] != _here(session) or sel[1] == 0:
        return None
    f = selected_frame(session)
    return f.space if f else None


# --- finding them ----------------------------------------------------------------------------

def _compute(session) -> list[Frame]:
    r = session.engine
    hart = session.hart
    regs = r.registers(hart)
    named = {n: regs[n] for n in ABI_NAMES}
    from rvtrace.debugger.scope import Scope
    scope = Scope(session)
    pid = scope.current_pid()
    prog = scope.user_program(pid)
    pc = regs["pc"]
    if regs["priv"] == PRIV_U:
        return _walk_user(session, prog, pid, pc, named, hart_reads=True)
    kernel = session.kernel
    if TRAMPOLINE <= pc < TRAMPOLINE + PAGE_SIZE:
        # The trampoline's first instructions: user registers are still live, the user pc in sepc.
        out = [_frame(0, pc, True, "kernel", None, kernel, _trampoline_pc(kernel, pc), named["s0"],
                      named["sp"], pid, named, "trap entry")]
        if prog is not None or pid:
            user_regs = dict(named, pc=r.csr(SEPC, hart))
            out += _walk_user(session, prog, pid, user_regs["pc"], user_regs, hart_reads=False,
                              first_level=1, note="trap")
        return out
    if kernel is None:
        return [_frame(0, pc, True, "kernel", None, None, pc, named["s0"], named["sp"], pid, named)]

    def read(va, n):
        try:
            return r.read_virtual(va, n, hart=hart)
        except UserError:
            return None
    out = _walk(kernel, pc, named, read, "kernel", None, pid, 0)
    if out[-1].function == "usertrap" and pid:
        trap = _trapframe_regs(session, pid)
        if trap is not None:
            out += _walk_user(session, prog, pid, trap["pc"], trap, hart_reads=False,
                              first_level=len(out), note="trap")
    return out


def _walk_user(session, prog, pid, pc, regs, hart_reads: bool, first_level: int = 0, note: str = ""):
    r = session.engine
    hart = session.hart

    def read(va, n):
        try:
            return r.read_virtual(va, n, hart=hart) if hart_reads else r.read_virtual(va, n, pid=pid)
        except UserError:
            return None
    name, img = prog if prog is not None else (None, None)
    if img is None:
        return [_frame(first_level, pc, True, "user", name, None, pc, regs.get("s0"), regs.get("sp"),
                       pid, regs, note)]
    out = _walk(img, pc, regs, read, "user", name, pid, first_level)
    out[0].note = note or out[0].note
    return out


def _walk(img, pc: int, regs: dict, read, space: str, program, pid, first_level: int) -> list[Frame]:
    fp, sp, ra = regs.get("s0") or 0, regs.get("sp"), regs.get("ra") or 0
    out = [_frame(first_level, pc, True, space, program, img, pc, fp, sp, pid, regs)]
    here = img.function_at(pc)
    saved = _read_pair(read, fp)
    ra_func = img.function_at(ra - 1) if ra else None
    if ra_func is not None and (here is None or ra_func[0] != here[0]) \
            and (saved is None or saved[1] != ra) and out[0].function not in ENTRY_FUNCTIONS:
        # Frame 0 has not saved its return address yet (its first instructions, or a leaf stub):
        # its caller is the function ra returns into, whose frame is still the one in fp.
        out[0].note = out[0].note or "no frame yet"
        out.append(_frame(first_level + 1, ra, False, space, program, img, ra - 1, fp, sp, pid, None))
    start = fp
    while len(out) < MAX_FRAMES and fp and fp % 8 == 0 and out[-1].function not in ENTRY_FUNCTIONS:
        pair = _read_pair(read, fp)
        if pair is None:
            break
        prev_fp, ret = pair
        if ret == 0 or img.function_at(ret - 1) is None:
            break                       # not a return into known code: the chain ends
        out.append(_frame(first_level + len(out), ret, False, space, program, img, ret - 1,
                          prev_fp, fp, pid, None))
        if not fp < prev_fp <= start + MAX_FRAME_SIZE:
            break
        fp = prev_fp
    return out


def _read_pair(read, fp: int):
    if not fp or fp % 8:
        return None
    raw = read(fp - 16, 16)
    if raw is None or len(raw) != 16:
        return None
    return int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:], "little")


def _frame(level, pc, exact, space, program, img, lookup, fp, sp, pid, regs, note="") -> Frame:
    f = img.function_at(lookup) if img is not None else None
    src = img.source_line(lookup) if img is not None else None
    offset = (f[1] + (0 if exact else 1)) if f else 0      # a return address: one past its call
    return Frame(level, pc, exact, space, program, img, f[0] if f else None, offset,
                 src[0] if src else None, src[1] if src else None, fp, sp, pid, regs, note)


def _trampoline_pc(kernel, pc: int) -> int:
    base = kernel.address_of("trampoline") if kernel is not None else None
    return pc - TRAMPOLINE + base if base is not None else pc


def _trapframe_regs(session, pid: int) -> dict | None:
    """The user registers a process's trapframe holds (saved when it entered the kernel)."""
    r = session.engine
    k = session.kernel
    proc = k.struct("proc") if k else None
    tf = k.struct("trapframe") if k else None
    if proc is None or tf is None or proc.offset("trapframe") is None:
        return None
    try:
        info = next((p for p in r.processes() if p.pid == pid), None)
        if info is None:
            return None
        addr = int.from_bytes(r.read_physical(info.addr + proc.offset("trapframe"), 8), "little")
        if not addr:
            return None
        out = {}
        for name in ABI_NAMES[1:] + ("epc",):
            off = tf.offset(name)
            if off is not None:
                out[name] = int.from_bytes(r.read_physical(addr + off, 8), "little")
    except UserError:
        return None
    if "epc" not in out:
        return None
    out["pc"] = out.pop("epc")
    out["zero"] = 0
    return out


def frame_registers(frame: Frame) -> dict:
    """Registers a frame knows: all of them for frame 0 and trap frames, else pc, sp and fp."""
    if frame.regs is not None:
        return dict(frame.regs, pc=frame.pc)
    return {"pc": frame.pc, "sp": frame.sp, "s0": frame.fp}

