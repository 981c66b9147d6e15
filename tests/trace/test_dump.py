"""`rvtrace dump` on traces written here with the writer (the recorder comes later)."""

import io
import json
from pathlib import Path

import pytest

from rvtrace.analysis.dump import dump, parse_kinds
from rvtrace.trace.text import summarize_sleep
from rvtrace.cli import main
from rvtrace.errors import UserError
from rvtrace.trace import Kind, TraceError, TraceWriter

SLEEP_BT = ["sleep", "virtio_disk_rw", "bread", "readi", "loadseg", "exec", "sys_exec", "syscall", "usertrap"]
ARGV = ["echo", "THIS", "IS", "ECHO"]


def forkexec_trace(path, *, close=True):
    """Roughly what recording forkexec gives: pid 3 forks 4, 4 execs echo and sleeps on the disk."""
    w = TraceWriter(path, config={"harts": 1}, seed=0, chunk_events=5)
    E = w.event
    E(Kind.EXEC, 1000, 0, 3, "/forkexec", ["forkexec"])
    E(Kind.SYSCALL_ENTER, 1234500, 0, 3, 1, [])
    E(Kind.FORK, 1234560, 0, 3, 4)
    E(Kind.SYSCALL_EXIT, 1234567, 0, 3, 1, 4, None)
    E(Kind.SWITCH, 1235000, 0, 3, 3, 4, 1, ["yield", "usertrap"])
    E(Kind.SYSCALL_ENTER, 1240000, 0, 4, 7, ["echo", ARGV])
    E(Kind.DISK_REQUEST, 1241000, 0, 4, 0, 46, 0)
    E(Kind.SWITCH, 1242000, 0, 4, 4, 3, 2, SLEEP_BT)
    E(Kind.SYSCALL_ENTER, 1243000, 0, 3, 16, [1, b"parent waiting\n", 15])
    E(Kind.CONSOLE_OUT, 1243100, 0, 3, b"parent waiting\n")
    E(Kind.SYSCALL_EXIT, 1243200, 0, 3, 16, 15, None)
    E(Kind.PAGE_FAULT, 1244000, 0, 3, 15, 0x3fd0, 0x1c, 0, 1)
    E(Kind.INTERRUPT, 1250000, 0, 3, 9, 1, 0)
    E(Kind.DISK_COMPLETE, 1250010, 0, 3, 0, 46, 0)
    E(Kind.SWITCH, 1251000, 0, 3, 3, 4, 5, ["sleep", "wait", "sys_wait"])
    E(Kind.EXEC, 1252000, 0, 4, "echo", ARGV)
    E(Kind.SYSCALL_EXIT, 1252001, 0, 4, 7, 4, None)     # exec's exit: a0 = argc
    E(Kind.EXIT, 1260000, 0, 4, 0)
    E(Kind.REAPED, 1270000, 0, 3, 4, 0)
    E(Kind.POWEROFF, 1280000, 0, 3, 0, 0x5555)
    if close:
        w.close("poweroff", "status 0")
    else:
        w.abandon()
    return path


def run_dump(path, **kw):
    out, err = io.StringIO(), io.StringIO()
    code = dump(path, out, err=err, **kw)
    return code, out.getvalue().splitlines(), err.getvalue()


