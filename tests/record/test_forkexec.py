"""Recording forkexec: the story the issue tells, in order, from the events alone."""

from __future__ import annotations

import pytest

from rvtrace.trace.events import RESOLUTIONS, SWITCH_REASONS, Kind, code_of

from conftest import check_invariants

pytestmark = pytest.mark.slow

FORK, WAIT, EXEC, WRITE = 1, 3, 7, 16


def first(events, pred, start=0):
    for i in range(start, len(events)):
        if pred(events[i]):
            return i
    raise AssertionError(f"no event after #{start} matches")


def written_by(events, pid, start, stop):
    """The bytes process `pid` passed to write(1, ...) between two event positions."""
    return b"".join(e.args[1] for e in events[start:stop]
                    if e.kind == Kind.SYSCALL_ENTER and e.pid == pid and e.num == WRITE and e.args[0] == 1)


def console_of(events, pid):
    return b"".join(e.data for e in events if e.kind == Kind.CONSOLE_OUT and e.pid == pid)


def test_the_run_ends_with_poweroff_and_prints_the_programs_output(forkexec_trace):
    result, console, events = forkexec_trace
    assert result.ending == "poweroff" and result.exit_code == 0
    assert console == b"parent waiting\nTHIS IS ECHO\nthe child exited with status 0\n"
    assert events[-1].kind == Kind.END and events[-2].kind == Kind.POWEROFF
    assert result.pid_source == "kernel"
    assert {"forkexec", "echo"} <= set(result.processes.values())


def test_fork_exec_sleep_writes_exit_wait_in_order(forkexec_trace):
    _, _, ev = forkexec_trace
    # C is the process that execs echo; P is the one whose fork returned C.
    i_exec = first(ev, lambda e: e.kind == Kind.SYSCALL_ENTER and e.num == EXEC and e.args[0] == "echo")
    child = ev[i_exec].pid
    assert ev[i_exec].args[1] == ["echo", "THIS", "IS", "ECHO"]
    i_fork = first(ev, lambda e: e.kind == Kind.FORK and e.child == child)
    parent = ev[i_fork].pid
    assert parent != child and i_fork < i_exec
    # fork returns C in P -- after C has started: the kernel runs a new child first.
    i_fork_ret = first(ev, lambda e: e.kind == Kind.SYSCALL_EXIT and e.num == FORK and e.pid == parent)
    assert ev[i_fork_ret].ret == child

    # C sleeps on the disk inside exec.
    i_exec_done = first(ev, lambda e: e.kind == Kind.SYSCALL_EXIT and e.pid == child and e.num == EXEC, i_exec)
    i_sleep = first(ev, lambda e: e.kind == Kind.SWITCH and e.from_pid == child, i_exec)
    assert i_sleep < i_exec_done
    sleep = ev[i_sleep]
    assert sleep.reason == code_of(SWITCH_REASONS, "sleep")
    assert sleep.backtrace[0] == "sleep" and "exec" in sleep.backtrace
    assert {"bread", "virtio_disk_rw"} & set(sleep.backtrace)
    assert any(e.kind == Kind.EXEC and e.pid == child and e.argv[0] == "echo" for e in ev[i_exec:i_exec_done + 1])
    # ... and that is why "parent waiting" comes first: P prints while C sleeps in exec.
    first_parent_write = first(ev, lambda e: e.kind == Kind.SYSCALL_ENTER and e.pid == parent
                               and e.num == WRITE, i_fork)
    assert i_sleep < first_parent_write < i_exec_done

    # P writes "parent waiting", then C writes "THIS IS ECHO", then C exits with 0.
    i_exit = first(ev, lambda e: e.kind == Kind.EXIT and e.pid == child)
    assert ev[i_exit].status == 0
    assert written_by(ev, parent, i_fork, i_exit) == b"parent waiting\n"
    assert written_by(ev, child, i_exec, i_exit) == b"THIS IS ECHO\n"
    last_parent_write = max(i for i in range(i_fork, i_exit) if ev[i].kind == Kind.SYSCALL_ENTER
                            and ev[i].pid == parent and ev[i].num == WRITE)
    first_child_write = first(ev, lambda e: e.kind == Kind.SYSCALL_ENTER and e.pid == child and e.num == WRITE)
    assert last_parent_write < first_child_write

    # wait in P returns C, and P prints its last line.
    i_wait = first(ev, lambda e: e.kind == Kind.SYSCALL_EXIT and e.pid == parent and e.num == WAIT, i_exit)
    assert ev[i_wait].ret == child
    assert any(e.kind == Kind.REAPED and e.pid == parent and e.child == child and e.status == 0 for e in ev)
    assert written_by(ev, parent, i_wait, len(ev)) == b"the child exited with status 0\n"


def test_console_bytes_belong_to_the_writers(forkexec_trace):
    _, _, ev = forkexec_trace
    child = next(e.pid for e in ev if e.kind == Kind.EXEC and e.argv and e.argv[0] == "echo")
    parent = next(e.pid for e in ev if e.kind == Kind.FORK and e.child == child)
    assert console_of(ev, parent) == b"parent waiting\nthe child exited with status 0\n"
    assert console_of(ev, child) == b"THIS IS ECHO\n"


def test_copy_on_write_faults_are_resolved_by_copies(forkexec_trace):
    _, _, ev = forkexec_trace
    faults = [e for e in ev if e.kind == Kind.PAGE_FAULT]
    assert faults, "fork with COW must fault on the first write to the stack"
    assert all(e.cause == 15 and e.mode == 0 for e in faults)
    assert code_of(RESOLUTIONS, "cow-copy") in {e.resolution for e in faults}


def test_calls_nest_and_switches_chain(forkexec_trace):
    check_invariants(forkexec_trace[2])
