"""Looking at the machine: info registers, print, x, info procs (frames: cmd_frames.py).

All of them read the re-executed machine at the current instruction count
through `session.machine` (rvtrace/debugger/machine.py).
"""

from __future__ import annotations

from rvtrace.debugger import xformat
from rvtrace.debugger.addresses import ABI_NAMES, parse_address
from rvtrace.debugger.commands import INFO, command
from rvtrace.debugger.eventtext import pid_style
from rvtrace.errors import UserError

PRIV_NAMES = {0: "U (user)", 1: "S (supervisor)", 3: "M (machine)"}
INTERESTING_CSRS = ("sstatus", "sepc", "scause", "stval", "satp", "stvec", "sscratch", "sie", "sip")


@command("registers", "r", "reg", usage="info registers [REG...]", table=INFO,
         summary="the current hart's registers (pc, x1..x31, privilege, main CSRs), or the named ones",
         details="Names: pc, ra, sp, a0, x5, s0/fp, ... and CSRs (sstatus, sepc, satp, mstatus, ...).")
def cmd_info_registers(session, arg):
    m = session.machine
    p = session.printer
    names = arg.replace(",", " ").replace("$", "").split()
    if names:
        for name in names:
            value = m.register_value(name)
            p.line(_register_row(session, name, value))
        return
    hart = m.hart
    regs = m.registers()
    for i in range(1, 32):
        p.line(_register_row(session, ABI_NAMES[i], regs[i]))
    p.line(_register_row(session, "pc", m.pc()))
    p.line(f"{'priv':<10} {PRIV_NAMES.get(m.priv(), m.priv())}")
    for csr in INTERESTING_CSRS:
        value = m.csr(csr)
        if value is not None:
            p.line(_register_row(session, csr, value, plain=csr not in ("sepc", "stvec")))
    p.line([("class:dim", f"(hart {hart}, icount {session.icount})")])


def _register_row(session, name: str, value: int, plain: bool = False):
    if name in ("pc", "ra", "sepc", "mepc", "stvec", "mtvec"):
        shown = _code_address(session, value)
    elif plain or name in CSR_LIKE:
        shown = ""
    else:
        shown = str(_signed(value))
    return [("", f"{name:<10} "), ("class:address", f"{value:#018x}"), ("", f"  {shown}" if shown else "")]


CSR_LIKE = frozenset(INTERESTING_CSRS) | {"mstatus", "mie", "mip", "satp", "medeleg", "mideleg", "misa",
                                          "mcause", "mtval", "mscratch", "menvcfg", "priv"}


def _code_address(session, value: int) -> str:
    name = session.symbolize(value) or session.machine.user_symbolize(value)
    return f"<{name}>" if name else f"{value:#x}"


