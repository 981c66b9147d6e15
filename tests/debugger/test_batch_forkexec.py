"""The debugger in batch mode on a real forkexec recording: what issue 5 checks."""

from __future__ import annotations

import re

import pytest

from rvtrace.cli import main

pytestmark = pytest.mark.slow


def test_break_exec_continue_lands_on_the_childs_exec_with_argv(batch, forkexec):
    out = batch.ok("break exec", "continue")
    assert "Catchpoint 1 (exec)" in out
    if "exec \"init\"" in out:            # the first process's own exec of /init, when recorded
        out = batch.ok("continue")
    assert f"[pid {forkexec.parent} forkexec] exec \"forkexec\"" in out      # init's child first
    out = batch.ok("continue")
    assert f"[pid {forkexec.child} echo] exec \"echo\" [\"echo\",\"THIS\",\"IS\",\"ECHO\"]" in out
    assert batch.session.event.pid == forkexec.child


def test_reverse_continue_from_the_end_lands_on_the_last_exec(batch, forkexec):
    out = batch.ok("end", "break exec", "reverse-continue")
    assert f"[pid {forkexec.child} echo] exec \"echo\"" in out
    ev = batch.session.event
    assert ev.kind_name == "exec" and ev.fields["argv"] == ["echo", "THIS", "IS", "ECHO"]
    out = batch.ok("reverse-continue")
    assert "exec \"forkexec\"" in out


def test_break_write_in_the_parent_walks_parent_waiting_char_by_char(batch, forkexec):
    batch.ok(f"break write if pid == {forkexec.parent}")
    seen = ""
    for _ in range(len("parent waiting\n")):
        out = batch.ok("continue")
        m = re.search(r'write\(1, "(.*?)", 1\)', out)
        assert m, out
        seen += m.group(1).replace("\\n", "\n")
        assert batch.session.event.pid == forkexec.parent
    assert seen == "parent waiting\n"
    # `output` shows what the console held just before the current write: all but its last char.
    assert batch.ok("output").startswith("parent waiting")


def test_reverse_stepi_then_stepi_returns_to_identical_registers(batch, forkexec):
    batch.ok(f"break write if pid == {forkexec.parent}", "continue", "stepi 5")
    before = batch.ok("info registers")
    icount = batch.session.icount
    batch.ok("reverse-stepi")
    assert batch.session.icount == icount - 1
    assert batch.ok("info registers") != before
    batch.ok("stepi")
    assert batch.session.icount == icount
    assert batch.ok("info registers") == before
    batch.ok("reverse-stepi 3", "stepi 3")
    assert batch.ok("info registers") == before


def test_list_shows_the_exec_line_of_forkexec_c_in_the_child(batch, forkexec):
    batch.ok(f"break syscall exec if pid == {forkexec.child}", "continue")
    out = batch.ok("list")
    assert "user_src/forkexec.c" in out
    assert re.search(r'=>\s+\d+\s+exec\("echo", argv\);', out), out
    bt = batch.ok("bt")
    assert "main" in bt and "forkexec.c" in bt


def test_info_procs_at_the_parents_wait_shows_the_child(batch, forkexec):
    batch.ok(f"break wait if pid == {forkexec.parent}", "continue")
    out = batch.ok("info procs")
    rows = {int(m.group(1)): m.group(0) for m in re.finditer(r"^[* ] +(\d+) .*$", out, re.M)}
    assert forkexec.parent in rows and forkexec.child in rows, out
    assert re.search(r"RUNNING|RUNNABLE|SLEEPING|ZOMBIE", rows[forkexec.child])
    assert "running on hart 0" in rows[forkexec.parent]


def test_event_commands(batch, forkexec):
    out = batch.ok("events exec")
    assert 'exec "forkexec"' in out and 'exec "echo"' in out
    batch.ok(f"break fork if pid == {forkexec.parent}", "continue")
    out = batch.ok("info event")
    assert f"child      {forkexec.child}" in out
    out = batch.ok("events around 2")
    assert out.count("\n") == 4 and "=> " in out
    assert "Current event:" in batch.ok("when")
    out = batch.ok("break output \"THIS\"", "info breakpoints")
    assert "output \"THIS\"" in out


