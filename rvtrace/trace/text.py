"""Events in words: the one place that says how each kind of event reads.

`rvtrace dump` prints these after its `icount hart [pid]` prefix, and the
debugger after its `#n @icount` one, so both say the same thing the same way.
"""

from __future__ import annotations

from rvtrace.kernel.syscalls import (ARGV, SyscallTable, format_call, format_return, format_value, quote,
                                     syscall_name)
from rvtrace.trace.events import (COW_VIAS, DECISIONS, ENDINGS, FAULT_CAUSES, INTERRUPT_CAUSES,
                                  RESOLUTIONS, SWITCH_REASONS, Event, Kind, name_of)

SYS_EXEC = 7
# How each path to a copy-on-write resolution reads.
COW_VIA_WORDS = {"trap": "page-fault trap", "copyout": "kernel copyout, no trap"}

# PLIC sources on QEMU's virt board.
IRQ_NAMES = {1: "disk", 10: "uart"}

# Kernel functions that say *why* a process sleeps, in words; the mechanism
# around them (sleep, sched, trap entry) is left out of the summary.
SLEEP_PHRASES = {
    "bread": "disk read", "bwrite": "disk write", "virtio_disk_rw": "disk",
    "consoleread": "console read", "piperead": "pipe read", "pipewrite": "pipe write",
    "wait": "wait", "sys_sleep": "sleep(ticks)", "begin_op": "log full", "acquiresleep": "sleep-lock",
    "exec": "exec", "exit": "exit",
}

def summarize_sleep(backtrace) -> str:
    """`["sleep", "virtio_disk_rw", "bread", ..., "exec", ...]` -> "disk read <- exec"."""
    phrases: list[str] = []
    for fn in backtrace or []:
        phrase = SLEEP_PHRASES.get(fn)
        if phrase is None:
            continue
        if phrases and (phrase == phrases[-1] or phrases[-1] == "disk" and phrase.startswith("disk")):
            phrases[-1] = phrase            # keep the more specific of two neighbours
        else:
            phrases.append(phrase)
    if not phrases:
        frames = [f for f in backtrace or [] if f not in ("sleep", "sched", "swtch", "yield")]
        return " <- ".join(frames[:3])
    return phrases[0] if len(phrases) == 1 else f"{phrases[0]} <- {phrases[-1]}"


def describe(ev: Event, symbolize=None) -> str:
    """The text after the `icount hart [pid]` prefix, for any event but a syscall.

    `symbolize(pc)` names kernel pcs (`copyout+0x1c`), when the trace's kernel is at hand.
    """
    f = ev.fields
    k = ev.kind
    if k == Kind.PAGE_FAULT:
        where = ""
        if f["mode"] == 1:
            name = symbolize(f["pc"]) if symbolize and isinstance(f["pc"], int) else None
            where = f" (kernel{' ' + name if name else ''})"
        return (f"page-fault {name_of(FAULT_CAUSES, f['cause'])} va={_hex(f['va'])} pc={_hex(f['pc'])}"
                f"{where} -> {name_of(RESOLUTIONS, f['resolution'])}")
    if k == Kind.SWITCH:
        reason = name_of(SWITCH_REASONS, f["reason"])
        if reason == "sleep":
            reason = f"sleep: {summarize_sleep(f['backtrace'])}"
        return f"switch {f['from_pid'] or '-'} -> {f['to_pid'] or '-'} ({reason})"
    if k == Kind.INTERRUPT:
        text = f"interrupt {name_of(INTERRUPT_CAUSES, f['cause'])}"
        if f["irq"]:
            text += f" irq {f['irq']}" + (f" ({IRQ_NAMES[f['irq']]})" if f["irq"] in IRQ_NAMES else "")
        return text + (" in kernel" if f["mode"] == 1 else "")
    if k in (Kind.DISK_REQUEST, Kind.DISK_COMPLETE):
        verb = "disk-request" if k == Kind.DISK_REQUEST else "disk-complete"
        return f"{verb} {'write' if f['write'] else 'read'} block {f['block']} (req {f['req']})"
    if k == Kind.FORK:
        pages = ""
        if isinstance(f.get("shared"), int) and isinstance(f.get("copied"), int):
            pages = f" ({f['shared']} pages shared, {f['copied']} copied)"
        return f"fork -> child {f['child']}{pages}"
    if k == Kind.EXEC:
        entry = f" (new image, entry {_hex(f['entry'])})" if isinstance(f.get("entry"), int) else ""
        return f"exec {quote(f['path'] or '')} {format_value(ARGV, f['argv'])}{entry}"
    if k == Kind.COW:
        via = name_of(COW_VIAS, f["via"])
        return (f"copy-on-write va={_hex(f['va'])} -> {name_of(RESOLUTIONS, f['resolution'])}"
                f" ({COW_VIA_WORDS.get(via, via)})")
    if k == Kind.EXIT:
        return f"exit status {f['status']}"
    if k == Kind.REAPED:
        return f"reaped pid {f['child']} (status {f['status']})"
    if k in (Kind.CONSOLE_OUT, Kind.CONSOLE_IN):
        return f"{ev.kind_name} {quote(f['data'] or b'')}"
    if k == Kind.SCHEDULE:
        return f"schedule {name_of(DECISIONS, f['decision'])} {f['value']}"
    if k == Kind.POWEROFF:
        return f"poweroff status {f['status']} (code {_hex(f['code'])})"
    if k == Kind.END:
        detail = f": {f['detail']}" if f["detail"] else ""
        return f"end {name_of(ENDINGS, f['how'])}{detail}"
    return f"{ev.kind_name} " + " ".join(f"{n}={v!r}" for n, v in f.items())


