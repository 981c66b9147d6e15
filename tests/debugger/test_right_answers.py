"""Issue 8's findings 1, 3, 4, 5 and 6, with the issue's own commands, through `rvtrace replay
TRACE -ex ... -batch` and `rvtrace dump` on real recordings of the bundled kernel."""

from __future__ import annotations

import re

import pytest

from rvtrace.cli import main
from rvtrace.record import RECORDER_REVISION
from rvtrace.trace import Kind, TraceReader

pytestmark = pytest.mark.slow


def _record(tmp_path_factory, program: str, *args: str):
    from rvtrace.guest.bundle import bundled_boot
    from rvtrace.machine.config import MachineConfig
    from rvtrace.record import record
    kernel, disk, bootargs = bundled_boot(program, list(args))
    path = tmp_path_factory.mktemp(program) / f"{program}.mp"
    out = bytearray()
    result = record(MachineConfig(kernel=kernel, disk=disk, bootargs=bootargs), path,
                    console_echo=out.append, metadata={"program": program, "args": list(args)})
    assert result.ending == "poweroff"
    return path, out.decode()


@pytest.fixture(scope="module")
def bigfork(tmp_path_factory):
    return _record(tmp_path_factory, "bigfork", "1")


@pytest.fixture(scope="module")
def twochildren(tmp_path_factory):
    return _record(tmp_path_factory, "twochildren")[0]


@pytest.fixture(scope="module")
def waitnochild(tmp_path_factory):
    return _record(tmp_path_factory, "waitnochild")[0]


def replay(capsys, path, *commands: str) -> str:
    argv = ["replay", str(path)]
    for c in commands:
        argv += ["-ex", c]
    code = main(argv + ["-batch"])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


# --- finding 1: exec does not return on success ------------------------------------------------

def test_exec_success_is_not_a_return_of_zero(forkexec, capsys):
    assert main(["dump", str(forkexec.path), "--kind", "syscall,exec"]) == 0
    dump = capsys.readouterr().out
    resumed = [line for line in dump.splitlines() if "exec resumed" in line and "echo" in line]
    assert resumed, dump
    assert "= 0x0" not in resumed[0] and "= 0" not in resumed[0]
    assert "no return: the old image is gone; the new one starts with a0 = argc = 4" in resumed[0]
    assert re.search(r'exec "echo" \["echo","THIS","IS","ECHO"\] \(new image, entry 0x[0-9a-f]+\)', dump)

    out = replay(capsys, forkexec.path, "break syscall exec if ret >= 0", "continue", "continue",
                 "print $a0")
    assert "exec() returned" not in out
    assert "exec() succeeded, no return: the old image is gone; the new one starts with a0 = argc = 4" in out
    assert out.rstrip().endswith("= 4")          # the register agrees with what the line says


# --- finding 3: callers named at their call; the chain ends at the boot frame -------------------

def test_backtrace_through_exit_names_sys_exit(forkexec, capsys):
    out = replay(capsys, forkexec.path, f"break exit if pid == {forkexec.child}", "continue", "bt")
    frames = [line for line in out.splitlines() if re.match(r"#\d+ ", line)]
    names = [re.search(r" in (\S+)", f).group(1).split("+")[0] for f in frames]
    assert names[:6] == ["swtch", "sched", "exit", "sys_exit", "syscall", "usertrap"], frames
    assert "sys_getpid" not in out
    # below the trap: the user program's frames, ending at its entry
    assert names[-1] == "_start" and all("[echo]" in f for f in frames[6:]), frames


def test_bt_n_frame_up_down(forkexec, capsys):
    out = replay(capsys, forkexec.path, f"break exit if pid == {forkexec.child}", "continue",
                 "bt 2", "up", "info frame", "frame 3", "down", "frame")
    assert "(More stack frames follow...)" in out
    assert re.search(r"#1 +0x[0-9a-f]+ in sched\+0x[0-9a-f]+ at kernel_src/proc.c:\d+", out)
    assert "Stack level 1, frame at 0x" in out and "saved pc = 0x" in out
    lines = [line for line in out.splitlines() if re.match(r"#\d", line)]
    assert re.match(r"#3 +0x[0-9a-f]+ in sys_exit", lines[-3])                # frame 3
    assert re.match(r"#2 +0x[0-9a-f]+ in exit\+", lines[-2])                  # down
    assert lines[-1] == lines[-2]                                            # frame: the same one