def test_break_output_stops_where_the_text_was_printed(batch, forkexec):
    out = batch.ok('break output "THIS IS"', "continue")
    assert 'console-out "S"' in out
    assert batch.ok("output").endswith("THIS IS")


def test_tbreak_delete_disable(batch):
    batch.ok("tbreak fork", "continue")
    assert "No breakpoints" in batch.ok("info breakpoints")
    batch.ok("break exec", "disable 2")
    assert "end of the trace" in batch.ok("continue")
    batch.ok("enable", "delete 2")
    assert "No breakpoints" in batch.ok("info breakpoints")


def test_memory_and_registers(batch, forkexec):
    batch.ok(f"break syscall exec if pid == {forkexec.child}", "continue")
    assert re.fullmatch(r"\$1 = 0x[0-9a-f]+ <exec\+0x2>", batch.ok("print $pc"))
    assert batch.ok("print/x $a7") == "$2 = 0x7"           # SYS_exec
    assert '"echo"' in batch.ok("x/s $a0")
    out = batch.ok("x/4bx $a0")
    assert "0x65\t0x63\t0x68\t0x6f" in out
    assert "ecall" in batch.ok("x/2i $pc")
    assert "=>" in batch.ok("disas")
    assert "csrr" in batch.ok("x/1i phys:0x80000000")
    assert re.fullmatch(r"\$\d+ = \d+", batch.ok("print ticks"))
    assert '"forkexec"' in batch.ok(f"print proc[{forkexec.parent - 1}].name")


def test_bad_input_gives_one_message_and_the_session_goes_on(batch):
    s = batch.session
    assert 'undefined command: "frobnicate"' in batch.run("frobnicate")
    assert "bad expression" in batch.run("break write if pid == == 2")
    assert "no field 'pdi'" in batch.run("break write if pdi == 2")
    batch.ok("start")
    assert "nothing before it" in batch.run("reverse-step-event")
    assert "already at the start" in batch.run("reverse-continue")
    batch.ok("end")
    assert "nothing after it" in batch.run("step-event")
    assert "already at the end" in batch.run("continue")
    assert "there is no event 99999" in batch.run("goto 99999")
    assert "outside this recording" in batch.run("goto @999999999")
    batch.ok("goto 10")
    assert "not mapped" in batch.run("x/4gx 0xdead0000")
    assert "Traceback" not in "\n".join(batch.printer.lines)
    assert s.failed
    assert "Current event: 10 " in batch.ok("when")          # still alive, still where it was


def test_pc_breakpoints_and_watchpoints_both_ways(batch):
    out = batch.ok("break sys_exec", "continue")
    assert "<sys_exec>" in out
    first = batch.session.icount
    out = batch.ok("continue")
    assert "<sys_exec>" in out and batch.session.icount > first
    batch.ok("reverse-continue")
    assert batch.session.icount == first
    batch.ok("delete", "goto 200", "watch ticks 4")
    out = batch.ok("continue")
    m = re.search(r"Old value = (0x[0-9a-f]+)\nNew value = (0x[0-9a-f]+)", out)
    assert m and int(m.group(2), 16) == int(m.group(1), 16) + 1, out
    after = batch.session.icount
    batch.ok("continue")
    out = batch.ok("reverse-continue")
    assert batch.session.icount == after, out


def test_cli_batch_exit_codes(forkexec, capsys):
    assert main(["replay", str(forkexec.path), "-ex", "break exec echo", "-ex", "continue", "-batch"]) == 0
    out = capsys.readouterr().out
    assert "exec \"echo\"" in out
    assert main(["replay", str(forkexec.path), "-ex", "nonsense", "-ex", "when", "-batch"]) == 1
    captured = capsys.readouterr()
    assert "undefined command" in captured.out and "Before event 0" in captured.out
    assert main(["replay", str(forkexec.path) + ".missing", "-batch"]) == 2
    assert "no such trace file" in capsys.readouterr().err


def test_cli_script_file_runs_in_order_with_ex(forkexec, tmp_path, capsys):
    script = tmp_path / "cmds.gdb"
    script.write_text("# a comment\nbreak exec if pid > 1\ncontinue\n")
    assert main(["replay", str(forkexec.path), "-x", str(script), "-ex", "continue", "-batch"]) == 0
    out = capsys.readouterr().out
    assert out.index("exec \"forkexec\"") < out.index("exec \"echo\"")


