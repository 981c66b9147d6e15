"""One recording, start to end: build the machine, attach the recorder, run, close the trace.

`record(config, path, ...)` runs a machine to its end and writes the trace;
`rerun(path)` rebuilds the machine from a trace's header and re-runs it
over the recorded scheduler decisions, returning the events it produces --
which must equal the recorded ones (determinism; replay builds on this).

How a run ends, and the END event it leaves (docs/trace-format.md ENDINGS):
  poweroff     the guest wrote the test device (also a kernel panic: status 101)
  max-insns    the --max-insns budget ran out
  interrupted  Ctrl-C (the recorder stops at the next trap, a clean point)
  guest-fault  the machine found the guest stuck in a fault loop
  shell-idle   (--kernel mode) the shell waits for its next command
  error        anything else (an emulator bug): the trace still keeps its prefix
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rvtrace.cpu import codestore
from rvtrace.errors import UserError
from rvtrace.files import check_input, check_output, partial_path, put_in_place
from rvtrace.kernel.image import KernelImage
from rvtrace.kernel.procs import ProcessView
from rvtrace.machine.config import MachineConfig
from rvtrace.machine.elfload import check_rv64, read_kernel
from rvtrace.machine.machine import Machine
from rvtrace.machine.scheduler import ReplayScheduler, Scheduler
from rvtrace.record import blobcache
from rvtrace.record.intervals import IntervalLog
from rvtrace.record.kernelcache import kernel_image
from rvtrace.record.output import ListSink
from rvtrace.record.recorder import Interrupted, Recorder
from rvtrace.record.snapshots import SNAPSHOT_EVERY, SnapshotLayer
from rvtrace.record.shell import ShellDriver, ShellIdle
from rvtrace.trace import format as fmt
from rvtrace.trace.errors import TraceError
from rvtrace.trace.events import DECISIONS, ENDINGS, KINDS, Event, Kind, name_of
from rvtrace.trace.writer import TraceWriter

# Bump when the events the recorder writes for the same run change (a new event,
# a field decoded differently). Replay compares re-execution with the recorded
# events only for traces of this revision: an older trace still replays, unchecked.
RECORDER_REVISION = 5            # 4: syscall names in the metadata; 5: snapshot records
# The oldest revision whose events are what this recorder writes for the same run
# (4 and 5 added metadata and snapshot records, not events): replay checks traces from it on.
EVENTS_SINCE_REVISION = 3


@dataclass
class RecordResult:
    path: Path | None
    ending: str                 # one of ENDINGS
    detail: str
    icount: int
    exit_code: int | None       # the guest's, when it powered off
    events: int
    counts: dict = field(default_factory=dict)     # kind name -> events
    processes: dict = field(default_factory=dict)  # pid -> name
    pid_source: str = "kernel"
    seconds: float = 0.0
    size: int = 0               # the whole file
    header_size: int = 0        # of which the header (configuration, kernel, disk)
    snapshot_size: int = 0      # ... and the snapshot records
    snapshots: int = 0
    kept: Path | None = None    # where an earlier trace of the same name was kept (NAME.old)

    @property
    def bytes_per_event(self) -> float:
        """What the events cost on disk: chunks, index and footer over the event count."""
        return (self.size - self.header_size - self.snapshot_size) / max(self.events, 1)


def load_guest(config: MachineConfig) -> tuple[bytes, bytes | None, KernelImage]:
    """The kernel and disk bytes a run uses (stored in the trace as they were at boot)."""
    kernel = read_kernel(config.kernel)
    check_rv64(kernel, str(config.kernel))
    disk = None
    if config.disk:
        check_input(config.disk, "disk image")
        try:
            disk = Path(config.disk).read_bytes()
        except OSError as exc:
            raise UserError(f"disk image {config.disk}: cannot read it ({exc.strerror or exc})") from None
    return kernel, disk, kernel_image(kernel)


def build(config, scheduler, kernel: bytes, disk: bytes | None, image: KernelImage, sink,
          console_echo=None, progress=None) -> tuple[Machine, Recorder]:
    machine = Machine(config, scheduler=scheduler, kernel_bytes=kernel, disk_bytes=disk)
    view = ProcessView(image, lambda a, n: None)
    recorder = Recorder(machine, sink, image, view, console_echo=console_echo, progress=progress)
    view.read = recorder.read_phys
    machine.watch_fault_loops()
    machine.watch_progress(_pc_namer(image))
    return machine, recorder


def _pc_namer(image: KernelImage | None):
    """"function+0x1c" for a kernel pc, from the kernel's symbols (None without them)."""
    def name(pc: int):
        fn = image.function_at(pc) if image is not None else None
        if fn is None:
            return None
        return f"{fn[0]}+{fn[1]:#x}" if fn[1] else fn[0]
    return name