# --- finding 4: conditions on a call's return -------------------------------------------------

def test_break_wait_if_ret_stops_where_wait_returns_minus_one(waitnochild, capsys):
    out = replay(capsys, waitnochild, "break wait if ret == -1", "continue", "info event")
    assert "-- stops where the call returns" in out
    assert re.search(r"wait\(\) returned -1", out)
    assert "syscall-exit" in out
    listed = replay(capsys, waitnochild, "events wait if ret == -1")
    assert re.search(r"wait\(\) returned -1", listed) and "No matching events" not in listed


def test_break_wait_if_ret_is_a_pid_stops_at_that_return(twochildren, capsys):
    out = replay(capsys, twochildren, "break wait if ret == 4", "continue")
    assert re.search(r"=> #\d+ @\d+ h0 \[pid 2 twochildren\] wait\(\) returned 4", out)


def test_watch_a_local_stops_in_copyout_of_wait(twochildren, capsys):
    out = replay(capsys, twochildren, "break wait if pid == 2", "continue", "watch status", "delete 1",
                 "continue", "bt", "frame 7", "print status")
    assert re.search(r"Hardware watchpoint 2: status \(4 bytes\)", out)
    assert "Old value = 0xffffffff" in out                     # status = -1 before wait
    frames = re.findall(r"^#\d+ +0x[0-9a-f]+ in (\w+)", out, re.M)
    assert frames[:3] == ["memmove", "copyout", "wait"] and "main" in frames
    new = int(re.search(r"New value = (0x[0-9a-f]+)", out).group(1), 16)
    assert re.search(rf"\$1 = {new - (1 << 32) if new >> 31 else new}$", out, re.M)


def test_conditions_on_fields_the_events_lack_are_refused(forkexec, capsys):
    code = main(["replay", str(forkexec.path), "-ex", "break exec if ret == 4", "-batch"])
    out = capsys.readouterr().out
    assert code == 1
    assert "`exec` stops at events that have no ret" in out and "break syscall exec if ret == 4" in out
    out = replay(capsys, forkexec.path, "break wait if ret == 4", "continue")
    assert "No more breakpoints ahead" in out         # forkexec's waits return 3 and 2: an honest miss
    out = replay(capsys, forkexec.path, f"events write if fd == 1 and ret == 1 and pid == {forkexec.child}")
    # echo writes "THIS", " ", "IS", " ", "ECHO", "\n": three of them return 1; fd comes from the entry
    assert out.count("write() returned 1") == 3


# --- finding 5: symbols, source and locals follow the address space --------------------------

def test_user_symbols_locals_and_source_in_the_parent(forkexec, capsys):
    stop = [f"break wait if pid == {forkexec.parent}", "continue", "delete"]
    out = replay(capsys, forkexec.path, *stop, "print status", "print &status", "info locals",
                 "list main", "break printf", "break kernel:printf", "info breakpoints")
    assert re.search(r"\$1 = -?\d+", out) and "no symbol" not in out
    assert re.search(r"\$2 = \(int \*\) 0x[0-9a-f]+", out)
    assert "status = " in out
    assert "user_src/forkexec.c:" in out and "kernel_src/main.c" not in out
    assert re.search(r"Breakpoint \d at 0x[0-9a-f]+ <printf> in forkexec", out)
    assert re.search(r"Breakpoint \d at 0x8[0-9a-f]+ <printf> in the kernel", out)
    hit = replay(capsys, forkexec.path, *stop, "break printf", "continue", "bt")
    assert re.search(r"#0 +0x[0-9a-f]+ in printf at user_src/lib/stdio.c:\d+ \[forkexec\]", hit)
    qualified = replay(capsys, forkexec.path, "list forkexec:main", "list kernel:main")
    assert "user_src/forkexec.c:" in qualified and "kernel_src/main.c:" in qualified


def test_watch_status_watches_the_variable(forkexec, capsys):
    out = replay(capsys, forkexec.path, f"break wait if pid == {forkexec.parent}", "continue",
                 "print &status", "watch status")
    addr = re.search(r"\(int \*\) (0x[0-9a-f]+)", out).group(1)
    assert re.search(r"Hardware watchpoint \d: status \(4 bytes\) \(physical 0x[0-9a-f]+\)", out)
    again = replay(capsys, forkexec.path, f"break wait if pid == {forkexec.parent}", "continue",
                   f"watch {addr} 4")
    phys = re.search(r"physical (0x[0-9a-f]+)", out).group(1)
    assert f"physical {phys}" in again


