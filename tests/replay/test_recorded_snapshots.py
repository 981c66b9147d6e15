"""The recording's snapshots: a replay restored from one continues exactly as the recording did,
and a damaged or lying one is set aside with a warning, never believed and never a traceback."""

from __future__ import annotations

import hashlib

import pytest

from rvtrace.cli import main
from rvtrace.guest.bundle import bundled_boot
from rvtrace.machine.config import MachineConfig
from rvtrace.record import record
from rvtrace.replay.engine import Engine
from rvtrace.trace import TraceReader, TraceWriter
from rvtrace.trace import format as fmt
from rvtrace.trace.snapshots import decode, encode

EVERY = 200_000                 # forkexec (~600,000 instructions) gets two or three


def _record(path, harts: int, perturb: str):
    kernel, disk, bootargs = bundled_boot("forkexec", [])
    config = MachineConfig(kernel=kernel, disk=disk, bootargs=bootargs, harts=harts, seed=3, perturb=perturb)
    record(config, path, console_echo=lambda b: None, snapshot_every=EVERY)
    return path


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    return _record(tmp_path_factory.mktemp("snap") / "fe.mp", 1, "off")


@pytest.fixture(scope="module")
def recording3(tmp_path_factory):
    return _record(tmp_path_factory.mktemp("snap") / "fe3.mp", 3, "vary")


@pytest.fixture(scope="module")
def answer(recording):
    """`info registers` after a goto just past the second snapshot, from the intact trace."""
    with TraceReader(recording) as t:
        target = t.snapshots[1].icount + 5000
    return target, _batch(recording, f"goto @{target}", "info registers")


def _batch(path, *commands) -> str:
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        assert main(["replay", str(path), "-batch", *(x for c in commands for x in ("-ex", c))]) == 0
    return out.getvalue()


def _state(m) -> tuple:
    """Everything a user can look at: registers of every hart, RAM and disk contents."""
    return ([(h.pc, h.priv, tuple(h.x), h.satp, h.instret) for h in m.harts],
            hashlib.sha256(m.bus.ram).hexdigest(), hashlib.sha256(m.disk.disk).hexdigest(), m.icount)


@pytest.mark.parametrize("which", ["recording", "recording3"])
def test_a_restored_snapshot_continues_exactly_as_recorded(request, which):
    """On 1 hart and on 3 harts with perturbed scheduling, from every snapshot."""
    with TraceReader(request.getfixturevalue(which)) as t:
        snaps = t.snapshots
        assert len(snaps) >= 2 and all(s.icount % EVERY == 0 for s in snaps)
        plain = Engine(t, None)
        plain.seeds.bad = 0                       # from boot only: the reference
        for s in snaps:
            e = Engine(t, None)
            assert e.checkpoint_before(s.icount).icount == s.icount      # restored, not re-executed
            assert e.m.icount == s.icount and e.sink.n == s.events
            probe = s.icount + 12_345
            assert _state(e.goto(probe)) == _state(plain.goto(probe))
            for h in range(len(e.m.harts)):      # per-hart counting reaches back past the snapshot
                assert e.hart_instructions_back(h, s.icount + 10, 300) == \
                    plain.hart_instructions_back(h, s.icount + 10, 300)
            checked = e.sink.checked
            e.goto(e.end)                         # every later event re-checked: Divergence if not
            assert e.sink.checked > checked and e.finished
            assert e.seeds.warning is None


def test_a_goto_from_a_fresh_session_starts_at_the_nearest_snapshot(recording, capsys):
    with TraceReader(recording) as t:
        last = t.snapshots[-1].icount
    e = None
    with TraceReader(recording) as t:
        e = Engine(t, None)
        e.goto(last + 1000)
        assert e.seeds.loaded and min(e.ran)[0] == last   # nothing before the snapshot ran
        assert e.hart_instructions_back(0, last + 1000, 1) < last + 1000
    assert main(["dump", "--header", str(recording)]) == 0
    assert f"{len(e.seeds)} snapshots" in capsys.readouterr().out


def _copy(src, dst, change):
    """The trace at `src` rewritten into `dst` with each snapshot body passed through
    change(index, body) (None: leave the snapshot out)."""
    with TraceReader(src) as t:
        h = t.header
        w = TraceWriter(dst, config=h.config, seed=h.seed, kernel=h.kernel_elf(), disk=h.disk_image(),
                        metadata=h.metadata, kernel_name=h.kernel_name, disk_name=h.disk_name)
        snaps = list(t.snapshots)
        events = list(t.raw_events())
        for n, ev in enumerate(events[:-1]):
            while snaps and snaps[0].events == n:
                s = snaps.pop(0)
                body = change(len(t.snapshots) - len(snaps) - 1, t.snapshot_body(s))
                if body is not None:
                    w.snapshot(s.icount, body)
            w.event(*ev)
        end = events[-1]
        w.close("poweroff", end[5], icount=end[1], intervals=t._intervals)
    return dst