# What formatting a payload of unexpected types raises (a buggy or newer writer).
_ODD_PAYLOAD = (TypeError, ValueError, OverflowError, AttributeError, KeyError, IndexError)


def describe_safely(ev: Event, symbolize=None) -> str:
    """describe(), or the fields as they are when their types are not what this rvtrace expects."""
    try:
        return describe(ev, symbolize)
    except _ODD_PAYLOAD:
        return f"{ev.kind_name} " + " ".join(f"{n}={v!r}" for n, v in ev.fields.items())


def call_text(ev: Event, calls: SyscallTable | None = None) -> str:
    """`write(1, "x", 1)` for a syscall-enter event, whatever its args hold; `calls` is the
    trace's syscall table (table_of(header); None: the built-in one)."""
    try:
        return format_call(ev.fields["num"], ev.fields["args"], calls)
    except _ODD_PAYLOAD:
        return f"{syscall_name_safe(ev.fields['num'], calls)}({ev.fields['args']!r})"


def returned_value(exit_ev: Event, calls: SyscallTable | None = None) -> str:
    """What a syscall-exit event says the call returned: `1`, or `5 "hello"` for read."""
    try:
        return _returned(exit_ev, calls)
    except _ODD_PAYLOAD:
        return repr(exit_ev.fields["ret"])


# The first recorder revision that stores a successful exec's a0 (argc) rather than its entry point.
EXEC_ARGC_REVISION = 3


def returned_text(exit_ev: Event, exec_argc: bool = True, calls: SyscallTable | None = None) -> str:
    """` = VALUE`, strace style, for the end of a call line (a successful exec: no return).
    `exec_argc` False: a trace of an older recorder, whose exec `ret` is the new entry point."""
    if exec_succeeded(exit_ev):
        if not exec_argc:
            return f" -- no return: the old image is gone; the new one starts at {_hex(exit_ev.fields['ret'])}"
        return f" -- {exec_success_words(exit_ev)}"
    return f" = {returned_value(exit_ev, calls)}"


def exec_succeeded(exit_ev: Event) -> bool:
    """A syscall-exit of an exec that worked: nothing returned to the old image."""
    f = exit_ev.fields
    return f.get("num") == SYS_EXEC and isinstance(f.get("ret"), int) and f["ret"] >= 0


def exec_success_words(exit_ev: Event) -> str:
    """What a successful exec's exit means: the recorder stores a0 as the new image starts."""
    return f"no return: the old image is gone; the new one starts with a0 = argc = {exit_ev.fields['ret']}"


def syscall_name_safe(num, calls: SyscallTable | None = None) -> str:
    return syscall_name(num, calls) if isinstance(num, int) else f"syscall{num!r}"


def _returned(exit_ev: Event, calls: SyscallTable | None) -> str:
    text = format_return(exit_ev.fields["num"], exit_ev.fields["ret"], calls)
    if isinstance(exit_ev.fields.get("out"), bytes):
        text += f" {quote(exit_ev.fields['out'])}"
    return text


def _hex(value) -> str:
    return hex(value) if isinstance(value, int) else str(value)