def test_instruction_breakpoint_conditions_in_c(forkexec, capsys):
    out = replay(capsys, forkexec.path, "break kerneltrap if ticks > 3", "continue", "print ticks",
                 "print $sp + 8", "print cpus[0]")
    assert int(re.search(r"\$1 = (\d+)", out).group(1)) > 3
    assert re.search(r"\$2 = \(void \*\) 0x[0-9a-f]+", out)
    assert re.search(r"\$3 = \{proc = ", out)
    code = main(["replay", str(forkexec.path), "-ex", "break kerneltrap if nosuch > 1", "-batch"])
    assert code == 1 and "no global 'nosuch'" in capsys.readouterr().out


def test_gdb_data_words_locals_args_ptype_display_symbol(forkexec, capsys):
    out = replay(capsys, forkexec.path, "break copyout", "continue", "info args", "ptype pt", "whatis len",
                 "ptype struct proc", "display len", "display/x dstva", "info display", "undisplay 1",
                 "stepi", "info symbol $pc", "info symbol proc", "print dstva + 1", "p $sp + 8")
    args = dict(re.findall(r"^(pt|dstva|src|len) = (.*)$", out, re.M))
    assert set(args) == {"pt", "dstva", "src", "len"} and args["pt"].startswith("(pagetable_t) 0x8")
    assert "type = uint64 *" in out and "type = uint64\n" in out
    assert "struct proc {" in out and "    char name[16];" in out
    shown = out.split("2:   /x dstva")[-1]                           # after `info display`
    assert re.search(r"^2: /x dstva = 0x[0-9a-f]+$", shown, re.M)
    assert not re.search(r"^1: len = ", shown, re.M)                 # undisplayed: not after stepi
    assert "copyout + 2 in section .text of the kernel" in out
    assert "proc in section .bss of the kernel" in out
    dstva = int(args["dstva"])
    assert f"= {dstva + 1}" in out and re.search(r"= \(void \*\) 0x[0-9a-f]+", out)


# --- finding 6: every COW resolution, fork's pages, the recording's settings ----------------

def test_bigfork_trace_shows_both_cow_resolutions(bigfork, capsys):
    path, console = bigfork
    faults = int(re.search(r"copy-on-write faults: (\d+)", console).group(1))
    with TraceReader(path) as t:
        events = list(t)
    parent = next(e.pid for e in events if e.kind == Kind.EXEC and e.fields["path"] == "bigfork")
    fork = next(e for e in events if e.kind == Kind.FORK and e.pid == parent)
    kstats = [e for e in events if e.kind == Kind.SYSCALL_EXIT and e.pid == parent and e.fields["num"] == 23]
    window = [e for e in events if e.kind == Kind.COW and kstats[0].icount < e.icount < kstats[-1].icount]
    assert faults == 2 and len(window) == faults
    assert {e.fields["via"] for e in window} == {1, 2}             # one by trap, one by copyout
    assert fork.fields["shared"] > 256 and fork.fields["copied"] == 0
    assert main(["dump", str(path), "--kind", "pagefault,fork"]) == 0
    dump = capsys.readouterr().out
    assert "(kernel copyout, no trap)" in dump and "(page-fault trap)" in dump
    assert re.search(r"fork -> child \d+ \(\d+ pages shared, 0 copied\)", dump)
    out = replay(capsys, path, "break cow", "continue", "continue", "continue")
    assert out.count("copy-on-write va=") >= 3


def test_dump_header_and_info_trace_show_the_settings(bigfork, capsys):
    path, _ = bigfork
    assert main(["dump", "--header", str(path)]) == 0
    out = capsys.readouterr().out
    for row in ("program        bigfork 1", "seed           0", "harts          1",
                "copy-on-write  on", f"recorder       revision {RECORDER_REVISION}",
                "syscall names  from the kernel's syscalls[] table (23 calls)",
                "snapshots      none"):
        assert row in out, out
    assert re.search(r"kernel +kernel-[0-9a-f]+\.elf  sha256 [0-9a-f]{64}", out)
    assert re.search(r"disk +fs-[0-9a-f]+\.img  sha256 [0-9a-f]{64}", out)
    assert "#0" not in out and "exec" not in out                  # only the header, no events
    info = replay(capsys, path, "info trace")
    assert "program        bigfork 1" in info and re.search(r"events +\d+", info)
