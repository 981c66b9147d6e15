"""C conditions on instruction breakpoints: `break printf if $a0 != 0`, `break kerneltrap if
ticks > 10`, `break *0x80001c2e if cpus[0].proc->pid == 3`.

A condition that is not one over the breakpoint's own fields (pid, name,
hart, pc, icount, priv) is read as a C expression (cexpr.py) and evaluated
at the very instruction the search stops at, on the live hart: its
registers, its memory through its own page table (the arch.py walker over
RAM), globals of the kernel and of the program the hart runs. Locals need
frames, which exist only at a position: use `print` once stopped. A
condition that cannot be evaluated there (a NULL pointer, say) stops, so
you see where it failed rather than missing the stop.
"""

from __future__ import annotations

from rvtrace.cpu.arch import (CSR_NUMBERS, PRIV_M, PRIV_U, REGISTER_NUMBER, SATP_MODE_BARE, ram_reader,
                              satp_mode, sv39_translate)
from rvtrace.debugger import cexpr
from rvtrace.debugger.cenv import Env
from rvtrace.debugger.cexpr import CExprError, TValue
from rvtrace.errors import UserError

LIVE = "_hart"          # the key under which the probe passes the hart to a condition


class LiveEnv(Env):
    """An Env over a hart in the middle of a search (not the session's position)."""

    def __init__(self, session, hart, pid: int | None, now: int):
        # Not Env.__init__: that looks at the session's position (frames, scope), and asking for
        # it would re-execute the machine in the middle of this search.
        from rvtrace.debugger.scope import Scope
        self.s, self.scope, self.frame, self.default = session, Scope(session), None, self
        self.hart, self.pid, self.now = hart, pid, now

    def _type_images(self):
        return [img for img in (self._program(), self.s.kernel) if img is not None]

    def register(self, name: str) -> int:
        name = name.lower()
        h = self.hart
        if name == "pc":
            return h.pc
        if name == "priv":
            return h.priv
        if name in REGISTER_NUMBER:
            return h.x[REGISTER_NUMBER[name]]
        if name in CSR_NUMBERS:
            return h.read_csr(CSR_NUMBERS[name])
        raise CExprError(f"unknown register ${name}")

    def read(self, addr: int, size: int) -> bytes:
        h = self.hart
        read = ram_reader(h.bus.ram, h.bus.ram_base)
        satp = h.satp if h.priv != PRIV_M else 0
        pa = addr if satp_mode(satp) == SATP_MODE_BARE else sv39_translate(read, satp, addr)
        if pa is None and addr >= h.bus.ram_base:
            pa = addr                               # kernel globals: RAM is mapped one to one
        data = read(pa, size) if pa is not None else None
        if data is None:
            raise CExprError(f"cannot access memory at {addr:#x}")
        return data

    def lookup(self, text: str) -> TValue:
        from rvtrace.debugger.scope import split_qualifier
        qual, name = split_qualifier(text)
        images = []
        if qual is not None:
            images.append(self.scope.program_image(qual))
        else:
            user = self._program()
            kernel = self.s.kernel
            order = [user, kernel] if self.hart.priv == PRIV_U else [kernel, user]
            images = [img for img in order if img is not None]
        for img in images:
            addr = img.address_of(name)
            if addr is not None:
                tv = self._global(img, name, addr, "kernel", None)
                tv.space = self
                return tv
        raise CExprError(f"no global {name!r} (conditions of instruction breakpoints see registers "
                         "and globals; locals need `print` once stopped)")

    def _program(self):
        if not self.pid:
            return None
        try:
            got = self.s.engine.programs.image_of(self.pid, self.now)
        except UserError:
            return None
        return got[1] if got else None

    def space_of(self, tv):
        return self


class CCondition:
    """A parsed C condition; `cond(fields)` evaluates it on `fields[LIVE]`, the hart."""

    names = frozenset()

    def __init__(self, text: str, tree, session):
        self.text, self.tree, self.s = text.strip(), tree, session

    def __call__(self, fields) -> bool:
        hart = fields.get(LIVE)
        if hart is None:
            return False
        env = LiveEnv(self.s, hart, fields.get("pid") or None, fields.get("icount", 0))
        ev = cexpr.Evaluator(env)
        try:
            return ev.scalar(ev.eval(self.tree)) != 0
        except UserError:
            return True                 # cannot be evaluated here: stop and let the user look

    def __str__(self) -> str:
        return self.text


def parse_condition(text: str, session) -> CCondition:
    from rvtrace.debugger.scope import Scope
    scope = Scope(session)
    images = [img for _, img, _, _ in scope.images()]

    def is_type(word):
        from rvtrace.debugger.cenv import BASE_TYPES, _type_index
        return word in BASE_TYPES or any(word in _type_index(img) for img in images)
    try:
        tree = cexpr.parse(text, is_type)
    except CExprError as exc:
        raise CExprError(f"bad condition {text.strip()!r}: {exc}") from None
    _check_names(tree, images, scope, text)
    return CCondition(text, tree, session)


def _check_names(tree, images, scope, text: str) -> None:
    """Refuse now a register or a global that does not exist, rather than never matching."""
    from rvtrace.debugger.scope import split_qualifier
    if not isinstance(tree, tuple):
        return
    if tree[0] == "reg":
        name = tree[1].lower()
        if name not in REGISTER_NUMBER and name not in CSR_NUMBERS and name not in ("pc", "priv"):
            raise CExprError(f"bad condition {text.strip()!r}: no register ${tree[1]}")
    elif tree[0] == "name":
        qual, name = split_qualifier(tree[1])
        where = [scope.program_image(qual)] if qual else images
        if not any(img.address_of(name) is not None for img in where):
            raise CExprError(f"bad condition {text.strip()!r}: no global {tree[1]!r} in "
                             f"{qual or 'the kernel or the current program'} (fields here: pid, name, "
                             "hart, pc, icount, priv; or C over registers and globals)")
    for part in tree[1:]:
        _check_names(part, images, scope, text)
