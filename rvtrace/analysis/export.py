"""`rvtrace export TRACE --format perfetto|svg -o FILE`: the timeline for other tools.

perfetto  a native Perfetto trace (TracePacket protos, written with the `perfetto` package's
          TraceProtoBuilder; `pip install 'rvtrace[dev]'` brings it) that ui.perfetto.dev opens:
          a track per hart (which process ran: one slice per stretch; interrupts and faults
          as instants), a track per process with a "runs" thread (its stretches, named by hart)
          and a "system calls" track (one slice per call, enter to return), flows from each
          fork to the child's first run. Time: one instruction = 100 ns (the 10 MHz timebase).
svg       a picture for slides: one lane per hart, a coloured bar per process stretch, ticks for
          system calls, triangles for page faults, dots for interrupts, an icount axis and a
          legend. Plain SVG 1.1, no scripts or external fonts.

Both draw the same model as `rvtrace timeline` (runlog.RunLog.stretches).
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from rvtrace.analysis.runlog import HART_RUN, RunLog
from rvtrace.errors import UserError
from rvtrace.trace.events import FAULT_CAUSES, INTERRUPT_CAUSES, Kind, name_of
from rvtrace.trace.text import IRQ_NAMES

NS_PER_INSN = 100
WRITE = 16
HART_UUID, PROC_UUID, RUNS_UUID, CALLS_UUID = 1_000, 100_000, 200_000, 300_000
FLOW_BASE = 1 << 20
SEQ = 7


def export_command(path, fmt: str, output, start=None, end=None) -> int:
    log = RunLog(path)
    if fmt == "perfetto":
        data = perfetto_bytes(log)
        _write(output, data)
    elif fmt == "svg":
        _write(output, svg_text(log, start, end).encode())
    else:
        raise UserError(f"--format {fmt}: use perfetto or svg")
    return 0


def _write(output, data: bytes) -> None:
    try:
        Path(output).write_bytes(data)
    except OSError as exc:
        raise UserError(f"-o {output}: cannot write it ({exc.strerror})") from None


# --- Perfetto ----------------------------------------------------------------------------

def perfetto_bytes(log: RunLog) -> bytes:
    try:
        from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import TrackEvent
        from perfetto.trace_builder.proto_builder import TraceProtoBuilder
    except ImportError:
        raise UserError("--format perfetto needs the `perfetto` package: pip install 'rvtrace[dev]'") from None
    builder = TraceProtoBuilder()
    pids = [p for p in log.pids if p]
    _describe_tracks(builder, log, pids)
    timed = []          # (ts, order, fill(packet)) sorted before writing: each track's slices nest

    def add(icount, order, track, kind, name=None, flows=(), ends_flows=()):
        def fill(packet):
            packet.timestamp = icount * NS_PER_INSN
            packet.trusted_packet_sequence_id = SEQ
            ev = packet.track_event
            ev.type = kind
            ev.track_uuid = track
            if name is not None:
                ev.name = name
            ev.flow_ids.extend(flows)
            ev.terminating_flow_ids.extend(ends_flows)
        timed.append((icount, order, len(timed), fill))

    B, E, I = TrackEvent.TYPE_SLICE_BEGIN, TrackEvent.TYPE_SLICE_END, TrackEvent.TYPE_INSTANT
    first_run: set[int] = set()
    for s in log.stretches():
        if s.end <= s.start:
            continue
        who = log.who(s.pid, s.first_event) if s.pid else "idle"
        add(s.start, 1, HART_UUID + s.hart, B, who)
        add(s.end, 0, HART_UUID + s.hart, E)
        if s.pid:
            ends = (FLOW_BASE + s.pid,) if s.pid not in first_run and s.pid in log.parents else ()
            first_run.add(s.pid)
            add(s.start, 1, RUNS_UUID + s.pid, B, f"on hart {s.hart}", ends_flows=ends)
            add(s.end, 0, RUNS_UUID + s.pid, E)
    open_calls: dict[int, int] = {}
    for ev in log.events:
        k, f = ev.kind, ev.fields
        if k == Kind.SYSCALL_ENTER and ev.pid:
            if ev.pid in open_calls:                  # a call that never returned (exec's old image)
                add(ev.icount, 0, CALLS_UUID + ev.pid, E)
            add(ev.icount, 1, CALLS_UUID + ev.pid, B, log.what(ev)[:80])
            open_calls[ev.pid] = ev.number
        elif k == Kind.SYSCALL_EXIT and ev.pid in open_calls:
            add(ev.icount, 0, CALLS_UUID + ev.pid, E)
            del open_calls[ev.pid]
        elif k == Kind.PAGE_FAULT:
            name = f"page fault ({name_of(FAULT_CAUSES, f['cause'])})"
            add(ev.icount, 2, HART_UUID + ev.hart, I, name)
            if ev.pid:
                add(ev.icount, 2, CALLS_UUID + ev.pid, I, name)
        elif k == Kind.INTERRUPT:
            irq = IRQ_NAMES.get(f["irq"], f"irq {f['irq']}") if f["irq"] else ""
            add(ev.icount, 2, HART_UUID + ev.hart, I,
                f"interrupt {name_of(INTERRUPT_CAUSES, f['cause'])} {irq}".strip())
        elif k == Kind.FORK and ev.pid:
            add(ev.icount, 2, CALLS_UUID + ev.pid, I, f"fork -> pid {f['child']}",
                flows=(FLOW_BASE + f["child"],))
    last = log.events[-1].icount if log.events else 0
    for pid in open_calls:
        add(last, 0, CALLS_UUID + pid, E)
    for _, _, _, fill in sorted(timed, key=lambda t: t[:3]):
        fill(builder.add_packet())
    return builder.serialize()


def _describe_tracks(builder, log: RunLog, pids) -> None:
    for h in range(log.harts):
        p = builder.add_packet()
        p.trusted_packet_sequence_id = SEQ
        if h == 0:              # the sequence starts here; it uses no interned state
            p.sequence_flags = p.SEQ_INCREMENTAL_STATE_CLEARED
        p.track_descriptor.uuid = HART_UUID + h
        p.track_descriptor.name = f"hart {h}"
    for pid in pids:
        name = log.name_at(pid) or f"pid {pid}"
        p = builder.add_packet()
        p.trusted_packet_sequence_id = SEQ
        p.track_descriptor.uuid = PROC_UUID + pid
        p.track_descriptor.process.pid = pid
        p.track_descriptor.process.process_name = name
        p = builder.add_packet()
        p.trusted_packet_sequence_id = SEQ
        p.track_descriptor.uuid = RUNS_UUID + pid
        p.track_descriptor.parent_uuid = PROC_UUID + pid
        p.track_descriptor.thread.pid = pid
        p.track_descriptor.thread.tid = pid
        p.track_descriptor.thread.thread_name = f"{name} runs"
        p = builder.add_packet()
        p.trusted_packet_sequence_id = SEQ
        p.track_descriptor.uuid = CALLS_UUID + pid
        p.track_descriptor.parent_uuid = PROC_UUID + pid
        p.track_descriptor.name = "system calls"


# --- SVG -----------------------------------------------------------------------------------

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7",
           "#9c755f", "#bab0ac"]
LEFT, RIGHT, TOP, LANE, GAP = 70, 20, 56, 34, 30
WIDTH = 1200


def colour(pid: int) -> str:
    return "#dddddd" if not pid else PALETTE[(pid - 1) % len(PALETTE)]


def svg_text(log: RunLog, start=None, end=None) -> str:
    from rvtrace.analysis.timeline import window_of
    win = window_of(log, start, end)
    plot = WIDTH - LEFT - RIGHT
    x = lambda icount: LEFT + (min(max(icount, win.start), win.end) - win.start) * plot / win.span
    height = TOP + log.harts * (LANE + GAP) + 70
    turns = _turns(log)
    strip = " (dark strip: the hart was running)" if turns else ""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
           f'<text x="{LEFT}" y="22" font-size="16" font-weight="bold">{escape(_title(log))}</text>',
           f'<text x="{LEFT}" y="40" fill="#555">instructions {win.start:,} to {win.end:,}; '
           f'bars: the process on a hart{strip}; ticks above: system calls (tall, blue: write), '
           f'\u25bc page fault; \u2022 below: interrupt</text>']
    lane_y = {h: TOP + h * (LANE + GAP) for h in range(log.harts)}
    for h, y in lane_y.items():
        out.append(f'<g class="lane" id="hart-{h}">')
        out.append(f'<text x="10" y="{y + LANE / 2 + 4}" font-weight="bold">hart {h}</text>')
        out.append(f'<rect x="{LEFT}" y="{y}" width="{plot}" height="{LANE}" fill="#f4f4f4" stroke="#ccc"/>')
        for s in log.stretches():
            if s.hart != h or s.end <= win.start or s.start >= win.end or not s.pid:
                continue
            x0, x1 = x(s.start), x(s.end)
            out.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 0.8):.1f}" height="{LANE}" '
                       f'fill="{colour(s.pid)}"><title>{escape(log.who(s.pid, s.first_event))} '
                       f'@{s.start:,}..@{s.end:,}</title></rect>')
            label = log.name_at(s.pid, s.first_event) or str(s.pid)
            if x1 - x0 > 8 * len(label) + 30:
                out.append(f'<text x="{x0 + 4:.1f}" y="{y + LANE / 2 + 4}" fill="white">'
                           f'{s.pid} {escape(label)}</text>')
        for a, b in turns.get(h, ()):          # when the hart actually ran (its scheduler turns)
            if b > win.start and a < win.end:
                out.append(f'<rect x="{x(a):.1f}" y="{y + LANE - 4}" width="{max(x(b) - x(a), 0.6):.1f}" '
                           f'height="4" fill="#222" opacity="0.55"/>')
        out.append("</g>")
    for ev in log.events:
        if ev.hart not in lane_y or not win.start <= ev.icount <= win.end:
            continue
        y, px = lane_y[ev.hart], x(ev.icount)
        if ev.kind == Kind.SYSCALL_ENTER:
            write = ev.fields["num"] == WRITE
            out.append(f'<line x1="{px:.1f}" y1="{y - (11 if write else 6)}" x2="{px:.1f}" y2="{y}" '
                       f'stroke="{"#1f4e9c" if write else "#555"}" stroke-width="{1.6 if write else 1}">'
                       f'<title>{escape(log.what(ev))} #{ev.number}</title></line>')
        elif ev.kind == Kind.PAGE_FAULT:
            out.append(f'<path d="M{px - 4:.1f},{y - 9} L{px + 4:.1f},{y - 9} L{px:.1f},{y - 1} Z" '
                       f'fill="#d62728"><title>page fault #{ev.number}</title></path>')
        elif ev.kind == Kind.INTERRUPT:
            out.append(f'<circle cx="{px:.1f}" cy="{y + LANE + 5}" r="2" fill="#777"/>')
    axis_y = TOP + log.harts * (LANE + GAP) - GAP + 22
    out.append(f'<line x1="{LEFT}" y1="{axis_y}" x2="{LEFT + plot}" y2="{axis_y}" stroke="#333"/>')
    for i in range(6):
        ic = win.start + win.span * i // 5
        px = x(ic)
        anchor = "start" if i == 0 else "end" if i == 5 else "middle"
        out.append(f'<line x1="{px:.1f}" y1="{axis_y}" x2="{px:.1f}" y2="{axis_y + 5}" stroke="#333"/>')
        out.append(f'<text x="{px:.1f}" y="{axis_y + 18}" text-anchor="{anchor}">{ic:,}</text>')
    lx = LEFT
    for pid in (p for p in log.pids if p):
        out.append(f'<rect x="{lx}" y="{axis_y + 30}" width="12" height="12" fill="{colour(pid)}"/>')
        label = escape(log.who(pid))
        out.append(f'<text x="{lx + 16}" y="{axis_y + 40}">{label}</text>')
        lx += 24 + 7 * len(label)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _turns(log: RunLog) -> dict[int, list[tuple[int, int]]]:
    """hart -> [(start, end)] of its turns, from the hart-run decisions (none on one plain hart)."""
    runs = [e for e in log.events if e.kind == Kind.SCHEDULE and e.fields["decision"] == HART_RUN]
    out: dict[int, list[tuple[int, int]]] = {}
    for this, nxt in zip(runs, runs[1:] + [None]):
        end = nxt.icount if nxt is not None else log.events[-1].icount
        if end > this.icount:
            out.setdefault(this.hart, []).append((this.icount, end))
    return out


def _title(log: RunLog) -> str:
    meta = log.header.metadata or {}
    program = " ".join([meta.get("program") or "", *(meta.get("args") or [])]).strip() or log.path.name
    cfg = log.header.config
    extra = f", perturb {cfg['perturb']}" if cfg.get("perturb", "off") != "off" else ""
    return f"{program}: {log.harts} hart(s), seed {cfg.get('seed', 0)}{extra}"
