"""The timeline as the issue's users met it: reverse-continue after event moves (finding 2),
gdb's line moves, event moves under their own names, Ctrl-C stopping a move where it got."""

from __future__ import annotations

import re

import pytest

from rvtrace.guest.bundle import bundled_boot
from rvtrace.machine.config import MachineConfig
from rvtrace.record import record

pytestmark = pytest.mark.slow


def quiet_bytes(image) -> int:
    """Bytes that never change in a page written all the time (the last hart's slot of cpus[]
    on a smaller machine): watching them re-executes the whole run and stops nowhere."""
    return image.address_of("cpus") + image.size_of_symbol("cpus") - 8


def _icount(out: str) -> int:
    return int(re.findall(r"icount (\d+)", out)[-1])


def test_reverse_continue_after_goto_finds_the_last_sched_before(batch):
    """`goto 179`, `break sched`, `reverse-continue`: sched ran many times before event 179."""
    s = batch.session
    batch.ok("goto 179")
    here = s.icount
    out = batch.ok("break sched", "reverse-continue")
    assert "Breakpoint 1 (sched)" in out and "No more breakpoints" not in out
    hit = s.icount
    assert hit < here and "<sched>" in batch.ok("print $pc")
    # The nearest one: from there, the next sched is past where we started.
    batch.ok("continue")
    assert s.icount > here or s.icount == hit
    # And reverse-continue again goes on back.
    batch.ok(f"goto @{hit}", "reverse-continue")
    assert s.icount < hit


@pytest.fixture(scope="module")
def bigfork(tmp_path_factory):
    kernel, disk, bootargs = bundled_boot("bigfork", [])
    path = tmp_path_factory.mktemp("bigfork") / "bigfork.mp"
    assert record(MachineConfig(kernel=kernel, disk=disk, bootargs=bootargs), path,
                  console_echo=lambda b: None).ending == "poweroff"
    return path


def test_bigfork_reverse_continue_from_the_end_finds_cow_fault(make_batch, bigfork):
    """`break cow_fault`, `end`, `reverse-continue` stops where the last forward hit is."""
    b = make_batch(bigfork)
    try:
        b.ok("break cow_fault", "start")
        forward = []
        while "Breakpoint 1 (cow_fault)" in (out := b.ok("continue")):
            forward.append(b.session.icount)
        assert "No more breakpoints ahead" in out and forward
        b.ok("end")
        back = []
        while "Breakpoint 1 (cow_fault)" in (out := b.ok("reverse-continue")):
            back.append(b.session.icount)
        assert back == forward[::-1]
    finally:
        b.session.close()


def test_step_and_next_go_by_source_line(batch):
    s = batch.session
    batch.ok("break sys_fork", "continue")
    line = re.search(r"\((sysproc\.c):(\d+)\)", batch.ok("when", "x/1i $pc") or "")
    start = s.icount
    out = batch.ok("next")
    assert "sysproc.c:" in out and s.icount > start
    assert "(sysproc.c:" in out and not out.endswith(f"sysproc.c:{line.group(2) if line else -1})")
    stepped = s.icount
    out = batch.ok("reverse-next")
    assert s.icount < stepped and "sysproc.c:" in out
    out = batch.ok("step")
    assert s.icount > start
    out = batch.ok("stepi", "reverse-stepi")
    assert "icount" in out


def test_event_moves_have_their_own_names(batch):
    s = batch.session
    batch.ok("goto 10", "step-event")
    assert s.event_number == 11 and s.at_event
    batch.ok("se 3")
    assert s.event_number == 14
    batch.ok("reverse-step-event 2")
    assert s.event_number == 12
    batch.ok("rse")
    assert s.event_number == 11


def test_ctrl_c_stops_a_long_move_where_it_got_and_says_where(batch):
    """A KeyboardInterrupt in the middle of a search (as Ctrl-C raises it) moves the position
    to where the search got, and the debugger says so."""
    s = batch.session
    batch.ok("goto 5", f"watch phys:{quiet_bytes(s.engine.image):#x} 8")
    start = s.icount
    calls = []

    def progress(done, total):
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt
    s.engine.progress = progress
    out = batch.run("continue")
    s.engine.progress = None
    assert "Interrupted at icount" in out
    assert s.icount > start and s.icount == _icount(out.split("Interrupted")[1])
    assert s.icount < s.engine.end_icount
    batch.ok("info registers pc")           # the machine is usable there


def test_a_breakpoint_whose_code_never_runs_costs_no_reexecution(forkexec):
    """The recording's intervals say panic never ran: continue and reverse-continue answer
    without running the machine at all."""
    from rvtrace.replay import PcStop, ReplaySession, StopSet
    with ReplaySession(forkexec.path) as s:
        assert s.trace.intervals() is not None
        stops = StopSet(pcs=[PcStop("panic", frozenset({s.image.address_of("panic")}))])
        assert s.search(stops, forward=True) is None
        s.goto_event(len(s) - 1)
        assert s.search(stops, forward=False) is None
        assert s.engine.ran == [] and s.engine.m.icount == 0     # nothing ran
        # Code that does run is found, and the search stops at the right place.
        stops = StopSet(pcs=[PcStop("exec", frozenset({s.image.address_of("exec")}))])
        stop = s.search(stops, forward=False)
        assert stop is not None and s.registers()["pc"] == s.image.address_of("exec")
