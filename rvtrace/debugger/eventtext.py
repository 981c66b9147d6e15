"""Events for people: one line of text per event, and the fields a condition can name.

    #212 @324778 h0 [pid 2 forkexec] exec "echo" ["echo","THIS","IS","ECHO"]

The prefix gives the event number, its icount (`@`), the hart and the
process; the pid is coloured so one process's events read as one colour.
Payload words come from the tables in rvtrace.trace.events and the syscall
table in rvtrace.kernel.syscalls (one source of truth for both).
"""

from __future__ import annotations

from rvtrace.kernel.syscalls import BUILTIN, SYSCALLS, syscall_name, table_of
from rvtrace.trace.events import (DECISIONS, ENDINGS, FAULT_CAUSES, INTERRUPT_CAUSES, KINDS, MODES,
                                  RESOLUTIONS, SWITCH_REASONS, Event, Kind, name_of)
from rvtrace.trace.text import (EXEC_ARGC_REVISION, IRQ_NAMES, call_text, describe_safely, exec_succeeded,
                               exec_success_words, returned_value, syscall_name_safe)

# A palette that reads on dark and light terminals; pid 0 (no process) stays plain.
PID_COLOURS = ("ansigreen", "ansicyan", "ansimagenta", "ansiyellow", "ansiblue", "ansired",
               "ansibrightgreen", "ansibrightcyan", "ansibrightmagenta", "ansibrightblue")

Fragments = list[tuple[str, str]]


def pid_style(pid: int | None) -> str:
    if not pid:
        return ""
    return "fg:" + PID_COLOURS[pid % len(PID_COLOURS)]


def process_label(pid: int, name: str | None) -> str:
    if not pid:
        return "[-]"
    return f"[pid {pid}{' ' + name if name else ''}]"


def event_fragments(ev: Event, name: str | None, symbolize=None, header=None) -> Fragments:
    """The event's line as styled fragments: `#n @icount hN [pid P name] what`."""
    return [("class:number", f"#{ev.number}"), ("", f" @{ev.icount} h{ev.hart} "),
            (pid_style(ev.pid), process_label(ev.pid, name)),
            ("", " " + describe(ev, symbolize, exec_ret_is_argc(header), table_of(header)))]


def exec_ret_is_argc(header) -> bool:
    """Whether a successful exec's stored `ret` is argc (recorder revision 3 on) or, in older
    traces, the new entry point."""
    revision = (header.metadata or {}).get("recorder_revision") if header is not None else None
    return not (isinstance(revision, int) and revision < EXEC_ARGC_REVISION)


def describe(ev: Event, symbolize=None, exec_argc: bool = True, calls=None) -> str:
    """What happened, in words (no prefix): the same words as `rvtrace dump`.

    The debugger shows a syscall's exit as its own event line, so it says what
    returned rather than dump's strace-style `<... resumed>`. `calls`: the trace's
    syscall table (None: the built-in one)."""
    if ev.kind == Kind.SYSCALL_ENTER:
        return call_text(ev, calls)
    if ev.kind == Kind.SYSCALL_EXIT:
        if exec_succeeded(ev):
            if not exec_argc:
                return f"exec() succeeded, no return: the old image is gone; the new one starts at {ev.ret:#x}"
            return f"exec() succeeded, {exec_success_words(ev)}"
        return f"{syscall_name_safe(ev.fields['num'], calls)}() returned {returned_value(ev, calls)}"
    return describe_safely(ev, symbolize)


# --- fields for conditions ------------------------------------------------------------

BASE_FIELDS = ("pid", "name", "hart", "icount", "event", "kind")
# Fields only a system call's return has (its syscall-exit event).
RETURN_FIELDS = frozenset({"ret", "out"})
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
            # an exit also carries its call's arguments (condition_fields reads them from the enter)
            names.add("syscall")
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


def condition_fields(ev: Event, name: str | None, enter: Event | None = None, calls=None) -> dict:
    """The event as a flat dict a Condition reads: enumerations as words, syscall args by name.

    For a syscall-exit, `enter` is the call's syscall-enter: its arguments are the exit's too
    (`break write if fd == 1 and ret < 0`). `calls`: the trace's syscall table."""
    d = dict(ev.fields)
    d.update(pid=ev.pid, name=name or "", hart=ev.hart, icount=ev.icount, event=ev.number,
             kind=ev.kind_name)
    k = ev.kind
    if k in (Kind.SYSCALL_ENTER, Kind.SYSCALL_EXIT):
        num = d.get("num")
        d["syscall"] = syscall_name(num, calls) if isinstance(num, int) else str(num)
        if k == Kind.SYSCALL_EXIT and enter is not None:
            d["args"] = enter.fields.get("args")
        args = d.pop("args", None) or []
        s = (calls or BUILTIN).signature(num)
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
