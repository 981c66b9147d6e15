"""explore over fixed seeds, then diff and the exports over the traces it kept (3 harts, perturbed)."""

import json
import xml.etree.ElementTree as ET

import pytest

from rvtrace.analysis.diff import diff_runs
from rvtrace.analysis.runlog import RunLog
from rvtrace.cli import main
from rvtrace.trace.reader import TraceReader
from rvtrace.record import rerun

pytestmark = pytest.mark.slow


def test_explore_keeps_one_trace_per_output_and_outcomes_json(explored):
    data = explored.outcomes
    assert sorted(s for o in data for s in o["seeds"]) == [6, 7, 8]
    assert [o["runs"] for o in data] == sorted((o["runs"] for o in data), reverse=True)
    assert len({o["output"] for o in data}) == len(data)
    for o in data:
        assert sorted(s for order in o["orders"] for s in order["seeds"]) == o["seeds"]
        assert len(o["orders"]) == o["syscall_orders"]
        assert all(any(step.startswith("3:exec") for step in order["order"]) for order in o["orders"])
    for o in data:
        path = explored.dir / o["trace"]
        assert path.exists() and not o["trace"].startswith("/")
        log = RunLog(path)
        assert log.output.decode() == o["output"] and log.header.seed in o["seeds"]
        assert log.header.config["perturb"] == "vary"
    assert not (explored.dir / ".runs").exists()
    assert f"3 seeds, {len(data)} distinct outputs" in explored.table
    assert "parent" in explored.table


def test_a_perturbed_trace_replays_exactly(explored):
    with TraceReader(explored.other) as t:
        recorded = list(t)
    assert any(e.kind_name == "schedule" and e.fields["decision"] == 3 for e in recorded)   # timer-jitter
    assert rerun(explored.other) == recorded


def test_diff_names_the_decision_and_the_differing_output(explored, capsys):
    a, b = RunLog(explored.usual), RunLog(explored.other)
    r = diff_runs(a, b)
    assert not r.identical and not r.same_order
    assert r.first_output_difference is not None
    assert r.a.event is not None and r.b.event is not None
    assert r.a.event.pid != r.b.event.pid or r.a.event.kind != r.b.event.kind
    assert "run A " in r.summary and "run B " in r.summary
    assert "hart" in r.summary and ("instructions" in r.summary or "switched" in r.summary)
    assert main(["diff", str(explored.usual), str(explored.other)]) == 1
    out = capsys.readouterr().out
    assert "Decision: run A" in out and "console output differs from byte" in out
    assert json.dumps(a.output.decode())[:-1][:10] in out
    assert main(["diff", str(explored.usual), str(explored.other), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["divergence"]["a"]["event"] == r.a.event.number
    assert data["output"]["first_difference"] == r.first_output_difference


def test_a_trace_diffed_with_itself_is_empty(explored, capsys):
    assert main(["diff", str(explored.other), str(explored.other)]) == 0
    assert capsys.readouterr().out == ""
    assert main(["diff", str(explored.other), str(explored.dir / "missing.mp")]) == 2


def test_debugger_diff_moves_to_the_divergence(explored):
    from rvtrace.debugger.main import open_session
    from rvtrace.debugger.printer import CollectingPrinter
    r = diff_runs(RunLog(explored.usual), RunLog(explored.other))
    s = open_session(str(explored.usual), CollectingPrinter())
    try:
        assert s.run_line(f"diff {explored.other}")
        assert s.event_number == r.a.event.number
        assert "Where the runs part:" in s.printer.output
        assert s.run_line("timeline") and "h2 " in s.printer.output
    finally:
        s.close()


def test_perfetto_export_has_a_track_per_hart_and_per_process(explored, tmp_path):
    perfetto = pytest.importorskip("perfetto.protos.perfetto.trace.perfetto_trace_pb2",
                                   reason="the perfetto package (dev extra) is not installed")
    out = tmp_path / "run.pftrace"
    assert main(["export", str(explored.other), "--format", "perfetto", "-o", str(out)]) == 0
    trace = perfetto.Trace()
    trace.ParseFromString(out.read_bytes())
    tracks = [p.track_descriptor for p in trace.packet if p.HasField("track_descriptor")]
    assert {t.name for t in tracks} >= {"hart 0", "hart 1", "hart 2"}
    log = RunLog(explored.other)
    assert {t.process.pid for t in tracks if t.HasField("process")} == set(log.pids)
    events = [p.track_event for p in trace.packet if p.HasField("track_event")]
    kinds = {e.type for e in events}
    assert {perfetto.TrackEvent.TYPE_SLICE_BEGIN, perfetto.TrackEvent.TYPE_SLICE_END,
            perfetto.TrackEvent.TYPE_INSTANT} <= kinds
    assert any(e.flow_ids for e in events) and any(e.terminating_flow_ids for e in events)
    assert any(e.name.startswith("write(") for e in events)


def test_svg_export_is_xml_with_one_lane_per_hart(explored, tmp_path):
    out = tmp_path / "run.svg"
    assert main(["export", str(explored.other), "--format", "svg", "-o", str(out)]) == 0
    root = ET.parse(out).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    lanes = [g for g in root.iter(f"{ns}g") if g.get("class") == "lane"]
    assert [g.get("id") for g in lanes] == ["hart-0", "hart-1", "hart-2"]
    assert sum(1 for g in lanes for r in g.iter(f"{ns}rect")) > 6


def test_timeline_command_draws_a_lane_per_hart(explored, capsys):
    assert main(["timeline", str(explored.other), "--width", "80", "--from", "300000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    lanes = [l for l in lines if l[:2] == "h0" or l[:2] == "h1" or l[:2] == "h2"]
    assert len(lanes) == 3 and all(len(l) == 80 for l in lanes)
