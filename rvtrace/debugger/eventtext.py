"""Events for people: one line of text per event, and the fields a condition can name.

    #212 @324778 h0 [pid 2 forkexec] exec "echo" ["echo","THIS","IS","ECHO"]

The prefix gives the event number, its icount (`@`), the hart and the
process; the pid is coloured so one process's events read as one colour.
Payload words come from the tables in rvtrace.trace.events and the syscall
table in rvtrace.kernel.syscalls (one source of truth for both).
"""

from __future__ import annotations

from rvtrace.kernel.syscalls import ARGV, SYSCALLS, format_call, format_return, quote, syscall_name
from rvtrace.trace.events import (DECISIONS, ENDINGS, FAULT_CAUSES, INTERRUPT_CAUSES, KINDS, MODES,
                                  RESOLUTIONS, SWITCH_REASONS, Event, Kind, name_of)
from rvtrace.kernel.syscalls import format_value

# PLIC sources on the virt board.
IRQ_NAMES = {1: "disk", 10: "uart"}

# A palette that reads on dark and light terminals; pid 0 (no process) stays plain.
PID_COLOURS = ("ansigreen", "ansicyan", "ansimagenta", "ansiyellow", "ansiblue", "ansired",
               "ansibrightgreen", "ansibrightcyan", "ansibrightmagenta", "ansibrightblue")

# What formatting a payload of unexpected types raises (a newer or buggy writer).
_ODD = (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError)

Fragments = list[tuple[str, str]]


def pid_style(pid: int | None) -> str:
    if not pid:
        return ""
    return "fg:" + PID_COLOURS[pid % len(PID_COLOURS)]


def process_label(pid: int, name: str | None) -> str:
    if not pid:
        return "[-]"
    return f"[pid {pid}{' ' + name if name else ''}]"


def event_fragments(ev: Event, name: str | None, symbolize=None) -> Fragments:
    """The event's line as styled fragments: `#n @icount hN [pid P name] what`."""
    return [("class:number", f"#{ev.number}"), ("", f" @{ev.icount} h{ev.hart} "),
            (pid_style(ev.pid), process_label(ev.pid, name)), ("", " " + describe(ev, symbolize))]


def describe(ev: Event, symbolize=None) -> str:
    """What happened, in words (no prefix)."""
    try:
        return _describe(ev, symbolize)
    except _ODD:
        return f"{ev.kind_name} " + " ".join(f"{k}={v!r}" for k, v in ev.fields.items())


def _describe(ev: Event, symbolize) -> str:
    f, k = ev.fields, ev.kind
    if k == Kind.SYSCALL_ENTER:
        return format_call(f["num"], f["args"])
    if k == Kind.SYSCALL_EXIT:
        text = f"{syscall_name(f['num'])}() returned {format_return(f['num'], f['ret'])}"
        return text + (f" {quote(f['out'])}" if isinstance(f.get("out"), bytes) else "")
    if k == Kind.PAGE_FAULT:
        where = "user"
        if f["mode"] == 1:
            sym = symbolize(f["pc"]) if symbolize else None
            where = "kernel" + (f" {sym}" if sym else "")
        return (f"page-fault {name_of(FAULT_CAUSES, f['cause'])} va={f['va']:#x} pc={f['pc']:#x} "
                f"({where}) -> {name_of(RESOLUTIONS, f['resolution'])}")
    if k == Kind.SWITCH:
        reason = name_of(SWITCH_REASONS, f["reason"])
        inside = f" in {' <- '.join(f['backtrace'][:4])}" if f.get("backtrace") else ""
        return f"switch {f['from_pid'] or '-'} -> {f['to_pid'] or '-'} ({reason}){inside}"
    if k == Kind.INTERRUPT:
        text = f"interrupt {name_of(INTERRUPT_CAUSES, f['cause'])}"
        if f["irq"]:
            text += f" irq {f['irq']}" + (f" ({IRQ_NAMES[f['irq']]})" if f["irq"] in IRQ_NAMES else "")
        return text + f" in {name_of(MODES, f['mode'])} mode"
    if k in (Kind.DISK_REQUEST, Kind.DISK_COMPLETE):
        return f"{ev.kind_name} {'write' if f['write'] else 'read'} block {f['block']} (req {f['req']})"
    if k == Kind.FORK:
        return f"fork: child pid {f['child']}"
    if k == Kind.EXEC:
        return f"exec {quote(f['path'] or '')} {format_value(ARGV, f['argv'])}"
    if k == Kind.EXIT:
        return f"exit status {f['status']}"
    if k == Kind.REAPED:
        return f"reaped child {f['child']} (status {f['status']})"
    if k in (Kind.CONSOLE_OUT, Kind.CONSOLE_IN):
        return f"{ev.kind_name} {quote(f['data'] or b'')}"
    if k == Kind.SCHEDULE:
        return f"schedule {name_of(DECISIONS, f['decision'])} {f['value']}"
    if k == Kind.POWEROFF:
        return f"poweroff status {f['status']}"
    if k == Kind.END:
        return f"end of the run: {name_of(ENDINGS, f['how'])}" + (f" ({f['detail']})" if f["detail"] else "")
    return f"{ev.kind_name} " + " ".join(f"{k}={v!r}" for k, v in f.items())


