"""ReplaySession on a real recording of forkexec (bundled kernel, 1 hart)."""

from __future__ import annotations

import hashlib

import pytest

from rvtrace.guest.bundle import bundled_boot
from rvtrace.machine.config import MachineConfig
from rvtrace.machine.machine import Machine
from rvtrace.machine.scheduler import ReplayScheduler
from rvtrace.record import decisions_of, record
from rvtrace.replay import Divergence, EndOfTrace, ReplayError, ReplaySession, kinds_filter
from rvtrace.trace import Kind, TraceReader, TraceWriter

pytestmark = pytest.mark.slow

EVERY = 60_000          # small, so targets cross several checkpoints


def record_forkexec(path, harts=1, seed=0):
    kernel, disk, bootargs = bundled_boot("forkexec", [])
    cfg = MachineConfig(kernel=kernel, disk=disk, bootargs=bootargs, harts=harts, seed=seed)
    result = record(cfg, path, console_echo=lambda b: None)
    assert result.ending == "poweroff"
    return path


@pytest.fixture(scope="module")
def trace_path(tmp_path_factory):
    return record_forkexec(tmp_path_factory.mktemp("rep") / "forkexec.mp")


@pytest.fixture(scope="module")
def session(trace_path):
    with ReplaySession(trace_path, checkpoint_every=EVERY) as s:
        yield s


def straight_run(path, n):
    """A fresh machine from the trace, run once to icount n: (registers, pc, RAM hash)."""
    with TraceReader(path) as t:
        h = t.header
        cfg = MachineConfig(**h.config)
        m = Machine(cfg, scheduler=ReplayScheduler(decisions_of(t)), kernel_bytes=h.kernel_elf(),
                    disk_bytes=h.disk_image())
    m.run(max_insns=n)
    return state_of(m)


def state_of(m):
    return ([(list(h.x), h.pc, h.priv, h.satp) for h in m.harts], m.icount,
            hashlib.sha256(m.bus.ram).hexdigest())


# --- event moves -----------------------------------------------------------------------

def test_break_exec_continue_lands_on_the_childs_exec(session):
    session.goto_event(0)
    execs = kinds_filter([Kind.EXEC])
    seen = [session.next_event(execs)]
    while seen[-1].path != "echo":
        seen.append(session.next_event(execs))
    child = seen[-1]
    assert seen[-2].path == "forkexec"
    assert child.argv == ["echo", "THIS", "IS", "ECHO"]
    assert session.position.event == child.number and session.icount == child.icount
    session.last_event()
    assert session.prev_event(execs).number == child.number


def test_moving_past_either_end_is_a_clear_message(session):
    session.last_event()
    where = session.position
    with pytest.raises(EndOfTrace, match="no event after"):
        session.next_event()
    assert session.position == where
    session.first_event()
    with pytest.raises(EndOfTrace):
        session.prev_event()
    with pytest.raises(EndOfTrace, match="outside this recording"):
        session.goto_icount(session.end_icount + 1)
    session.goto_icount(0)
    with pytest.raises(EndOfTrace, match="start"):
        session.reverse_stepi()
    session.goto_icount(session.end_icount)
    with pytest.raises(EndOfTrace, match="end"):
        session.stepi()


# --- re-execution ---------------------------------------------------------------------------

