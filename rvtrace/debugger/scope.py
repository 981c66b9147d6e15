"""What a name means here: symbols, source and memory follow the current address space.

At any position two images can answer for a name: the kernel, and the
program the current process runs (read from the disk embedded in the
trace). When the hart runs that process's user code -- or still stands on
its address space, as at the first instruction of a trap -- or a user frame
is selected, the program answers first; otherwise the kernel does. A
qualifier says which one you mean: `kernel:printf`, `forkexec:main`.

    scope = Scope(session)
    scope.lookup("printf")        -> Symbol(address, image, space "user", program "forkexec", name)
    scope.lookup("kernel:printf") -> the kernel's
    scope.images()                -> [(label, image, space, program)] in lookup order
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rvtrace.cpu.arch import PRIV_U, SATP, SATP_MODE_SV39, SATP_PPN_MASK, satp_mode
from rvtrace.errors import UserError

QUALIFIED = re.compile(r"^([A-Za-z_][\w.-]*):([A-Za-z_]\w*)$")
KERNEL_WORD = "kernel"


@dataclass(frozen=True)
class Symbol:
    name: str
    address: int
    image: object              # KernelImage
    space: str                 # "kernel" | "user"
    program: str | None        # the user program's name (None for the kernel)

    @property
    def label(self) -> str:
        return self.program or KERNEL_WORD


def split_qualifier(text: str) -> tuple[str | None, str]:
    """`forkexec:main` -> ("forkexec", "main"); `main` -> (None, "main")."""
    m = QUALIFIED.match(text.strip())
    if m and m.group(1) not in ("phys", "p", "physical"):
        return m.group(1), m.group(2)
    return None, text.strip()


class Scope:
    def __init__(self, session):
        self.s = session

    # --- the images that answer ------------------------------------------------------

    @property
    def kernel(self):
        return self.s.kernel

    def current_pid(self) -> int | None:
        r = self.s.engine
        try:
            pid = r.current_pid(self.s.hart)
        except UserError:
            pid = None
        if not pid and self.s.event is not None:
            pid = self.s.event.pid or None
        return pid

    def user_program(self, pid: int | None = None):
        """(program name, KernelImage) of what `pid` (the current process) runs now, or None."""
        pid = pid if pid is not None else self.current_pid()
        if not pid:
            return None
        got = self.s.engine.programs.image_of(pid, self.s.icount)
        if got is None:
            return None
        path, img = got
        return path.rsplit("/", 1)[-1], img

    def program_image(self, name: str):
        """The image of a program named on the command line (`forkexec:main`), or the kernel."""
        if name == KERNEL_WORD:
            if self.kernel is None:
                raise UserError("this trace has no kernel symbols")
            return self.kernel
        cur = self.user_program()
        if cur is not None and cur[0] == name:
            return cur[1]
        cache = self.s.__dict__.setdefault("_program_images", {})
        if name not in cache:
            cache[name] = _load_program(self.s, name)
        if cache[name] is None:
            raise UserError(f"no program {name!r} on the recorded disk (qualify with a program name "
                            "such as forkexec:main, or kernel:NAME)")
        return cache[name]

    def user_first(self) -> bool:
        """True when names mean the current program's first: the hart runs user code, stands on
        a user address space (a trap's first instructions), or a user frame is selected."""
        from rvtrace.debugger.frames import selected_frame_space
        space = selected_frame_space(self.s)
        if space is not None:
            return space == "user"
        return self.in_user_space()

    def in_user_space(self) -> bool:
        try:
            regs = self.s.engine.registers(self.s.hart)
        except UserError:
            return False
        if regs["priv"] == PRIV_U:
            return True
        return self._satp_is_users()

    def _satp_is_users(self) -> bool:
        k = self.kernel
        addr = k.address_of("kernel_pagetable") if k else None
        if addr is None:
            return False
        try:
            satp = self.s.engine.csr(SATP, self.s.hart)
            root = int.from_bytes(self.s.engine.read_physical(addr, 8), "little")
        except UserError:
            return False
        return satp_mode(satp) == SATP_MODE_SV39 and root != 0 and (satp & SATP_PPN_MASK) != root >> 12

    def images(self) -> list[tuple[str, object, str, str | None]]:
        """(label, image, space, program) in the order names are looked up."""
        out = []
        if self.kernel is not None:
            out.append((KERNEL_WORD, self.kernel, "kernel", None))
        prog = self.user_program()
        if prog is not None:
            user = (prog[0], prog[1], "user", prog[0])
            out.insert(0 if self.user_first() else len(out), user)
        return out

    # --- names -------------------------------------------------------------------------

    def lookup(self, text: str) -> Symbol | None:
        """The symbol a (possibly qualified) name means here, or None."""
        qual, name = split_qualifier(text)
        if qual is not None:
            img = self.program_image(qual)
            addr = img.address_of(name)
            if addr is None:
                return None
            space = "kernel" if qual == KERNEL_WORD else "user"
            return Symbol(name, addr, img, space, None if space == "kernel" else qual)
        for label, img, space, program in self.images():
            addr = img.address_of(name)
            if addr is not None:
                return Symbol(name, addr, img, space, program)
        return None


def _load_program(session, name: str):
    from rvtrace.fs.image import DiskImage
    from rvtrace.kernel.image import KernelImage
    data = session.trace.header.disk_image()
    if data is None:
        return None
    try:
        disk = DiskImage(data)
        return KernelImage(disk.read_file("/" + name.lstrip("/")))
    except Exception:           # not on the disk, or not an ELF: "no such program"
        return None
