"""What a C expression's names, registers, memory and types mean at the current position.

`Env(session)` binds the evaluator of cexpr.py to the selected frame:
- registers: the frame's (all of them in frame 0 and at a trap; pc, sp, fp
  in outer frames; CSRs from the hart);
- names: the frame's arguments and locals (DWARF; in an assembly stub
  without debug information, its caller's), then globals of the images in
  scope order (scope.py), or exactly `kernel:NAME` / `PROGRAM:NAME`;
- memory: read in the address space the value came from -- a user frame's
  process, else the current one (`Space`);
- types: base types, typedefs, `struct NAME` from those images' DWARF.

`evaluate(session, text)` and `render(session, tv, fmt)` are what the
commands call.
"""

from __future__ import annotations

from rvtrace.debugger import cexpr, frames as fr
from rvtrace.debugger.addresses import Address
from rvtrace.debugger.cexpr import BASE_TYPES, CExprError, TValue
from rvtrace.debugger.scope import KERNEL_WORD, Scope, split_qualifier
from rvtrace.debugger.values import CType, _ctype, _fmt_number, _text, _types
from rvtrace.errors import UserError
from rvtrace.kernel.image import dwarf_attr
from rvtrace.kernel.locals import function_scope, locate

FUNCTION = "function"


class Space:
    """Reads memory in one address space: a process's (by pid), or the position's own."""

    def __init__(self, session, pid: int | None = None, label: str = ""):
        self.s, self.pid, self.label = session, pid, label

    def read(self, addr: int, size: int) -> bytes:
        if self.pid is not None:
            try:
                return self.s.engine.read_virtual(addr, size, pid=self.pid)
            except UserError:
                raise UserError(f"cannot access memory at {addr:#x}: not mapped in pid {self.pid}'s "
                                "address space") from None
        return self.s.machine.read(Address(addr), size)


class Env:
    def __init__(self, session):
        self.s = session
        self.scope = Scope(session)
        try:
            self.frame = fr.selected_frame(session)
        except UserError:                  # no machine state to find frames in: globals only
            self.frame = None
        user_frame = self.frame is not None and self.frame.space == "user"
        in_user = self.scope.in_user_space() if self.frame is not None else False
        # A user frame seen from the kernel reads through its process's page table.
        self.default = Space(session, self.frame.pid if user_frame and not in_user else None)

    # --- registers ---

    def register(self, name: str) -> int:
        name = name.lower()
        if self.frame is not None and self.frame.level > 0:
            v = self.frame.register(name)
            if v is None:
                raise CExprError(f"${name} is not known in frame {self.frame.level} "
                                 "(only pc, sp and fp are kept across calls)")
            return v
        if self.frame is not None and self.frame.level == 0 and self.frame.regs is not None \
                and name in self.frame.regs and self.frame.note == "trap":
            return self.frame.regs[name]
        return self.s.machine.register_value(name)

    # --- names ---

    def lookup(self, text: str) -> TValue:
        qual, name = split_qualifier(text)
        if qual is None:
            local = self._local(name)
            if local is not None:
                return local
            images = [(label, img, space, prog) for label, img, space, prog in self.scope.images()]
        else:
            img = self.scope.program_image(qual)
            images = [(qual, img, "kernel" if qual == KERNEL_WORD else "user",
                       None if qual == KERNEL_WORD else qual)]
        for label, img, space, program in images:
            addr = img.address_of(name)
            if addr is None:
                continue
            return self._global(img, name, addr, space, program)
        where = " or ".join(label for label, *_ in images) or "this trace"
        hint = ""
        if self.frame is not None and self.frame.function:
            hint = f" (no local of that name in {self.frame.function} either)"
        raise CExprError(f"no symbol {name!r} in {where}{hint}")

    def _global(self, img, name: str, addr: int, space: str, program) -> TValue:
        ctype = _types(img).get(name)
        sym_space = self.default
        if space == "user":
            pid = self.scope.current_pid()
            sym_space = Space(self.s, pid if not self.scope.in_user_space() else None)
        if ctype is None:
            if img.function_at(addr) is not None and img.function_at(addr)[1] == 0:
                return TValue(CType(FUNCTION, 1, "function"), address=addr, space=sym_space, name=name)
            size = img.size_of_symbol(name) or 8
            ctype = CType("uint" if size in (1, 2, 4, 8) else "other", size, f"<{size} bytes>")
        return TValue(ctype, address=addr, space=sym_space, name=name)

    def _local(self, name: str) -> TValue | None:
        for frame in self._frames_for_locals():
            scope = function_scope(frame.image, frame.lookup_pc)
            if scope is None:
                continue
            for var in scope.variables:
                if var.name == name:
                    return self._variable(frame, scope, var)
            return None
        return None

    def _frames_for_locals(self):
        """The selected frame; code without DWARF (a syscall stub, the trampoline) defers to the
        first caller that has it."""
        if self.frame is None:
            return []
        fs = fr.frames(self.s)
        out = [self.frame]
        for f in fs[self.frame.level + 1:]:
            if function_scope(out[-1].image, out[-1].lookup_pc) is not None:
                break
            out.append(f)
        return out

    def _variable(self, frame, scope, var) -> TValue:
        regs = frame_regs_for_dwarf(frame)
        place = locate(scope, var, frame.lookup_pc, regs, frame.image)
        ctype = _ctype(var.die.get_DIE_from_attribute("DW_AT_type"), 0)
        space = Space(self.s, frame.pid) if frame.space == "user" and not self.scope.in_user_space() \
            else Space(self.s)
        if place.kind == "memory":
            return TValue(ctype, address=place.value, space=space, name=var.name)
        if place.kind == "value":
            return TValue(ctype, value=place.value, space=space, name=var.name)
        if place.kind == "register":
            reg = place.value
            from rvtrace.cpu.arch import ABI_NAMES
            v = regs.get(ABI_NAMES[reg]) if reg < 32 else None
            if v is None:
                raise CExprError(f"{var.name} is kept in register {ABI_NAMES[reg] if reg < 32 else reg}, "
                                 f"which frame {frame.level} does not know")
            return TValue(ctype, value=cexpr._wrap(v, ctype), space=space, name=var.name)
        raise CExprError(f"{var.name}: {place.value}")

    # --- types ---

    def _type_images(self):
        return [img for _, img, _, _ in self.scope.images()]

    def is_type(self, word: str) -> bool:
        return word in BASE_TYPES or any(word in _type_index(img) for img in self._type_images())

    def type_named(self, spec: str) -> CType:
        words = spec.replace("*", " ").split()
        stars = spec.count("*")
        base_name = " ".join(words)
        t = None
        if words and words[0] in ("struct", "union", "enum"):
            key = " ".join(words[:2])
        else:
            key = base_name
        for img in self._type_images():
            die = _type_index(img).get(key)
            if die is not None:
                t = _ctype(die, 0)
                if key in ("struct", "union") or words[0] in ("struct", "union"):
                    pass
                break
        if t is None:
            t = BASE_TYPES.get(base_name)
        if t is None:
            raise CExprError(f"no type {base_name!r} in the kernel or the current program")
        for _ in range(stars):
            t = CType("pointer", 8, f"{t.name} *", t)
        return t

    def space_of(self, tv: TValue):
        return tv.space if tv.space is not None else self.default


