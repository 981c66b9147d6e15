"""Breakpoint commands: break, tbreak, delete, disable, enable, condition, watch, rwatch,
info breakpoints."""

from __future__ import annotations

from rvtrace.debugger.breakpoints import parse_spec, set_condition
from rvtrace.debugger.commands import INFO, command
from rvtrace.errors import UserError
from rvtrace.trace.events import Kind

BREAK_DETAILS = """
Event breakpoints (found in the event index: instant):
  break exec [PROGRAM]          a process replaced its image (argv shown)
  break fork | break exit       process lifecycle
  break syscall [NAME...]       entry to any (or the named) system call
  break NAME                    entry to system call NAME: break write, break wait, ...
  break pagefault [store|load|exec|cow]
  break switch [to PID|from PID]
  break interrupt [timer|disk|uart|software|external]
  break output "TEXT"           when the console has just printed TEXT
  break disk [read|write]       a disk request
  break console                 every console byte
Instruction breakpoints (found by re-executing the machine):
  break *ADDR                   a hart is about to execute ADDR (kernel or user)
  break FUNC                    ... the first instruction of kernel function FUNC
Conditions: append `if COND`, e.g. `break write if pid == 3 and fd == 1`.
  COND uses ==, !=, <, >, <=, >=, and, or, not, parentheses, numbers and "strings" over
  the event's fields: pid, name, hart, icount, event, kind, and the payload (syscall
  arguments by name -- fd, n, buf, path, argv -- or arg0..arg5; va, cause; from, to,
  reason; irq, device; child, status; data). A condition on a call's return value
  (`ret`, `out`) stops where the call returns: `break wait if ret == -1`. A field the
  stopping events do not have is refused, not silently false.
  Instruction breakpoints take pid, name, hart, pc, icount, priv, or a C expression over
  registers and globals at that instruction: `break kerneltrap if ticks > 3`,
  `break printf if $a0 != 0`, `break sys_write if cpus[0].proc->pid == 3`.
"""


@command("break", "b", "br", "catch", usage="break SPEC [if COND]", group="breakpoints",
         summary="stop at an event (exec, write, pagefault, ...) or an instruction (*ADDR, FUNC)",
         details=BREAK_DETAILS, completes=("break",))
def cmd_break(session, arg):
    _add(session, arg, temporary=False)


@command("tbreak", "tb", usage="tbreak SPEC [if COND]", group="breakpoints",
         summary="like break, deleted after it first stops", details="See `help break`.",
         completes=("break",))
def cmd_tbreak(session, arg):
    _add(session, arg, temporary=True)


def _add(session, arg, temporary):
    from rvtrace.debugger.scope import Scope
    from rvtrace.debugger.livecond import parse_condition
    bp = parse_spec(arg, Scope(session).lookup, temporary, lambda text: parse_condition(text, session),
                    calls=session.calls)
    session.add_breakpoint(bp)
    kind = "Temporary breakpoint" if temporary else ("Breakpoint" if bp.is_pc else "Catchpoint")
    where = f" at {session.describe_address(bp.pcs[0])}" if bp.is_pc else f" ({bp.what})"
    if bp.program:
        where = f" at {bp.pcs[0]:#x} <{bp.what.split(':')[-1]}> in {bp.program}"
    elif bp.space == "kernel" and bp.is_pc:
        where += " in the kernel"
    cond = f" if {bp.condition}" if bp.condition else ""
    note = ""
    if bp.output_text is not None and not bp.events:
        note = " -- the console never prints that text in this trace"
    elif bp.kinds == {Kind.SYSCALL_EXIT}:
        note = " -- stops where the call returns"
    session.printer.line(f"{kind} {bp.number}{where}{cond}{note}")


def _numbers(arg: str) -> list[int] | None:
    if not arg.strip():
        return None
    out = []
    for word in arg.replace(",", " ").split():
        if "-" in word.strip("-"):
            lo, hi = word.split("-", 1)
            out.extend(range(_num(lo), _num(hi) + 1))
        else:
            out.append(_num(word))
    return out


def _num(word: str) -> int:
    try:
        return int(word.lstrip("#$"))
    except ValueError:
        raise UserError(f"expected breakpoint numbers, got {word!r}") from None


@command("delete", "d", usage="delete [N...]", group="breakpoints",
         summary="delete breakpoints N... (all of them without N)")
def cmd_delete(session, arg):
    session.breakpoints.delete(_numbers(arg))


@command("disable", "dis", usage="disable [N...]", group="breakpoints",
         summary="disable breakpoints N... (all without N)")
def cmd_disable(session, arg):
    session.breakpoints.set_enabled(_numbers(arg), False)


@command("enable", "en", usage="enable [N...]", group="breakpoints",
         summary="enable breakpoints N... (all without N)")
def cmd_enable(session, arg):
    session.breakpoints.set_enabled(_numbers(arg), True)


@command("condition", usage="condition N [COND]", group="breakpoints",
         summary="set (or, without COND, remove) the condition of breakpoint N")
def cmd_condition(session, arg):
    parts = arg.split(None, 1)
    if not parts:
        raise UserError("condition N [COND]: which breakpoint?")
    bp = session.breakpoints.get(_num(parts[0]))
    if len(parts) == 1:
        bp.condition = None
        session.printer.line(f"Breakpoint {bp.number} now unconditional.")
        return
    if bp.is_watch:
        raise UserError("watchpoints take no condition here: they stop at every change")
    from rvtrace.debugger.livecond import parse_condition
    set_condition(bp, parts[1], lambda text: parse_condition(text, session))


@command("watch", usage="watch ADDR [LEN]", group="breakpoints",
         summary="stop where memory at ADDR is written (continue and reverse-continue)",
         details="ADDR is a number, a kernel symbol, or phys:ADDR; LEN bytes (default 8).\n"
                 "Virtual addresses are read in the current process's address space.")
def cmd_watch(session, arg):
    session.add_watchpoint(arg, "write")


@command("rwatch", usage="rwatch ADDR [LEN]", group="breakpoints",
         summary="stop where memory at ADDR is read (continue and reverse-continue)")
def cmd_rwatch(session, arg):
    session.add_watchpoint(arg, "read")


@command("breakpoints", "break", "b", usage="info breakpoints", table=INFO,
         summary="list breakpoints and watchpoints: number, kind, enabled, what, condition, hits")
def cmd_info_breakpoints(session, arg):
    p = session.printer
    items = list(session.breakpoints.items.values())
    if not items:
        p.line("No breakpoints or watchpoints.")
        return
    p.line([("class:heading", f"{'Num':<7} {'Type':<16} {'Disp':<4} {'Enb':<3} What")])
    for bp in items:
        what = bp.what
        if bp.is_pc:
            what = f"{bp.what} at {session.describe_address(bp.pcs[0])}"
            if bp.program:
                what = f"{bp.what} at {bp.pcs[0]:#x} in {bp.program}"
        disp = "del" if bp.temporary else "keep"
        p.line(f"{bp.number:<7} {bp.kind_label:<16} {disp:<4} {'y' if bp.enabled else 'n':<3} {what}")
        if bp.condition is not None:
            p.line(f"\tstop only if {bp.condition}")
        if bp.hits:
            p.line(f"\tbreakpoint already hit {bp.hits} time{'s' if bp.hits != 1 else ''}")