def test_state_at_equals_a_straight_run(session, trace_path):
    end = session.end_icount
    # out of order on purpose: forwards, backwards, across checkpoints, exactly on one
    for n in (end - 1000, 1, 2 * EVERY, 3 * EVERY + 17, EVERY - 1, end // 2, end):
        assert state_of(session.state_at(n)) == straight_run(trace_path, n), n


def test_reverse_stepi_then_stepi_returns_to_identical_registers(session):
    for icount in (5, EVERY, EVERY + 1, 400_123):
        session.goto_icount(icount)
        before = session.registers()
        session.reverse_stepi()
        assert session.icount == icount - 1
        back = session.registers()
        session.stepi()
        assert session.registers() == before
        assert back != before
    session.goto_icount(300_000)
    before = session.registers()
    session.reverse_stepi(5000)
    session.stepi(5000)
    assert session.registers() == before


def test_checks_compare_every_event_on_the_way(trace_path):
    with ReplaySession(trace_path, checkpoint_every=EVERY) as s:
        s.state_at(s.end_icount)
        assert s.engine.sink.checked == len(s) - 1          # all but END, which nobody emits


def tamper(src, dst, change, chunk_events=4096):
    """Copy a trace, passing each stored event through change(number, list) -> list."""
    with TraceReader(src) as t:
        h = t.header
        w = TraceWriter(dst, config=h.config, seed=h.seed, kernel=h.kernel_elf(), disk=h.disk_image(),
                        metadata=h.metadata, chunk_events=chunk_events)
        raws = list(t.raw_events())
    ending = raws.pop()
    for i, raw in enumerate(raws):
        w.event(*change(i, list(raw)))
    w.close("poweroff", ending[5])
    return dst


def test_divergence_fires_when_an_event_was_tampered_with(trace_path, tmp_path):
    with TraceReader(trace_path) as t:
        target = next(e for e in t if e.kind == Kind.CONSOLE_OUT)

    def change(i, raw):
        if i == target.number:
            raw[4] = b"X" + raw[4][1:]
        return raw
    bad = tamper(trace_path, tmp_path / "bad.mp", change)
    with ReplaySession(bad, checkpoint_every=EVERY) as s:
        s.goto_event(target.number)               # event moves still work
        with pytest.raises(Divergence) as err:
            s.state_at(s.end_icount)
        assert err.value.recorded.data.startswith(b"X")
        assert not err.value.replayed.data.startswith(b"X")
        assert "recorded" in str(err.value) and "replayed" in str(err.value)


def test_divergence_fires_when_a_decision_was_tampered_with(trace_path, tmp_path):
    with TraceReader(trace_path) as t:
        target = next(e for e in t if e.kind == Kind.SCHEDULE)

    def change(i, raw):
        if i == target.number:
            raw[5] += 1                            # one more instruction of disk latency
        return raw
    bad = tamper(trace_path, tmp_path / "bad2.mp", change)
    with ReplaySession(bad, checkpoint_every=EVERY) as s:
        with pytest.raises(Divergence):
            s.state_at(s.end_icount)


def test_a_trace_from_another_recorder_replays_unchecked_and_says_so(trace_path, tmp_path):
    with TraceReader(trace_path) as t:
        h = t.header
        raws = list(t.raw_events())
    older = {k: v for k, v in h.metadata.items() if k != "recorder_revision"}
    path = tmp_path / "older.mp"
    w = TraceWriter(path, config=h.config, seed=h.seed, kernel=h.kernel_elf(), disk=h.disk_image(),
                    metadata=older)
    ending = raws.pop()
    for raw in raws:
        if raw[0] == Kind.CONSOLE_OUT:
            raw = list(raw)
            raw[4] = b"X"                          # what an older recorder might have said
        w.event(*raw)
    w.close("poweroff", ending[5])
    with ReplaySession(path, checkpoint_every=EVERY) as s:
        assert "another recorder" in s.notice and "record it again" in s.notice
        s.state_at(s.end_icount)                   # no Divergence: not checked
    with ReplaySession(trace_path, checkpoint_every=EVERY) as s:
        assert s.notice is None


# --- looking and smarter moves ------------------------------------------------------------

def test_the_childs_exec_call_is_in_forkexec_c(session):
    session.goto_event(0)
    call = session.next_event(kinds_filter([Kind.SYSCALL_ENTER], lambda e: e.num == 7 and e.args[0] == "echo"))
    child = call.pid
    parent = session.find_prev(kinds_filter([Kind.FORK], lambda e: e.child == child)).pid
    assert session.current_pid() == child
    here = session.where()
    assert here.space == "user" and here.program == "forkexec"
    frames = session.backtrace()
    assert any(f.file and f.file.endswith("forkexec.c") for f in frames), frames
    procs = {p.pid: p for p in session.processes()}
    assert {1, parent, child} <= set(procs)
    assert call.args[0] == "echo"


def test_finish_returns_to_the_caller(session):
    uartputc = session.image.address_of("uartputc")
    session.goto_icount(0)
    session.run_to({uartputc}, priv=1)
    assert session.registers()["pc"] == uartputc
    caller_sp = session.registers()["sp"]
    ra = session.registers()["ra"]
    session.finish()
    regs = session.registers()
    assert regs["pc"] == ra and regs["sp"] >= caller_sp


def test_next_steps_over_a_call(session):
    uartputc = session.image.address_of("uartputc")
    session.goto_icount(0)
    session.run_to({uartputc}, priv=1)
    session.finish()                                  # now just after a call in the caller
    after = session.registers()
    at = session.icount
    session.reverse_nexti()                           # back over the whole call, onto the call
    call = session.registers()
    assert after["pc"] - call["pc"] in (2, 4) and call["sp"] == after["sp"]
    assert at - session.icount > 2                    # the callee's instructions were skipped
    session.nexti()                                   # and over it again
    assert session.registers() == after and session.icount == at


def test_watch_finds_the_next_and_previous_change(session):
    ticks = session.image.address_of("ticks")
    session.goto_icount(200_000)
    old = session.read_physical(ticks, 4)
    hit = session.watch(ticks, 4, physical=True)
    assert hit.icount > 200_000 and hit.old == old and hit.new != old
    session.goto_icount(hit.icount - 1)
    assert session.read_physical(ticks, 4) == old
    session.goto_icount(hit.icount + 50_000)
    back = session.watch(ticks, 4, physical=True, reverse=True)
    session.goto_icount(back.icount)
    now = session.read_physical(ticks, 4)
    session.goto_icount(back.icount - 1)
    assert session.read_physical(ticks, 4) != now


def test_bad_requests_are_clear_messages(session):
    session.goto_icount(300_000)
    with pytest.raises(ReplayError, match="not RAM"):
        session.read_physical(0x10, 8)
    with pytest.raises(ReplayError, match="unknown CSR"):
        session.csr("nosuchcsr")
    with pytest.raises(ReplayError, match="no hart"):
        session.registers(hart=5)
    assert session.csr("satp") == session.machine.harts[0].satp


def test_three_harts_reverse_stepi_follows_one_hart(tmp_path):
    path = record_forkexec(tmp_path / "fe3.mp", harts=3, seed=1)
    with ReplaySession(path, checkpoint_every=EVERY) as s:
        assert len(s.state_at(0).harts) == 3
        s.goto_event(0)
        ev = s.next_event(kinds_filter([Kind.EXEC], lambda e: e.path == "echo"))
        hart = s.hart
        assert hart == ev.hart
        m = s.machine
        instret = m.harts[hart].instret
        before = s.registers()
        s.reverse_stepi(3)
        assert s.machine.harts[hart].instret == instret - 3
        s.stepi(3)
        assert s.registers() == before and s.icount == ev.icount
        for n in (ev.icount // 3, ev.icount + 7):
            assert state_of(s.state_at(n)) == straight_run(path, n)
        for h in range(3):                     # every hart, asleep in wfi or not
            s.goto_icount(ev.icount)
            s.select_hart(h)
            mine = s.machine.harts[h].instret
            try:
                s.stepi(50)
            except EndOfTrace:
                continue
            at = s.icount
            assert s.machine.harts[h].instret == mine + 50
            assert s.state_at(at - 1).harts[h].instret == mine + 49   # its own instruction came last


def test_a_truncated_trace_replays_its_valid_prefix(trace_path, tmp_path):
    small = tamper(trace_path, tmp_path / "small.mp", lambda i, raw: raw, chunk_events=50)
    data = small.read_bytes()
    with TraceReader(small) as t:
        cut_at = t.chunks[-1].offset + 10          # inside the last chunk: the file has no index
        full = len(t)
    cut = tmp_path / "cut.mp"
    cut.write_bytes(data[:cut_at])
    with ReplaySession(cut, checkpoint_every=EVERY) as s:
        assert s.trace.truncated and len(s) < full
        s.last_event()
        end = s.end_icount
        assert state_of(s.state_at(end)) == straight_run(trace_path, end)


def test_memory_of_another_process_through_its_page_table(session):
    session.goto_event(0)
    pid = session.next_event(kinds_filter([Kind.EXEC], lambda e: e.path == "forkexec")).pid
    session.next_event(kinds_filter([Kind.SYSCALL_ENTER], lambda e: e.pid == pid))
    assert session.current_pid() == pid
    mine = session.read_virtual(0, 64)                 # through the hart's satp (pid runs)
    assert session.read_virtual(0, 64, pid=pid) == mine
    with pytest.raises(ReplayError, match="not mapped"):
        session.read_virtual(0x3000_0000_0, 8, pid=pid)


def test_rwatch_stops_after_a_load_of_the_address(session):
    ticks = session.image.address_of("ticks")
    session.goto_icount(150_000)
    hit = session.watch(ticks, 4, physical=True, read=True)
    assert hit.icount > 150_000
    # the instruction just retired was a load (opcode 0x03) or an AMO/LR reading there
    session.reverse_stepi()
    regs = session.registers()
    code = session.read_virtual(regs["pc"], 4)
    low = int.from_bytes(code[:2], "little")
    is_load = (low & 3 == 3 and int.from_bytes(code, "little") & 0x7F in (0x03, 0x2F)) or \
              (low & 3 != 3 and (low >> 13) in (0b010, 0b011, 0b001) and low & 3 in (0, 2))
    assert is_load, hex(int.from_bytes(code, "little"))
    session.goto_icount(hit.icount + 100_000)
    back = session.watch(ticks, 4, physical=True, read=True, reverse=True)
    assert hit.icount <= back.icount < hit.icount + 100_000


def test_next_over_an_ecall_returns_after_the_system_call(session):
    session.goto_event(0)
    enter = session.next_event(kinds_filter([Kind.SYSCALL_ENTER], lambda e: e.num == 16))
    regs = session.registers()
    assert regs["priv"] == 0 and session.read_virtual(regs["pc"], 4) == (0x73).to_bytes(4, "little")
    session.nexti()
    after = session.registers()
    assert after["pc"] == regs["pc"] + 4 and after["priv"] == 0 and after["sp"] == regs["sp"]
    done = session.find_next(kinds_filter([Kind.SYSCALL_EXIT], lambda e: e.pid == enter.pid), enter.number)
    assert session.icount >= done.icount


def test_reverse_finish_goes_back_to_the_call(session):
    uartputc = session.image.address_of("uartputc")
    session.goto_icount(0)
    session.run_to({uartputc}, priv=1)
    ra = session.registers()["ra"]
    entered = session.icount
    session.reverse_finish()                       # at uartputc's entry: back onto the call
    assert ra - session.registers()["pc"] in (2, 4)
    assert session.icount == entered - 1
    session.goto_icount(entered)
    session.stepi(12)                              # somewhere inside, maybe in a callee
    here = session.where()
    entry = here.pc - here.offset
    session.reverse_finish()
    call_at = session.registers()["pc"]
    session.stepi()
    assert session.registers()["pc"] == entry and call_at != entry