def _lie(field_change):
    def change(i, body):
        if i != 1:
            return body
        state = decode(body, harts=len(state_harts(body)), ram_size=1 << 30, disk_size=1 << 30)
        field_change(state)
        return encode(state)
    return change


def state_harts(body):
    import zlib
    return fmt.unpack(zlib.decompress(body))["harts"]


LIES = {
    "held events that are no placeholders": lambda s: s["recorder"].update(held=[0] * 3, leaving=[2] * len(
        s["recorder"]["leaving"])),
    "a hart the machine does not have": lambda s: s["board"].update(last_hart=7),
    "a wrong field": lambda s: s["uart"].update(rx=17),
    "a hart with three registers": lambda s: s["harts"][0].update(x=[0, 0, 0]),
    "pages outside RAM": lambda s: s.update(ram=[[1 << 40], bytes(4096), []]),
    "filled pages outside RAM": lambda s: s.update(ram=[[], b"", [[(128 << 20) // 4096 - 1, 2, 1]]]),
}


CUTS = {"a body cut short": lambda body: body[:len(body) // 2],
        "a body that is no zlib stream": lambda body: b"\x00" + body[1:]}


@pytest.mark.parametrize("lie", sorted(LIES) + sorted(CUTS))
def test_a_lying_snapshot_is_set_aside_with_one_warning(recording, answer, tmp_path, lie):
    change = _lie(LIES[lie]) if lie in LIES else (lambda i, body: CUTS[lie](body) if i == 1 else body)
    bad = _copy(recording, tmp_path / "bad.mp", change)
    target, good = answer
    text = _batch(bad, f"goto @{target}", "info registers")
    warnings = [line for line in text.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "snapshots from icount" in warnings[0] and "not used" in warnings[0]
    assert [line for line in text.splitlines() if not line.startswith("warning:")] == \
        good.splitlines()                       # the same answer, by re-execution
    assert "Traceback" not in text


def test_a_cut_snapshot_ends_the_readable_prefix_cleanly(recording, tmp_path, capsys):
    with TraceReader(recording) as t:
        s = t.snapshots[1]
    data = recording.read_bytes()
    cut = tmp_path / "cut.mp"
    cut.write_bytes(data[:s.offset + 100])      # killed while writing the snapshot
    with TraceReader(cut) as t:
        assert t.truncated and len(t) == s.events and len(t.snapshots) == 1
        last = t.event(len(t) - 1).icount
    assert main(["replay", str(cut), "-batch", "-ex", f"goto @{last}"]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_traces_without_snapshots_replay_as_before(tmp_path):
    path = tmp_path / "none.mp"
    _copy(_record(tmp_path / "src.mp", 1, "off"), path, lambda i, body: None)
    with TraceReader(path) as t:
        assert t.snapshots == []
        e = Engine(t, None)
        e.goto(e.end)
        assert e.finished and min(e.ran)[0] == 0


def test_a_far_breakpoint_is_searched_from_the_nearest_snapshot(recording):
    """`break sys_poweroff` + `continue` from the start: the intervals say where it can first
    run, so the search restores the snapshot before that and runs nothing earlier."""
    from rvtrace.replay import PcStop, ReplaySession, StopSet
    stops = lambda s: StopSet(pcs=[PcStop(1, frozenset({s.image.address_of("sys_poweroff")}))])  # noqa: E731
    with ReplaySession(recording) as fresh, ReplaySession(recording) as plain:
        plain.engine.seeds.bad = 0                # from boot only: the reference
        want = plain.search(stops(plain))
        got = fresh.search(stops(fresh))
        assert got.icount == want.icount and got.icount > fresh.trace.snapshots[-1].icount
        assert fresh.engine.ran[0][0] >= fresh.trace.snapshots[-1].icount
        assert fresh.registers() == plain.registers()


@pytest.mark.slow
def test_snapshots_of_a_kernel_without_symbols_replay_exactly(tmp_path):
    """Without symbols the recorder numbers address spaces (its `spaces` table travels too)."""
    from pathlib import Path
    kernel, disk, bootargs = bundled_boot("forkexec", [])
    stripped = tmp_path / "kernel-nosyms.elf"
    stripped.write_bytes(Path(kernel).read_bytes().replace(b".symtab\0", b".nosymt\0"))
    path = tmp_path / "nosyms.mp"
    record(MachineConfig(kernel=str(stripped), disk=disk, bootargs=bootargs), path,
           console_echo=lambda b: None, snapshot_every=EVERY)
    with TraceReader(path) as t:
        assert t.header.metadata["pid_source"] == "satp" and t.snapshots
        for s in t.snapshots:
            e = Engine(t, None)
            assert e.checkpoint_before(s.icount).icount == s.icount
            e.goto(e.end)
            assert e.finished and e.seeds.warning is None
