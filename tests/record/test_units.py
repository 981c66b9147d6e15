"""The recorder's small parts, without a machine: ordering, console attribution, decisions."""

from __future__ import annotations

import pytest

from rvtrace.record.console import ConsoleAttribution
from rvtrace.record.identity import AddressSpaceIdentity
from rvtrace.record.output import EventOutput, ListSink
from rvtrace.record.session import decisions_of
from rvtrace.record.shell import ShellDriver, ShellIdle
from rvtrace.trace.events import Event, Kind


def test_events_behind_a_placeholder_wait_until_it_is_filled():
    sink = ListSink()
    out = EventOutput(sink)
    out.emit(Kind.FORK, 1, 0, 1, child=2, shared=None, copied=None)
    p = out.placeholder(Kind.PAGE_FAULT, 2, 0, 1, cause=15, va=0x1000, pc=0x20, mode=0, resolution=0)
    out.emit(Kind.EXIT, 3, 0, 1, status=0)
    assert [e[0] for e in sink.events] == [Kind.FORK]
    out.fill(p, "resolution", 1)
    assert [e[0] for e in sink.events] == [Kind.FORK, Kind.PAGE_FAULT, Kind.EXIT]
    assert sink.events[1][-1] == 1
    assert [e[1] for e in sink.events] == [1, 2, 3]


def test_finish_releases_open_placeholders_with_their_defaults():
    sink = ListSink()
    out = EventOutput(sink)
    out.placeholder(Kind.SWITCH, 5, 0, 3, from_pid=3, to_pid=0, reason=2, backtrace=["sleep"])
    out.emit(Kind.EXIT, 6, 0, 4, status=0)
    out.finish()
    assert [e[0] for e in sink.events] == [Kind.SWITCH, Kind.EXIT]
    assert out.counts[Kind.SWITCH] == 1 and out.counts[Kind.EXIT] == 1


def test_console_bytes_coalesce_per_process_until_a_newline_or_another_event():
    sink = ListSink()
    out = EventOutput(sink)
    for b in b"hi\nyo":
        out.console(10, 0, 4, b)
    out.console(11, 0, 5, ord("x"))
    out.emit(Kind.EXIT, 12, 0, 5, status=0)
    got = [(e[3], e[4]) for e in sink.events if e[0] == Kind.CONSOLE_OUT]
    assert got == [(4, b"hi\n"), (4, b"yo"), (5, b"x")]


def test_console_attribution_follows_queued_bytes_and_gives_the_rest_to_the_kernel():
    c = ConsoleAttribution(drop_skipped=False)
    c.queued(3, b"ab")
    c.queued(4, b"c")
    assert c.sent(ord("a")) == 3
    assert c.sent(ord("Z")) == 0          # a kernel printf byte in between
    assert c.sent(ord("c")) == 4          # out of order (blocked writers): still found
    assert c.sent(ord("b")) == 3
    assert c.sent(ord("b")) == 0


def test_console_attribution_from_writes_drops_bytes_that_never_reached_the_uart():
    c = ConsoleAttribution(drop_skipped=True)
    c.queued(3, b"to a file")
    c.queued(4, b"!")
    assert c.sent(ord("!")) == 4
    assert len(c.queue) == 0


def test_address_spaces_are_numbered_and_the_kernels_is_not():
    a = AddressSpaceIdentity()
    sv39 = 8 << 60
    assert a.number(0) is None
    assert a.number(sv39 | 0x80100) is None       # the first one installed is the kernel's
    assert a.number(sv39 | 0x87000) == 1
    assert a.number(sv39 | 0x87500) == 2
    assert a.number(sv39 | 0x87000) == 1


def test_decisions_come_back_in_order_with_the_schedulers_words():
    raw = [[Kind.SCHEDULE, 1, 0, 0, 4, 2], [Kind.SCHEDULE, 1, 2, 0, 0, 900], [Kind.FORK, 2, 0, 1, 2],
           [Kind.SCHEDULE, 3, 0, 0, 1, 5000], [Kind.SCHEDULE, 4, 0, 0, 2, [4, b"ls\n"]]]
    events = [Event(i, e) for i, e in enumerate(raw)]
    assert decisions_of(events) == [("hart", 2), ("quantum", 900), ("disk", 5000), ("input", (4, b"ls\n"))]


class FakeHart:
    def __init__(self, waiting):
        self.waiting = waiting


class FakeRecorder:
    def __init__(self, kernel=None):
        self.m = type("M", (), {"harts": [FakeHart(True)]})()
        self.pending = {}
        self.listeners = []
        self.kernel = kernel            # KernelIdentity-like: .view.processes()
        self.current = [0]              # pid running on each hart (0: its scheduler)


def test_the_shell_driver_types_once_then_ends_when_the_shell_waits_again():
    rec = FakeRecorder()
    d = ShellDriver("forkexec")
    d.attach(rec)
    assert d(0) == b""                                  # nobody reads the console yet
    rec.pending[2] = (5, [0, 0x1000, 1], [0, 0x1000, 1])  # sh in read(0, buf, 1)
    assert d(0) == b"forkexec\n"
    assert d(0) == b""                                  # its read has not returned yet
    news = rec.listeners[0]
    news("syscall-exit", 2, (5, 1))
    news("fork", 2, 3)
    assert d(0) == b""                                  # pid 3 still lives
    news("exit", 3, 0)
    rec.m.harts[0].waiting = False
    assert d(0) == b""                                  # a hart still runs
    rec.m.harts[0].waiting = True
    with pytest.raises(ShellIdle):
        d(0)


def test_the_shell_driver_types_into_a_kernel_whose_scheduler_spins():
    """xv6 2022 never executes wfi: the shell waits when no process can run."""
    from types import SimpleNamespace as NS
    procs = [NS(state="SLEEPING"), NS(state="RUNNABLE")]
    rec = FakeRecorder(kernel=NS(view=NS(processes=lambda: procs)))
    rec.m.harts[0].waiting = False                      # spinning in the scheduler
    d = ShellDriver("forkexec")
    d.attach(rec)
    rec.pending[2] = (5, [0, 0x1000, 1], [0, 0x1000, 1])
    assert d(0) == b""                                  # a process can still run
    procs[1] = NS(state="SLEEPING")
    rec.current = [2]
    assert d(0) == b""                                  # the hart runs a process
    rec.current = [0]
    assert d(0) == b"forkexec\n"


def test_the_progress_line_waits_a_second_then_redraws_in_place():
    import io

    from rvtrace.record.command import Progress
    stream = io.StringIO()
    p = Progress(stream)
    fake = type("R", (), {"now": lambda self: 2_000_000, "event_count": 1234})()
    p(fake)
    assert stream.getvalue() == ""                       # not yet a second
    p.next = 0
    p(fake)
    line = stream.getvalue()
    assert line.startswith("\r") and "2,000,000 instructions" in line and "1,234 events" in line
    assert "MIPS" in line
    p.clear()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_event_fields_are_given_by_name_and_checked_against_the_table():
    out = EventOutput(ListSink())
    with pytest.raises(ValueError, match="missing copied"):
        out.emit(Kind.FORK, 1, 0, 1, child=2, shared=3)
    with pytest.raises(ValueError, match="unknown code"):
        out.emit(Kind.EXIT, 1, 0, 1, status=0, code=3)
    p = out.placeholder(Kind.SWITCH, 5, 0, 3, from_pid=3, to_pid=0, reason=2, backtrace=[])
    with pytest.raises(ValueError, match="no field 'irq'"):
        out.fill(p, "irq", 1)
    out.fill(p, "to_pid", 4)
    assert out.sink.events[0][4:6] == [3, 4]
