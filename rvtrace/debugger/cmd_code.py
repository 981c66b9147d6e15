"""Code: disas (capstone, with symbols) and list (C source around the pc, from DWARF)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rvtrace.debugger.addresses import Address, parse_address
from rvtrace.debugger.commands import command
from rvtrace.errors import UserError

REPO = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("kernel_src", "user_src", "user_src/lib")
LIST_LINES = 10
DISAS_DEFAULT = 12
MAX_INSN = 4


@lru_cache(maxsize=1)
def _capstone():
    import capstone
    md = capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV64 | capstone.CS_MODE_RISCVC)
    return md


def decode_one(data: bytes, addr: int) -> tuple[int, str]:
    """(size, text) of the instruction at the start of `data`; `.insn` for what capstone cannot read."""
    for insn in _capstone().disasm(data, addr, 1):
        return insn.size, f"{insn.mnemonic} {insn.op_str}".strip()
    size = 2 if data and data[0] & 3 != 3 else 4
    word = int.from_bytes(data[:size], "little")
    return size, f".insn {word:#0{size * 2 + 2}x}"


def disassemble_at(session, addr: Address, count: int, mark: int | None = None) -> Address:
    """Print `count` instructions from `addr`; return the address after the last one."""
    a = addr.value
    m = session.machine
    for _ in range(count):
        data = m.read(Address(a, addr.physical), MAX_INSN, partial=True)
        if not data:
            raise UserError(f"cannot read memory at {Address(a, addr.physical)}: not mapped")
        size, text = decode_one(data, a)
        sym = None if addr.physical else (session.symbolize(a) or m.user_symbolize(a))
        lead = "=> " if a == mark else "   "
        raw = data[:size][::-1].hex()
        session.printer.line([("class:current" if a == mark else "", lead),
                              ("class:address", f"{a:#x}"), ("class:symbol", f" <{sym}>" if sym else ""),
                              ("", f":\t{raw:<8}\t{text}")])
        a += size
    return Address(a, addr.physical)


@command("disassemble", "disas", "disass", usage="disas [ADDR [COUNT]] | disas FUNC", group="looking",
         summary="disassemble around the pc (or at ADDR / the whole function FUNC), with symbols")
def cmd_disas(session, arg):
    m = session.machine
    pc = m.pc()
    words = arg.split()
    if not words:
        start = _function_start(session, pc)
        if start is not None and pc - start <= 64:
            begin = start
        else:
            begin = max(pc - 16, 0) if start is None else max(start, pc - 16)
        disassemble_at(session, _aligned_start(session, Address(begin), pc), DISAS_DEFAULT, mark=pc)
        return
    addr = parse_address(session, words[0])
    count = int(words[1], 0) if len(words) > 1 else None
    if count is None:
        size = _function_size(session, words[0], addr.value)
        count = max(1, min(size // 2, 400)) if size else DISAS_DEFAULT
        if size:
            end = addr.value + size
            a = addr.value
            while a < end:
                a = disassemble_at(session, Address(a, addr.physical), 1, mark=pc).value
            return
    disassemble_at(session, addr, count, mark=pc)


def _aligned_start(session, begin: Address, pc: int) -> Address:
    """Walk forward from `begin` so that decoding passes exactly through `pc` (2- and 4-byte insns)."""
    if begin.value >= pc:
        return Address(pc)
    a = begin.value
    while a < pc:
        data = session.machine.read(Address(a), MAX_INSN, partial=True)
        if not data:
            return Address(pc)
        size, _ = decode_one(data, a)
        if a + size > pc:
            return Address(pc)
        a += size
    return begin


def _function_start(session, pc: int) -> int | None:
    for lookup in (session.kernel.function_at if session.kernel else None,
                   session.machine.user_function_at):
        f = lookup(pc) if lookup else None
        if f:
            return pc - f[1]
    return None


def _function_size(session, word: str, addr: int) -> int | None:
    k = session.kernel
    if k and word in k.symbols and k.address_of(word) == addr:
        return k.size_of_symbol(word) or None
    return session.machine.user_symbol_size(word)


def show_current_instruction(session) -> None:
    """The stop line after an instruction move: `0x80001c2e <kerneltrap+0x12>: addi ... (file:line)`."""
    m = session.machine
    pc = m.pc()
    data = m.read(Address(pc), MAX_INSN, partial=True)
    text = decode_one(data, pc)[1] if data else "(pc not mapped)"
    sym = session.symbolize(pc) or m.user_symbolize(pc)
    place = m.source_line(pc)
    where = f"  ({Path(place[0]).name}:{place[1]})" if place else ""
    ev = session.event
    after = f"  [after event #{ev.number}]" if ev is not None else ""
    session.printer.line([("class:stop", f"hart {m.hart} "), ("class:address", f"{pc:#x}"),
                          ("class:symbol", f" <{sym}>" if sym else ""), ("", f":\t{text}{where}"),
                          ("class:dim", f"  icount {session.icount}{after}")])


# --- list ---------------------------------------------------------------------------------

@command("list", "l", usage="list [FUNC | FILE:LINE | LINE]", group="looking",
         summary="C source around the current pc (from DWARF; files from kernel_src/ and user_src/)",
         details="In an assembly stub (a system call's ecall in usys), list also shows the C line that\n"
                 "called it. `list` again continues with the next lines.")
def cmd_list(session, arg):
    arg = arg.strip()
    if arg:
        file, line = _location_of(session, arg)
        _print_lines(session, file, line, None)
        return
    if session.last_list is not None and session.last_list[0] == session.icount:
        _, file, last = session.last_list
        _print_lines(session, file, last + 1, None, centre=False)
        return
    from rvtrace.debugger import frames as fr
    if fr.selected_level(session) > 0:               # `up` / `frame N`: that frame's line
        frame = fr.selected_frame(session)
        if frame.file and frame.line:
            _print_lines(session, frame.file, frame.line, frame.line)
            return
    m = session.machine
    shown = False
    for i, (pc, label) in enumerate(m.source_frames()):
        place = m.source_line(pc)
        if place is None:
            if i == 0:
                session.printer.line([("class:dim", f"no source line for pc {session.describe_address(pc)}")])
            continue
        file, line = place
        if i > 0:
            session.printer.line([("class:dim", f"the return address (ra) is in {label}, "
                                                f"{Path(file).name}:{line}:")])
        _print_lines(session, file, line, line)
        shown = True
        if not file.endswith((".S", ".s")):
            break
    if not shown:
        pc = m.pc()
        raise UserError(f"no source line for pc {session.describe_address(pc)}: the code there has "
                        "no DWARF line information")


def _location_of(session, arg: str) -> tuple[str, int]:
    from rvtrace.debugger.scope import Scope
    if ":" in arg:
        name, _, num = arg.rpartition(":")
        if num.strip().isdigit():
            return name, int(num)
        if "." in name or "/" in name:
            raise UserError(f"list FILE:LINE -- {num!r} is not a line number")
    if arg.isdigit():
        if session.last_list is None:
            raise UserError("list LINE needs a file first: `list FILE:LINE`")
        return session.last_list[1], int(arg)
    sym = Scope(session).lookup(arg)          # the current program first in user mode; PROG:NAME
    if sym is None:
        raise UserError(f"no function {arg!r} in the kernel or the current program "
                        "(qualify it: kernel:NAME, PROGRAM:NAME)")
    place = sym.image.source_line(sym.address)
    if place is None:
        raise UserError(f"{arg} has no source line information")
    return place


# A source file larger than this is no C source of ours.
MAX_SOURCE_BYTES = 4 << 20


def source_roots(session=None) -> list[Path]:
    """Where sources are looked for: the checkout, then every --source-dir the user named."""
    return [REPO, *(Path(d) for d in getattr(session, "source_dirs", None) or ())]


def find_source(file: str, roots: list[Path] | None = None) -> Path | None:
    """The source file DWARF names, found under `roots` only (never at the path the trace
    names: a trace is untrusted, and its paths belong to the machine that built the kernel).

    Tries the recorded path's tails (`kernel_src/proc.c`, `proc.c`) under each root, then
    the file's name in the checkout's source directories."""
    parts = [p for p in Path(file).parts if p not in ("/", "..", ".", "")]
    for root in roots or [REPO]:
        for i in range(len(parts)):
            candidate = _inside(root, root.joinpath(*parts[i:]))
            if candidate is not None:
                return candidate
        for d in SOURCE_DIRS:
            candidate = _inside(root, root / d / parts[-1]) if parts else None
            if candidate is not None:
                return candidate
    return None


def _inside(root: Path, candidate: Path) -> Path | None:
    """`candidate` when it is a regular file whose real path lies under `root`."""
    try:
        real, base = candidate.resolve(), root.resolve()
        if not real.is_relative_to(base) or not real.is_file() or real.stat().st_size > MAX_SOURCE_BYTES:
            return None
    except (OSError, ValueError):
        return None
    return candidate


def _print_lines(session, file: str, line: int, mark: int | None, centre: bool = True) -> None:
    path = find_source(file, source_roots(session))
    if path is None:
        where = ", ".join(str(r) for r in source_roots(session))
        raise UserError(f"the source file {Path(file).name} is not here (looked under {where}; "
                        "`rvtrace replay --source-dir DIR` adds a directory)")
    lines = path.read_text(errors="replace").split("\n")
    first = max(line - LIST_LINES // 2, 1) if centre else max(line, 1)
    last = min(first + LIST_LINES - 1, len(lines))
    if first > len(lines):
        raise UserError(f"line {line} is past the end of {path.name} ({len(lines)} lines)")
    session.printer.line([("class:dim", f"{_shown_path(path)}:")])
    for n in range(first, last + 1):
        lead = "=>" if n == mark else "  "
        session.printer.line([("class:current" if n == mark else "", f"{lead}{n:>5}\t{lines[n - 1]}")])
    session.last_list = (session.icount, str(path), last)


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)
