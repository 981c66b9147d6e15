"""Frames, as gdb has them: backtrace [N], frame [N], up [N], down [N], info frame.

Moving between frames never moves in time: it chooses which frame `info
locals`, `info args`, `print`, `list` and `info frame` look at. Any move in
time goes back to frame 0. Frames come from rvtrace/debugger/frames.py.
"""

from __future__ import annotations

from pathlib import Path

from rvtrace.debugger import frames as fr
from rvtrace.debugger.commands import INFO, command
from rvtrace.errors import UserError


def frame_fragments(frame: fr.Frame, selected: bool = False) -> list[tuple[str, str]]:
    """`#1  0x0000000080004264 in sched+0x86 at kernel_src/proc.c:400` (user frames: `[prog]`)."""
    where = f" at {_short(frame.file)}:{frame.line}" if frame.file else ""
    prog = f" [{frame.program}]" if frame.program else ""
    note = f" ({frame.note})" if frame.note else ""
    lead = "*" if selected else "#"
    return [("", f"{lead}{frame.level:<2} "), ("class:address", f"{frame.pc:#018x}"), ("", " in "),
            ("class:symbol", frame.name), ("", f"{where}{prog}"), ("class:dim", note)]


@command("backtrace", "bt", "where", usage="backtrace [N | -N]", group="looking",
         summary="the call stack: kernel frames, then the user frames below a trap (N: innermost N)",
         details="Each caller is named by its call instruction (return address - 1), as in gdb;\n"
                 "the chain ends at a function entered without a call (the kernel's main, usertrap,\n"
                 "forkret; a program's main). `bt 3` shows the 3 innermost frames, `bt -3` the\n"
                 "3 outermost. Frames are numbered for `frame N`, `up` and `down`.")
def cmd_backtrace(session, arg):
    limit = _int_arg(arg, None, "backtrace [N]")
    fs = fr.frames(session)
    if not fs:
        session.printer.line("No stack.")
        return
    chosen = fs if limit is None else (fs[:limit] if limit >= 0 else fs[limit:])
    sel = fr.selected_level(session)
    for f in chosen:
        session.printer.line(frame_fragments(f, f.level == sel and sel != 0))
    if limit is not None and limit >= 0 and len(fs) > limit:
        session.printer.line([("class:dim", "(More stack frames follow...)")])


@command("frame", "f", usage="frame [N]", group="looking",
         summary="select frame N (0 is the innermost) for print, info locals, list; show it")
def cmd_frame(session, arg):
    if arg.strip():
        frame = fr.select(session, _int_arg(arg, 0, "frame N"))
    else:
        frame = fr.selected_frame(session)
        if frame is None:
            raise UserError("No stack.")
    show_frame(session, frame)


@command("up", usage="up [N]", group="looking",
         summary="select the frame N (default 1) levels out: the caller")
def cmd_up(session, arg):
    n = _int_arg(arg, 1, "up [N]")
    fs = fr.frames(session)
    level = fr.selected_level(session)
    if level + n >= len(fs):
        if level == len(fs) - 1:
            raise UserError("Initial frame selected; you cannot go up.")
        n = len(fs) - 1 - level
    show_frame(session, fr.select(session, level + n))


@command("down", "do", usage="down [N]", group="looking",
         summary="select the frame N (default 1) levels in: the callee")
def cmd_down(session, arg):
    n = _int_arg(arg, 1, "down [N]")
    level = fr.selected_level(session)
    if level == 0:
        raise UserError("Bottom (innermost) frame selected; you cannot go down.")
    show_frame(session, fr.select(session, max(level - n, 0)))


def show_frame(session, frame: fr.Frame) -> None:
    session.printer.line(frame_fragments(frame))
    if frame.file and frame.line:
        from rvtrace.debugger.cmd_code import find_source
        path = find_source(frame.file)
        if path is not None:
            lines = path.read_text(errors="replace").split("\n")
            if 0 < frame.line <= len(lines):
                session.printer.line(f"{frame.line}\t{lines[frame.line - 1]}")


@command("frame", "f", usage="info frame", table=INFO,
         summary="the selected frame: its pc, caller, frame address, where ra and fp are saved")
def cmd_info_frame(session, arg):
    fs = fr.frames(session)
    frame = fr.selected_frame(session)
    if frame is None:
        raise UserError("No stack.")
    p = session.printer
    p.line(f"Stack level {frame.level}, frame at {_hex(frame.fp)}:")
    place = f" ({_short(frame.file)}:{frame.line})" if frame.file else ""
    caller = fs[frame.level + 1] if frame.level + 1 < len(fs) else None
    saved = f"; saved pc = {caller.pc:#x}" if caller is not None and not caller.exact else ""
    p.line(f" pc = {frame.pc:#x} in {frame.name}{place}{saved}")
    rel = []
    if caller is not None:
        rel.append(f"called by frame at {_hex(caller.fp)}")
    if frame.level > 0:
        rel.append(f"caller of frame at {_hex(fs[frame.level - 1].fp)}")
    if rel:
        p.line(" " + ", ".join(rel))
    space = f"user program {frame.program}" if frame.space == "user" else "kernel"
    p.line(f" code: {space}{' (pid ' + str(frame.pid) + ')' if frame.pid else ''}"
           f"{'; ' + frame.note if frame.note else ''}")
    p.line(f" frame pointer (s0) {_hex(frame.fp)}, sp {_hex(frame.sp)}")
    if frame.fp and frame.note != "no frame yet" and (caller is not None or frame.level == 0):
        p.line(f" Saved registers: ra at {frame.fp - 8:#x}, s0 at {frame.fp - 16:#x}")
    elif frame.note == "no frame yet":
        p.line(" Saved registers: none yet (the return address is still in ra)")


def _int_arg(arg: str, default, usage: str):
    text = arg.strip()
    if not text:
        return default
    try:
        return int(text, 0)
    except ValueError:
        raise UserError(f"{usage}: {text!r} is not a number") from None


def _hex(v) -> str:
    return f"{v:#x}" if isinstance(v, int) else "?"


def _short(path: str) -> str:
    for d in ("kernel_src/", "user_src/"):
        i = path.find(d)
        if i >= 0:
            return path[i:]
    return Path(path).name if path.startswith("/") else path
