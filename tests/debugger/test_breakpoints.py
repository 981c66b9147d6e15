"""Breakpoint specs, the table, and which events they hit (synthetic events: no trace needed)."""

from __future__ import annotations

import pytest

from rvtrace.debugger.breakpoints import BreakpointTable, parse_spec, split_condition
from rvtrace.debugger.eventtext import condition_fields
from rvtrace.errors import UserError
from rvtrace.trace.events import Event, Kind

SYMBOLS = {"kerneltrap": 0x80001000, "main": 0x14}


def ev(kind, *payload, pid=3, hart=0, icount=100, number=0):
    return Event(number, [kind, icount, hart, pid, *payload])


def hits(spec, event, name="forkexec"):
    bp = parse_spec(spec, SYMBOLS.get)
    table = BreakpointTable()
    table.add(bp)
    return table.hit_by(event, lambda e: condition_fields(e, name)) is bp


WRITE_P = ev(Kind.SYSCALL_ENTER, 16, [1, b"p", 1])
EXEC_ECHO = ev(Kind.EXEC, "echo", ["echo", "THIS"], pid=4)


@pytest.mark.parametrize("spec, event, expected", [
    ("exec", EXEC_ECHO, True),
    ("exec echo", EXEC_ECHO, True),
    ("exec sh", EXEC_ECHO, False),
    ("exec if argv == \"THIS\"", EXEC_ECHO, True),
    ("exec if pid == 3", EXEC_ECHO, False),
    ("write", WRITE_P, True),
    ("write if pid == 3", WRITE_P, True),
    ("write if pid == 4", WRITE_P, False),
    ("write if fd == 1 and buf == \"p\"", WRITE_P, True),
    ("write if name == \"forkexec\"", WRITE_P, True),
    ("read", WRITE_P, False),
    ("syscall", WRITE_P, True),
    ("syscall write read", WRITE_P, True),
    ("syscall exec", WRITE_P, False),
    ("fork", ev(Kind.FORK, 4), True),
    ("fork", WRITE_P, False),
    ("exit", ev(Kind.EXIT, 0), True),
    ("pagefault", ev(Kind.PAGE_FAULT, 15, 0x3000, 0x40, 0, 1), True),
    ("pagefault store", ev(Kind.PAGE_FAULT, 15, 0x3000, 0x40, 0, 1), True),
    ("pagefault load", ev(Kind.PAGE_FAULT, 15, 0x3000, 0x40, 0, 1), False),
    ("pagefault cow", ev(Kind.PAGE_FAULT, 15, 0x3000, 0x40, 0, 1), True),
    ("pagefault cow", ev(Kind.PAGE_FAULT, 15, 0x3000, 0x40, 0, 3), False),
    ("pagefault if cause == \"store\" and va > 0x2000", ev(Kind.PAGE_FAULT, 15, 0x3000, 0x40, 0, 1), True),
    ("switch", ev(Kind.SWITCH, 3, 4, 2, []), True),
    ("switch to 4", ev(Kind.SWITCH, 3, 4, 2, []), True),
    ("switch to 3", ev(Kind.SWITCH, 3, 4, 2, []), False),
    ("switch from 3", ev(Kind.SWITCH, 3, 4, 2, []), True),
    ("switch if reason == \"sleep\"", ev(Kind.SWITCH, 3, 4, 2, []), True),
    ("interrupt timer", ev(Kind.INTERRUPT, 5, 0, 1), True),
    ("interrupt disk", ev(Kind.INTERRUPT, 5, 0, 1), False),
    ("interrupt disk", ev(Kind.INTERRUPT, 9, 1, 1), True),
    ("interrupt uart", ev(Kind.INTERRUPT, 9, 10, 0), True),
    ("interrupt if device == \"uart\"", ev(Kind.INTERRUPT, 9, 10, 0), True),
    ("disk write", ev(Kind.DISK_REQUEST, 0, 33, 1), True),
    ("disk read", ev(Kind.DISK_REQUEST, 0, 33, 1), False),
    ("console", ev(Kind.CONSOLE_OUT, b"x"), True),
    ("reaped", ev(Kind.REAPED, 4, 0), True),
])
def test_event_breakpoints_match(spec, event, expected):
    assert hits(spec, event) is expected


@pytest.mark.parametrize("spec, message", [
    ("", "break what?"),
    ("nosuchthing", "unknown breakpoint 'nosuchthing'"),
    ("pagefault sideways", "store, load, exec or cow"),
    ("interrupt keyboard", "timer, software, external, disk, uart"),
    ("switch to", "break switch to PID"),
    ("switch to x", "expected a pid"),
    ("fork 3", "takes no argument"),
    ("output", "break output needs the text"),
    ("syscall nosuchcall", "unknown system call 'nosuchcall'"),
    ("*0xzz", "bad address"),
    ("write if pdi == 3", "no field 'pdi'"),
    ("write if pid ==", "expected a number"),
])
def test_bad_specs_say_what_to_do(spec, message):
    with pytest.raises(UserError) as exc:
        parse_spec(spec, SYMBOLS.get)
    assert message in str(exc.value)


def test_pc_breakpoints_resolve_addresses_and_symbols():
    assert parse_spec("*0x80001234").pcs == (0x80001234,)
    assert parse_spec("kerneltrap", SYMBOLS.get).pcs == (0x80001000,)
    assert parse_spec("*main", SYMBOLS.get).pcs == (0x14,)
    bp = parse_spec("kerneltrap if pid == 3 and hart == 0", SYMBOLS.get)
    assert bp.is_pc and bp.condition({"pid": 3, "hart": 0})
    with pytest.raises(UserError):
        parse_spec("kerneltrap if fd == 1", SYMBOLS.get)       # no syscall fields at a pc


def test_split_condition():
    assert split_condition("write if pid == 4") == ("write", "pid == 4")
    assert split_condition("exec") == ("exec", None)
    assert split_condition("output \"gift\"") == ("output \"gift\"", None)


def test_table_numbers_enables_and_deletes():
    t = BreakpointTable()
    a, b, c = (t.add(parse_spec(s)) for s in ("exec", "fork", "write"))
    assert (a.number, b.number, c.number) == (1, 2, 3)
    t.set_enabled([2], False)
    assert [bp.number for bp in t.active()] == [1, 3]
    assert t.hit_by(ev(Kind.FORK, 4), lambda e: {}) is None
    t.delete([1])
    assert t.add(parse_spec("exit")).number == 4           # numbers are never reused
    with pytest.raises(UserError):
        t.delete([1])
    t.set_enabled(None, True)
    assert t.hit_by(ev(Kind.FORK, 4), lambda e: {}) is b
    t.delete(None)
    assert not t.items
