"""Data, as gdb shows it: info locals, info args, ptype, whatis, display, undisplay,
info display, info symbol.

Locals and arguments are those of the selected frame (`frame N`, `up`, `down`),
read from DWARF; an assembly stub without debug information (a system
call's stub in usys.S) shows its caller's. Displays are expressions printed
after every stop: the move commands call `show_displays(session)`.
"""

from __future__ import annotations

from rvtrace.debugger import frames as fr
from rvtrace.debugger.cenv import Env, evaluate, frame_regs_for_dwarf, render
from rvtrace.debugger.commands import INFO, command
from rvtrace.debugger.values import CType
from rvtrace.errors import UserError
from rvtrace.kernel.locals import function_scope, locate


# --- locals and arguments ------------------------------------------------------------------

def _scope_frame(session):
    """(frame, its DWARF scope) for locals: the selected frame, or a stub's caller."""
    frame = fr.selected_frame(session)
    if frame is None:
        raise UserError("No stack.")
    for f in Env(session)._frames_for_locals():
        scope = function_scope(f.image, f.lookup_pc)
        if scope is not None:
            return f, scope
    what = frame.name if frame.function else f"{frame.pc:#x}"
    raise UserError(f"No symbol table info available: {what} has no DWARF debug information")


def _show_variables(session, want_args: bool) -> None:
    frame, scope = _scope_frame(session)
    selected = fr.selected_frame(session)
    if frame is not selected:
        session.printer.line([("class:dim", f"({selected.name} has no debug information; "
                                            f"frame {frame.level}, {frame.name}:)")])
    chosen = [v for v in scope.variables if v.is_arg == want_args]
    if not chosen:
        session.printer.line("No arguments." if want_args else "No locals.")
        return
    env = Env(session)
    regs = frame_regs_for_dwarf(frame)
    for var in chosen:
        try:
            tv = env._variable(frame, scope, var)
            text = render(session, tv)
        except UserError as exc:
            place = locate(scope, var, frame.lookup_pc, regs, frame.image)
            text = f"<{place.value if place.kind == 'unavailable' else exc}>"
        session.printer.line(f"{var.name} = {text}")


@command("locals", usage="info locals", table=INFO,
         summary="the local variables of the selected frame, with their values (DWARF)")
def cmd_info_locals(session, arg):
    _show_variables(session, want_args=False)


@command("args", usage="info args", table=INFO,
         summary="the arguments of the selected frame's function, with their values (DWARF)")
def cmd_info_args(session, arg):
    _show_variables(session, want_args=True)


# --- types -------------------------------------------------------------------------------

def type_text(ctype: CType, expand: bool = True) -> str:
    """A C declaration of the type; structs member by member (one level)."""
    if ctype.kind == "struct" and expand and ctype.members:
        rows = [f"{ctype.name} {{"]
        for name, _, mt in ctype.members:
            rows.append(f"    {_declare(mt, name)};")
        rows.append("}")
        return "\n".join(rows)
    if ctype.kind == "enum" and expand and ctype.enumerators:
        return f"{ctype.name} {{" + ", ".join(ctype.enumerators[k] for k in sorted(ctype.enumerators)) + "}"
    if expand and ctype.kind == "pointer" and ctype.target is not None:
        return f"{ctype.target.name} *"          # a typedef'd pointer (pagetable_t): what it points to
    if expand and ctype.kind == "array" and ctype.target is not None:
        return f"{ctype.target.name} [{ctype.count}]"
    return ctype.name


def _declare(t: CType, name: str) -> str:
    if t.kind == "array" and t.target is not None:
        return f"{t.target.name} {name}[{t.count}]"
    return f"{t.name} {name}"


def _type_of(session, text: str) -> CType:
    env = Env(session)
    words = text.strip()
    if words.startswith(("struct ", "union ", "enum ")) or env.is_type(words.rstrip("* ")):
        return env.type_named(words)
    return evaluate(session, text).ctype


@command("ptype", usage="ptype EXPR | ptype TYPE", group="looking",
         summary="the type of an expression or a type name, structs member by member")
def cmd_ptype(session, arg):
    if not arg.strip():
        raise UserError("ptype what? e.g. ptype struct proc, ptype cpus[0], ptype status")
    session.printer.text("type = " + type_text(_type_of(session, arg)))