# --- fields for conditions ------------------------------------------------------------

BASE_FIELDS = ("pid", "name", "hart", "icount", "event", "kind")
WORD_TABLES = {"cause": None, "resolution": RESOLUTIONS, "reason": SWITCH_REASONS,
               "decision": DECISIONS, "how": ENDINGS}


def fields_for_kinds(kinds) -> set[str]:
    """Every field name a condition may use on events of these kinds."""
    names = set(BASE_FIELDS)
    for k in kinds:
        info = KINDS.get(k)
        if info is None:
            continue
        names.update(info.fields)
        if k in (Kind.SYSCALL_ENTER, Kind.SYSCALL_EXIT):
            names.update({"syscall", "ret"})
            for s in SYSCALLS.values():
                names.update(s.arg_names)
            names.update(f"arg{i}" for i in range(6))
        if k == Kind.INTERRUPT:
            names.add("device")
        if k == Kind.SWITCH:
            names.update({"from", "to"})
        if k == Kind.PAGE_FAULT:
            names.add("addr")
    names.discard("args")
    return names


ALL_FIELDS = frozenset(fields_for_kinds(KINDS))


def condition_fields(ev: Event, name: str | None) -> dict:
    """The event as a flat dict a Condition reads: enumerations as words, syscall args by name."""
    d = dict(ev.fields)
    d.update(pid=ev.pid, name=name or "", hart=ev.hart, icount=ev.icount, event=ev.number,
             kind=ev.kind_name)
    k = ev.kind
    if k in (Kind.SYSCALL_ENTER, Kind.SYSCALL_EXIT):
        num = d.get("num")
        d["syscall"] = syscall_name(num) if isinstance(num, int) else str(num)
        args = d.pop("args", None) or []
        s = SYSCALLS.get(num)
        for i, value in enumerate(args if isinstance(args, list) else []):
            d[f"arg{i}"] = value
            if s is not None and i < len(s.args):
                d[s.args[i].name] = value
    elif k == Kind.PAGE_FAULT:
        d["cause"] = name_of(FAULT_CAUSES, d.get("cause"))
        d["resolution"] = name_of(RESOLUTIONS, d.get("resolution"))
        d["mode"] = name_of(MODES, d.get("mode"))
        d["addr"] = d.get("va")
    elif k == Kind.INTERRUPT:
        d["device"] = IRQ_NAMES.get(d.get("irq"), "")
        d["cause"] = name_of(INTERRUPT_CAUSES, d.get("cause"))
        d["mode"] = name_of(MODES, d.get("mode"))
    elif k == Kind.SWITCH:
        d["reason"] = name_of(SWITCH_REASONS, d.get("reason"))
        d["from"], d["to"] = d.get("from_pid"), d.get("to_pid")
    elif k == Kind.SCHEDULE:
        d["decision"] = name_of(DECISIONS, d.get("decision"))
    elif k == Kind.END:
        d["how"] = name_of(ENDINGS, d.get("how"))
    return d