def record(config: MachineConfig, path, *, max_insns: int | None = None, input_source=None,
           shell_command: str | None = None, console_echo=None, progress=None,
           metadata: dict | None = None, snapshot_every: int = SNAPSHOT_EVERY) -> RecordResult:
    """Record a run into the trace at `path`; returns how it went (never raises for a guest problem
    once the trace is open: the ending says what happened)."""
    target = check_output(path, "trace", inputs=[config.kernel, config.disk])
    kernel, disk, image = load_guest(config)
    driver = ShellDriver(shell_command) if shell_command is not None else None
    holder: dict = {}
    scheduler = Scheduler(config.seed, input_source=_StopCheck(driver or input_source, holder),
                          perturb=config.perturb)
    machine, recorder = build(config, scheduler, kernel, disk, image, sink=_Deferred(holder),
                              console_echo=console_echo, progress=progress)
    holder["recorder"] = recorder
    if driver is not None:
        driver.attach(recorder)
    meta = {"recorder_revision": RECORDER_REVISION, "pid_source": recorder.pid_source, "max_insns": max_insns,
            "shell_command": shell_command, "kernel_trace_points": recorder.trace_points,
            "syscalls": recorder.calls.to_metadata(), "snapshot_every": snapshot_every, **(metadata or {})}
    view = recorder.kernel.view if recorder.kernel else ProcessView(image, recorder.read_phys)
    if not recorder.kernel:
        meta["introspection"] = view.reason or "the kernel has no swtch/struct context to watch"
    # Written beside the target and renamed into place when complete: a run that fails
    # never replaces a trace the user has (and an earlier one is kept as NAME.old).
    partial = partial_path(target)
    writer = TraceWriter(partial, config=config.to_dict(), seed=config.seed, kernel=kernel, disk=disk,
                         metadata=meta, compress=blobcache.compressed)
    holder["sink"] = writer
    header_bytes = writer.bytes_written
    start = time.perf_counter()
    log = IntervalLog(machine)
    log.snapshots = SnapshotLayer(machine, recorder, writer, disk, every=snapshot_every)
    try:
        with _Signals(recorder):
            ending, detail, result = _run(log, recorder, max_insns)
        codestore.flush()           # this run's translations, written now: explore's workers never exit normally
        recorder.finish(result)
        writer.close(ending, detail, icount=recorder.now(), intervals=log.section())
        kept = put_in_place(partial, target)
    except BaseException:
        writer.abandon()
        if writer.n_events == 0:
            partial.unlink(missing_ok=True)     # nothing recorded: nothing worth keeping
        raise
    return RecordResult(path=target, ending=ending, detail=detail, icount=machine.icount,
                        exit_code=result.exit_code if result else None, events=writer.n_events,
                        counts={_kind_name(k): n for k, n in sorted(recorder.out.counts.items())},
                        processes=dict(sorted(recorder.names.items())), pid_source=recorder.pid_source,
                        seconds=time.perf_counter() - start, size=target.stat().st_size,
                        header_size=header_bytes, kept=kept, snapshots=log.snapshots.laid,
                        snapshot_size=writer.snapshot_bytes)


def _run(log: IntervalLog, recorder: Recorder, max_insns):
    """Run to the end; (ending, detail, RunResult or None)."""
    try:
        result = log.run(max_insns)
    except (Interrupted, KeyboardInterrupt):
        why = getattr(recorder, "stop_signal", None) or "Ctrl-C"
        return "interrupted", f"{why} after {recorder.now()} instructions", None
    except TraceError:            # the trace itself cannot be written: nothing to keep
        raise
    except ShellIdle:
        return "shell-idle", "", None
    except UserError as exc:
        return "guest-fault", str(exc), None
    except Exception as exc:      # an emulator bug: keep the trace, say what broke
        if os.environ.get("RVTRACE_DEBUG"):
            raise
        return "error", f"internal error after {recorder.now()} instructions: {type(exc).__name__}: {exc}", None
    if result.reason == "max-insns":
        return "max-insns", f"stopped after {result.icount} instructions (--max-insns)", result
    word = "status" if result.reason == "poweroff" else "reset, status"
    return "poweroff", f"{word} {result.exit_code}", result


def _kind_name(kind: int) -> str:
    return KINDS[kind].name if kind in KINDS else f"kind{kind}"


class _Deferred:
    """The recorder's sink before the writer exists (nothing is emitted before the run)."""

    def __init__(self, holder: dict):
        self.holder = holder

    def event(self, *ev) -> None:
        self.holder["sink"].event(*ev)


class _StopCheck:
    """The input source, wrapped: each input poll is also a clean point to stop after Ctrl-C
    (polls come every 200,000 instructions and whenever all harts wait, trap or no trap),
    and a moment to push buffered events to the file (at least once a second)."""

    def __init__(self, source, holder: dict):
        self.source = source
        self.holder = holder

    def __call__(self, timeout: float = 0.0):
        recorder = self.holder.get("recorder")
        if recorder is not None and recorder.stop_requested:
            raise Interrupted()
        sink = self.holder.get("sink")
        if sink is not None:
            sink.flush_if_due()
        return self.source(timeout) if self.source is not None else None