def frame_regs_for_dwarf(frame) -> dict:
    regs = dict(frame.regs) if frame.regs is not None else {}
    regs["sp"] = frame.sp
    regs["s0"] = frame.fp
    regs["cfa"] = frame.fp
    return regs


def _type_index(img) -> dict:
    cache = img.__dict__.get("_type_name_index")
    if cache is None:
        cache = {}
        try:
            if img.has_dwarf:
                for cu in img.elf.get_dwarf_info().iter_CUs():
                    for die in cu.get_top_DIE().iter_children():
                        name = dwarf_attr(die, "DW_AT_name")
                        if not name or "DW_AT_declaration" in die.attributes:
                            continue
                        if die.tag in ("DW_TAG_base_type", "DW_TAG_typedef"):
                            cache.setdefault(name, die)
                        elif die.tag == "DW_TAG_structure_type":
                            cache.setdefault(f"struct {name}", die)
                        elif die.tag == "DW_TAG_union_type":
                            cache.setdefault(f"union {name}", die)
                        elif die.tag == "DW_TAG_enumeration_type":
                            cache.setdefault(f"enum {name}", die)
        except Exception:             # unreadable DWARF: casts to its types are refused
            cache = {}
        img.__dict__["_type_name_index"] = cache
    return cache


# --- what commands call -------------------------------------------------------------------------

def evaluate(session, text: str) -> TValue:
    env = Env(session)
    tree = cexpr.parse(text, env.is_type)
    return cexpr.Evaluator(env).eval(tree)


def scalar_of(session, tv: TValue) -> int:
    return cexpr.Evaluator(Env(session)).scalar(tv)


def render(session, tv: TValue, fmt: str = "") -> str:
    """The value as print shows it: numbers, pointers with symbols, strings, structs."""
    t = tv.ctype
    if t.kind == FUNCTION:
        name = session.describe_address(tv.address)
        return _fmt_number(tv.address, fmt, 8) if fmt else f"{{function}} {name}"
    if tv.value is not None:
        if t.kind == "pointer" and not fmt:
            v = tv.value & (2**64 - 1)
            if t.name == "void (*)()":
                return session.describe_address(v)
            name = session.symbolize(v) if v else None
            return f"({t.name}) {v:#x}" + (f" <{name}>" if name else "")
        if fmt:
            return _fmt_number(tv.value, fmt, t.size if t.size in (1, 2, 4, 8) else 8)
        return _text(session, None, t, tv.value.to_bytes(8, "little", signed=tv.value < 0)[:max(t.size, 1)]
                     if t.size in (1, 2, 4, 8) else b"", "", 0) if t.kind in ("char", "bool", "enum") \
            else str(tv.value)
    data = tv.space.read(tv.address, max(t.size, 1)) if t.size else b""
    return _text(session, tv.address, t, data, fmt, 0)
