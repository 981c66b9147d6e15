"""The analysis commands' arguments and their debugger forms, on the committed trace (no recording)."""

from pathlib import Path

import pytest

from rvtrace.analysis.explore import RunSummary, group, parse_seeds, syscall_order
from rvtrace.cli import main
from rvtrace.debugger.main import open_session
from rvtrace.debugger.printer import CollectingPrinter
from rvtrace.trace.reader import TraceReader

TRACE = Path(__file__).resolve().parents[2] / "traces" / "forkexec.mp"


@pytest.mark.parametrize("spec, seeds", [("0..3", [0, 1, 2, 3]), ("7", [7]), (" 2..2 ", [2])])
def test_seed_ranges(spec, seeds):
    assert list(parse_seeds(spec)) == seeds


@pytest.mark.parametrize("spec", ["5..2", "a..b", "-1..3", ""])
def test_bad_seed_ranges_are_one_line(spec, capsys):
    assert main(["explore", "forkexec", f"--seeds={spec}", "-o", "unused"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rvtrace: --seeds") and err.count("\n") == 1


def test_outcomes_sorted_by_frequency_then_seed():
    runs = [RunSummary(s, out, [f"2:write x{len(out)}"], "poweroff", 1) for s, out in
            [(0, "a"), (1, "b"), (2, "b"), (3, "c"), (4, "a"), (5, "b")]]
    outcomes = group(runs)
    assert [(o.output, sorted(o.seeds)) for o in outcomes] == [("b", [1, 2, 5]), ("a", [0, 4]), ("c", [3])]


def test_syscall_order_collapses_repeats():
    with TraceReader(TRACE) as t:
        order = syscall_order(t)
    assert "2:write x15" in order and order.index("3:exec") < order.index("2:write x15")


def test_debugger_explain_and_timeline():
    s = open_session(str(TRACE), CollectingPrinter())
    try:
        assert s.run_line('explain "parent waiting"')
        out = s.printer.output
        assert "written by pid 2 (forkexec)" in out and "disk read <- exec" in out
        assert s.run_line("goto 180") and s.run_line("timeline")
        assert "h0 " in s.printer.output
        assert not s.run_line('explain "not printed at all"')
        assert not s.run_line("timeline 9 3")
        assert s.run_line(f"diff {TRACE}") and "identical" in s.printer.output
    finally:
        s.close()


def test_timeline_and_export_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit) as bad_width:                   # argparse: the range in one line
        main(["timeline", str(TRACE), "--width", "5"])
    assert bad_width.value.code == 2
    assert "from 20 to 10000" in capsys.readouterr().err
    assert main(["timeline", str(TRACE), "--from", "500", "--to", "100"]) == 2
    assert main(["export", str(TRACE), "--format", "svg", "-o", str(tmp_path / "no" / "such" / "x.svg")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("rvtrace:") == 2