def test_strace_like_lines(tmp_path):
    code, lines, err = run_dump(forkexec_trace(tmp_path / "f.mp"))
    assert code == 0 and err == ""
    assert lines[1] == "1234500 h0 [pid 3 forkexec] fork() = 4"
    assert lines[2] == "1234560 h0 [pid 3 forkexec] fork -> child 4"
    assert lines[3] == "1235000 h0 [pid 3 forkexec] switch 3 -> 4 (timer)"
    # exec sleeps on the disk before returning: no merge, strace's "..." and "resumed".
    assert lines[4] == '1240000 h0 [pid 4 forkexec] exec("echo", ["echo","THIS","IS","ECHO"]) ...'
    assert lines[6] == "1242000 h0 [pid 4 forkexec] switch 4 -> 3 (sleep: disk read <- exec)"
    assert lines[7] == '1243000 h0 [pid 3 forkexec] write(1, "parent waiting\\n", 15) = 15'
    assert lines[8] == '1243100 h0 [pid 3 forkexec] console-out "parent waiting\\n"'
    assert lines[9] == "1244000 h0 [pid 3 forkexec] page-fault store va=0x3fd0 pc=0x1c -> cow-copy"
    assert lines[10] == "1250000 h0 [pid 3 forkexec] interrupt external irq 1 (disk)"
    assert lines[12] == "1251000 h0 [pid 3 forkexec] switch 3 -> 4 (wait)"
    assert lines[13] == '1252000 h0 [pid 4 forkexec] exec "echo" ["echo","THIS","IS","ECHO"]'
    # exec does not return on success: the dump says so, and what the new image starts with
    assert lines[14] == ("1252001 h0 [pid 4 echo] <... exec resumed> -- no return: the old image is gone; "
                         "the new one starts with a0 = argc = 4")
    assert lines[15] == "1260000 h0 [pid 4 echo] exit status 0"
    assert lines[16] == "1270000 h0 [pid 3 forkexec] reaped pid 4 (status 0)"
    assert lines[-1] == "1280000 h0 [-] end poweroff: status 0"


def test_enter_exit_split_by_another_hart_stays_in_order(tmp_path):
    p = tmp_path / "t.mp"
    with TraceWriter(p, config={"harts": 2}) as w:
        w.event(Kind.SYSCALL_ENTER, 10, 0, 3, 11, [])
        w.event(Kind.PAGE_FAULT, 11, 1, 5, 13, 0x10, 0x20, 0, 3)
        w.event(Kind.SYSCALL_EXIT, 12, 0, 3, 11, 3, None)
    _, lines, _ = run_dump(p)
    assert lines[:2] == ["10 h0 [pid 3] getpid() = 3",
                         "11 h1 [pid 5] page-fault load va=0x10 pc=0x20 -> lazy-alloc"]


def test_kernel_faults_are_named_from_the_embedded_kernel(tmp_path):
    from rvtrace.guest.toolchain import compile_elf
    guest = Path(__file__).resolve().parents[1] / "kernel_introspection" / "guest"
    elf = compile_elf([guest / "mini.c", guest / "mini_asm.S"], tmp_path / "k.elf", guest / "mini.ld",
                      extra_flags=["-Wl,--no-gc-sections"])
    from rvtrace.kernel import KernelImage
    bread = KernelImage(elf).address_of("bread")
    p = tmp_path / "t.mp"
    with TraceWriter(p, config={}, kernel=elf.read_bytes()) as w:
        w.event(Kind.PAGE_FAULT, 1, 0, 3, 15, 0x5000, bread + 4, 1, 1)
        w.event(Kind.PAGE_FAULT, 2, 0, 3, 13, 0x5000, 0x10, 1, 4)
    _, lines, _ = run_dump(p)
    assert lines[0] == f"1 h0 [pid 3] page-fault store va=0x5000 pc={bread + 4:#x} (kernel bread+0x4) -> cow-copy"
    assert lines[1] == "2 h0 [pid 3] page-fault load va=0x5000 pc=0x10 (kernel) -> killed"


def test_filters(tmp_path):
    p = forkexec_trace(tmp_path / "f.mp")
    _, lines, _ = run_dump(p, kinds="pagefault,exit")
    assert [l.split("] ")[1].split()[0] for l in lines] == ["page-fault", "exit"]
    _, lines, _ = run_dump(p, pid=4)
    assert all("[pid 4" in l or "switch" in l for l in lines) and len(lines) == 8
    _, lines, _ = run_dump(p, kinds="syscall", pid=3)
    assert lines == ["1234500 h0 [pid 3 forkexec] fork() = 4",
                     '1243000 h0 [pid 3 forkexec] write(1, "parent waiting\\n", 15) = 15']