@command("whatis", usage="whatis EXPR", group="looking",
         summary="the type of an expression, by name only")
def cmd_whatis(session, arg):
    if not arg.strip():
        raise UserError("whatis what? e.g. whatis proc[0].state")
    session.printer.line("type = " + type_text(_type_of(session, arg), expand=False))


# --- display ----------------------------------------------------------------------------

def _displays(session) -> dict:
    return session.__dict__.setdefault("_displays", {})


def show_displays(session) -> None:
    """Print every display expression (gdb prints them after each stop). Move commands call this."""
    items = _displays(session)
    for n, (fmt, text) in sorted(items.items()):
        _show_one(session, n, fmt, text)


def _show_one(session, n: int, fmt: str, text: str) -> None:
    label = f"{n}: {('/' + fmt + ' ') if fmt else ''}{text} = "
    try:
        value = render(session, evaluate(session, text), fmt)
    except UserError as exc:
        value = f"<{exc}>"
    session.printer.line(label + value)


@command("display", "disp", usage="display[/FMT] EXPR", group="looking",
         summary="print EXPR now and after every stop (without EXPR: show them all)")
def cmd_display(session, arg):
    from rvtrace.debugger.cmd_state import _split_fmt
    fmt, text = _split_fmt(arg)
    if not text:
        show_displays(session)
        return
    from rvtrace.debugger import cexpr
    cexpr.parse(text, Env(session).is_type)           # refuse what does not parse, now
    counter = session.__dict__.get("_display_next", 1)
    session.__dict__["_display_next"] = counter + 1
    _displays(session)[counter] = (fmt, text)
    _show_one(session, counter, fmt, text)


@command("undisplay", usage="undisplay [N...]", group="looking",
         summary="stop displaying expressions N... (all without N)")
def cmd_undisplay(session, arg):
    items = _displays(session)
    if not arg.strip():
        items.clear()
        return
    for word in arg.replace(",", " ").split():
        try:
            n = int(word)
        except ValueError:
            raise UserError(f"undisplay N: {word!r} is not a display number") from None
        if n not in items:
            raise UserError(f"no display number {n} (see `info display`)")
        del items[n]


@command("display", usage="info display", table=INFO,
         summary="the expressions displayed after every stop")
def cmd_info_display(session, arg):
    items = _displays(session)
    if not items:
        session.printer.line("There are no auto-display expressions now.")
        return
    session.printer.line("Auto-display expressions now in effect:")
    for n, (fmt, text) in sorted(items.items()):
        session.printer.line(f"{n}:   {('/' + fmt + ' ') if fmt else ''}{text}")


# --- symbols -----------------------------------------------------------------------------

@command("symbol", usage="info symbol ADDR", table=INFO,
         summary="which symbol an address is in: `main + 12 in section .text of forkexec`")
def cmd_info_symbol(session, arg):
    from rvtrace.debugger.addresses import parse_address
    from rvtrace.debugger.scope import Scope
    if not arg.strip():
        raise UserError("info symbol ADDR: which address? e.g. info symbol $pc")
    addr = parse_address(session, arg).value
    if fr.TRAMPOLINE <= addr < fr.TRAMPOLINE + 4096 and session.kernel is not None:
        addr = fr._trampoline_pc(session.kernel, addr)     # the kernel's trampoline page, mapped high
    for label, img, space, program in Scope(session).images():
        hit = _symbol_at(img, addr)
        if hit is not None:
            name, off, section = hit
            where = f"+ {off} " if off else ""
            of = f" of {program}" if program else " of the kernel"
            session.printer.line(f"{name} {where}in section {section}{of}")
            return
    session.printer.line(f"No symbol matches {arg.strip()}.")


def _symbol_at(img, addr: int):
    f = img.function_at(addr)
    if f is not None:
        return f[0], f[1], ".text"
    best = None
    for name, (start, size) in img.symbols.items():
        if size and start <= addr < start + size and (best is None or start > best[1]):
            best = (name, start)
    if best is None:
        return None
    section = "?"
    for sec in img.elf.iter_sections():
        a, n = sec["sh_addr"], sec["sh_size"]
        if sec["sh_flags"] & 2 and a <= addr < a + n:
            section = sec.name
            break
    return best[0], addr - best[1], section