def test_read_watchpoints_both_ways(batch):
    batch.ok("goto 200", "rwatch ticks 4")
    out = batch.ok("continue")
    assert "Value = " in out
    first = batch.session.icount
    batch.ok("continue")
    assert batch.session.icount > first
    batch.ok("reverse-continue")
    assert batch.session.icount == first
    assert "read watchpoint" in batch.ok("info breakpoints")


def test_next_finish_and_their_reverses(batch, forkexec):
    batch.ok(f"break syscall exec if pid == {forkexec.child}", "continue", "reverse-stepi 3")
    # Three instructions before the ecall we are in main, before the call to the exec stub.
    assert "main" in batch.ok("bt").split("\n")[0]
    while "jalr" not in batch.ok("x/1i $pc"):
        batch.ok("stepi")
    call_site = batch.session.icount
    out = batch.run("nexti")          # over the call: a successful exec never comes back here
    assert "the recording ends before the instruction after the call" in out
    assert batch.session.icount == call_site
    out = batch.run("next")           # by source line, the same
    assert "the recording ends before the return of this call" in out
    assert batch.session.icount == call_site
    batch.ok(f"goto @{call_site}", "stepi")                # into the stub
    assert "<exec" in batch.ok("print $pc")
    batch.ok("reverse-nexti")
    assert batch.session.icount == call_site
    batch.ok("delete", "break sys_exec", "continue")
    inside = batch.session.icount
    out = batch.ok("finish")
    assert "Run till exit from" in out and "<syscall+" in out
    batch.ok(f"goto @{inside}", "reverse-finish")
    assert batch.session.icount < inside
    assert "jalr" in batch.ok("x/1i $pc") or "c.jalr" in batch.ok("x/1i $pc")


def test_print_follows_dwarf_types(batch, forkexec):
    batch.ok(f"break wait if pid == {forkexec.parent}", "continue")
    assert re.search(r'= "forkexec"$', batch.ok("print cpus[0].proc->name"))
    assert re.search(rf"= {forkexec.parent}$", batch.ok("print cpus[0].proc->pid"))
    assert re.search(r"= (SLEEPING|RUNNABLE|RUNNING|ZOMBIE|USED|UNUSED)$", batch.ok("print proc[0].state"))
    assert "struct proc" in batch.ok("print &proc")
    assert "no member 'nope'" in batch.run("print proc[0].nope")
    assert "no symbol 'nosuchvar'" in batch.run("print nosuchvar")


def test_x_and_list_go_on_where_they_ended(batch, forkexec):
    batch.ok(f"break syscall exec if pid == {forkexec.child}", "continue")
    first = batch.ok("x/2gx $sp")
    more = batch.ok("x")
    assert first.split(":")[0] != more.split(":")[0]
    listing = batch.ok("list")
    again = batch.ok("list")
    assert listing != again and "forkexec.c" in again or "usys.S" in again


def test_events_filters(batch, forkexec):
    out = batch.ok(f'events if name == "echo" and kind == "exec"')
    assert out.count("\n") == 0 and 'exec "echo"' in out
    out = batch.ok("events pagefault cow")
    assert "cow-" in out
    assert "No matching events." in batch.ok("events fork if pid == 999")
    assert "bad expression" in batch.run("events if pid ==")


def test_completion_offers_commands_syscalls_processes_and_symbols(batch, forkexec):
    from prompt_toolkit.document import Document
    from rvtrace.debugger.prompt import DebuggerCompleter
    c = DebuggerCompleter(batch.session)

    def complete(text):
        return [x.text for x in c.get_completions(Document(text), None)]
    assert "break" in complete("bre") and "reverse-continue" in complete("reverse-c")
    assert complete("info reg") == ["registers"]
    assert "write" in complete("break wr") and "wait" in complete("break syscall wa")
    assert "kerneltrap" in complete("break kernelt") or "kernelvec" in complete("break kernel")
    assert '"forkexec"' in complete('break write if name == "f')
    batch.ok("break exec echo", "continue")
    assert "main" in complete("break mai")                  # the current program's symbols too
    assert "$sp" in complete("print $s")
    assert complete("frobnicate ") == []