def _signed(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


@command("print", "p", "inspect", "output-value", usage="print[/FMT] EXPR", group="looking",
         summary="a C expression: registers, locals, globals, casts, *, &, ->, ., [] ($sp + 8, *cpus[0].proc)",
         details="FMT as in gdb: x hex, d decimal, u unsigned, t binary, c char, a address.\n"
                 "Names are the selected frame's locals and arguments, then globals of the current\n"
                 "program (in user mode) and the kernel; `kernel:NAME` or `PROGRAM:NAME` choose.\n"
                 "Values are typed by DWARF: integers and pointers print as values, arrays of char\n"
                 "as strings, structs member by member.\n"
                 "print $pc, print/x $a0, print $sp + 8, print ticks, print proc[1].name, print &proc,\n"
                 "print *cpus[0].proc, print (struct proc *) $a0, print status, print kernel:printf")
def cmd_print(session, arg):
    from rvtrace.debugger.cenv import evaluate, render
    fmt, expr = _split_fmt(arg)
    if not expr:
        raise UserError("print what? e.g. print $pc, print ticks, print/x $a0")
    text = render(session, evaluate(session, expr), fmt)
    session.values_printed += 1
    session.printer.line(f"${session.values_printed} = {text}")


def _split_fmt(arg: str) -> tuple[str, str]:
    arg = arg.strip()
    if arg.startswith("/"):
        parts = arg[1:].split(None, 1)
        return parts[0], parts[1] if len(parts) > 1 else ""
    return "", arg


@command("x", usage="x/FMT ADDR", group="looking",
         summary="examine memory: x/8gx $sp, x/16bx 0x1000, x/4wx phys:0x80000000, x/s ADDR, x/3i $pc",
         details="FMT is [COUNT][FORMAT][SIZE] as in gdb. FORMAT: x hex, d decimal, u unsigned,\n"
                 "o octal, t binary, c char, a address, s string, i instruction. SIZE: b 1, h 2,\n"
                 "w 4, g 8 bytes. ADDR is virtual in the current process's address space (the\n"
                 "kernel's while the hart is in the kernel); prefix phys: for physical memory.")
def cmd_x(session, arg):
    fmt_text, addr_text = _split_fmt(arg)
    fmt = xformat.parse_format(fmt_text, session.last_x_format)
    session.last_x_format = fmt
    addr = parse_address(session, addr_text or session.next_x_address())
    if fmt.letter == "i":
        from rvtrace.debugger.cmd_code import disassemble_at
        end = disassemble_at(session, addr, fmt.count)
    elif fmt.letter == "s":
        end = _strings(session, addr, fmt.count)
    else:
        end = _words(session, addr, fmt)
    session.last_x_end = end


def _words(session, addr, fmt):
    data = session.machine.read(addr, fmt.count * fmt.size)
    per_line = xformat.per_line(fmt)
    a = addr.value
    for row in range(0, fmt.count, per_line):
        n = min(per_line, fmt.count - row)
        chunk = data[row * fmt.size:(row + n) * fmt.size]
        items = [xformat.format_unit(int.from_bytes(chunk[i * fmt.size:(i + 1) * fmt.size], "little"), fmt)
                 for i in range(n)]
        label = _label(session, a, addr.physical)
        session.printer.line([("class:address", label + ":"), ("", "\t" + "\t".join(items))])
        a += n * fmt.size
    return type(addr)(a, addr.physical)


def _strings(session, addr, count):
    a = addr.value
    for _ in range(count):
        raw = b""
        while len(raw) < 4096:
            piece = session.machine.read(type(addr)(a + len(raw), addr.physical), 1, partial=True)
            if not piece and not raw:
                session.machine.read(type(addr)(a, addr.physical), 1)     # raises: not mapped
            if not piece or piece == b"\0":
                break
            raw += piece
        from rvtrace.kernel.syscalls import quote
        session.printer.line([("class:address", _label(session, a, addr.physical) + ":"), ("", "\t" + quote(raw))])
        a += len(raw) + 1
    return type(addr)(a, addr.physical)


def _label(session, a: int, physical: bool) -> str:
    if physical:
        return f"phys:{a:#x}"
    name = session.symbolize(a) or session.machine.user_symbolize(a)
    return f"{a:#x} <{name}>" if name else f"{a:#x}"


@command("procs", "proc", "processes", usage="info procs", table=INFO,
         summary="every process at this moment: pid, state, name, parent, what it waits on")
def cmd_info_procs(session, arg):
    m = session.machine
    procs = m.processes()
    if not procs:
        raise UserError(f"no process table: {m.process_view_reason()}")
    running = m.running_pids()
    p = session.printer
    p.line([("class:heading", f"  {'PID':>4} {'STATE':<9} {'NAME':<16} {'PARENT':>6}  WAITING ON / WHERE")])
    for info in procs:
        where = m.where_process_is(info, running)
        lead = "* " if info.pid in running.values() else "  "
        parent = str(info.parent) if info.parent is not None else "-"
        p.line([("", lead), (pid_style(info.pid), f"{info.pid:>4}"),
                ("", f" {info.state:<9} {info.name:<16} {parent:>6}  {where}")])
    p.line([("class:dim", "(* running on a hart now)")])