def test_json_lines(tmp_path):
    _, lines, _ = run_dump(forkexec_trace(tmp_path / "f.mp"), as_json=True)
    objs = [json.loads(l) for l in lines]
    assert len(objs) == 21 and [o["n"] for o in objs] == list(range(21))
    write = objs[8]
    assert write["kind"] == "syscall-enter" and write["name"] == "write"
    assert write["args"] == [1, "parent waiting\n", 15] and write["process"] == "forkexec"
    assert objs[11]["va"] == 0x3fd0 and objs[11]["kind"] == "page-fault"


def test_truncated_trace_prints_prefix_and_warns(tmp_path):
    p = forkexec_trace(tmp_path / "f.mp", close=False)
    data = p.read_bytes()
    p.write_bytes(data[:-10])          # the last chunk is cut
    code, lines, err = run_dump(p)
    assert code == 0 and "truncated" in err and "15 events" in err
    assert lines[-1] == "1251000 h0 [pid 3 forkexec] switch 3 -> 4 (wait)"      # event 14, the last kept


def test_kind_names():
    assert parse_kinds(None) is None
    assert parse_kinds("syscall") == {Kind.SYSCALL_ENTER, Kind.SYSCALL_EXIT}
    assert parse_kinds("pagefault, fork") == {Kind.PAGE_FAULT, Kind.COW, Kind.FORK}
    with pytest.raises(UserError, match="unknown event kind 'nope'"):
        parse_kinds("nope")


def test_sleep_summaries():
    assert summarize_sleep(SLEEP_BT) == "disk read <- exec"
    assert summarize_sleep(["sleep", "consoleread", "fileread", "sys_read"]) == "console read"
    assert summarize_sleep(["sleep", "foo", "bar"]) == "foo <- bar"


def test_cli_dump(tmp_path, capsys):
    p = forkexec_trace(tmp_path / "f.mp")
    assert main(["dump", str(p), "--kind", "exit"]) == 0
    assert capsys.readouterr().out == "1260000 h0 [pid 4 echo] exit status 0\n"
    assert main(["dump", str(tmp_path / "missing.mp")]) == 2
    assert "no such trace file" in capsys.readouterr().err
    (tmp_path / "junk.mp").write_bytes(b"\x00" * 100)
    assert main(["dump", str(tmp_path / "junk.mp")]) == 2
    assert "not an rvtrace trace" in capsys.readouterr().err


# Whatever a (buggy or hostile) writer put in the payloads, dump prints lines or names the
# first bad event in one line (a TraceError), never a traceback.
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rvtrace.trace.events import KINDS

odd_values = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.binary(max_size=8)
                          | st.text(max_size=8), lambda c: st.lists(c, max_size=3), max_leaves=6)


@st.composite
def odd_events(draw):
    out, icount = [], 0
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(sorted(KINDS)))
        icount += draw(st.integers(0, 100))
        n = len(KINDS[kind].fields) if draw(st.booleans()) else draw(st.integers(0, 6))
        out.append([kind, icount, draw(st.integers(0, 3)), draw(st.integers(0, 5)),
                    *[draw(odd_values) for _ in range(n)]])
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=odd_events())
def test_dump_survives_any_payload(tmp_path, events):
    p = tmp_path / "odd.mp"
    with TraceWriter(p, config={"harts": 4}, check=False) as w:
        for e in events:
            w.event(*e)
    for as_json in (False, True):
        try:
            code, lines, err = run_dump(p, as_json=as_json)
        except TraceError as exc:
            assert "\n" not in str(exc) and "event" in str(exc)
            continue
        if code == 1:       # the first bad event ends the readable prefix, and dump says so
            assert err.startswith("rvtrace: warning:") and "damaged" in err and err.count("\n") == 1
        else:
            assert code == 0 and len(lines) >= 1