# Signals that end a recording cleanly: the trace is closed with an `interrupted` ending.
STOP_SIGNALS = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}


class _Signals:
    """Ctrl-C, SIGTERM or SIGHUP ask the recorder to stop at its next trap (or input poll),
    which closes the trace properly; a second one stops at once (the trace is still
    closed, by the writer's error path)."""

    def __init__(self, recorder: Recorder):
        self.recorder = recorder
        self.saved: dict = {}

    def _handler(self, signum, frame):
        if self.recorder.stop_requested:
            raise KeyboardInterrupt
        self.recorder.stop_requested = True
        self.recorder.stop_signal = STOP_SIGNALS.get(signum, "a signal")

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self.saved[signum] = signal.signal(signum, self._handler)
        return self

    def __exit__(self, *exc):
        for signum, handler in self.saved.items():
            signal.signal(signum, handler)
        return False


# --- re-running a trace ---------------------------------------------------------

def decisions_of(events) -> list[tuple[str, object]]:
    """The scheduler decisions stored in a trace's schedule events, as ReplayScheduler takes them."""
    kinds = {"hart-run": "quantum", "pick-hart": "hart", "disk-latency": "disk", "input": "input",
             "timer-jitter": "jitter"}
    out = []
    for ev in events:
        if ev.kind != Kind.SCHEDULE:
            continue
        word = name_of(DECISIONS, ev.fields["decision"])
        kind = kinds.get(word)
        if kind is None:
            raise UserError(f"trace event {ev.number}: scheduler decision {word!r} cannot be replayed "
                            f"by this rvtrace")
        value = ev.fields["value"]
        if kind == "input":
            value = (value[0], bytes(value[1]))
        out.append((kind, value))
    return out


def config_of(header) -> MachineConfig:
    """The MachineConfig a trace header describes (unknown keys from newer writers ignored)."""
    known = MachineConfig.__dataclass_fields__
    return MachineConfig(**{k: v for k, v in header.config.items() if k in known})


def rebuild(header, decisions, sink) -> tuple[Machine, Recorder]:
    """A machine as a trace recorded it -- configuration, kernel and disk from `header` --
    answering the scheduler from `decisions` (decisions_of(events)), its recorder writing to
    `sink` (anything with .event(kind, icount, hart, pid, *payload), e.g. ListSink). Not run."""
    kernel, disk = header.kernel_elf(), header.disk_image()
    if kernel is None:
        raise UserError(f"{header.path}: the trace does not embed its kernel, so it cannot be re-run")
    # Everything comes from inside the trace: the names in its config are never opened
    # (a trace without a disk image runs without a disk, whatever its config names).
    config = dataclasses.replace(config_of(header), kernel=header.kernel_name,
                                 disk=header.disk_name if disk is not None else None)
    try:
        return build(config, ReplayScheduler(decisions), kernel, disk, kernel_image(kernel), sink)
    except TraceError:
        raise
    except UserError as exc:     # say which trace, and that the file is the one embedded in it
        raise UserError(f"{header.path}: the embedded kernel {header.kernel_name} cannot be run "
                        f"({exc})") from None


def rerun(trace_path) -> list[Event]:
    """Re-run the machine a trace recorded, over its recorded decisions; the events it produces.

    Equal to the recorded events for every run that ended by itself (power-off,
    --max-insns, shell-idle, guest fault). A run cut by Ctrl-C is re-run to the
    recorded end's icount and given the recorded ending; a truncated trace
    (killed recording) to its last event's icount, without an end. Around that
    last instruction the two may differ (the recording stopped mid-turn).
    """
    from rvtrace.trace.reader import TraceReader
    with TraceReader(trace_path) as t:
        header = t.header
        recorded = list(t)
    if not recorded:
        raise UserError(f"{trace_path}: the trace holds no events to re-run")
    end = recorded[-1]
    how = name_of(ENDINGS, end.fields.get("how")) if end.kind == Kind.END else None
    limit = None if how == "poweroff" else end.icount
    if how == "max-insns" and header.metadata.get("max_insns"):
        limit = header.metadata["max_insns"]
    sink = ListSink()
    machine, recorder = rebuild(header, decisions_of(recorded), sink)
    ending, detail, result = _run(IntervalLog(machine), recorder, limit)
    recorder.finish(result)
    if how is None:                         # truncated: no end to reproduce
        sink.events = [ev for ev in sink.events if ev[1] <= end.icount]
    else:
        if how != "poweroff":
            ending, detail = how, end.fields.get("detail") or ""
        sink.close(ending, detail, icount=recorder.now())
    raw = [fmt.unpack(fmt.pack(ev)) for ev in sink.events]       # stored form, as a reader sees it
    return [Event(i, ev) for i, ev in enumerate(raw)]
