"""`rvtrace explore`: record one program under many seeds and sort the runs by what happened.

Every seed is one recording (a perturbed schedule, docs/architecture.md
"Schedule perturbation"); a run is summarised by its console output and by
the cross-process order of its system calls (`2:write x15` = pid 2 made 15
calls in a row). Runs with the same output form one outcome; the table shows
each outcome, how many seeds gave it, how many distinct system-call orders
led to it and one seed to look at. DIR keeps one trace per outcome and
`outcomes.json`.

The work is a list of seeds handed to worker processes (`--jobs`) or to a
Ray cluster (`--ray`, the optional extra `cluster`); both return the same
small summaries, and the driver keeps the traces. On Ray the workers'
files are not ours to read, so the driver re-records each kept seed locally:
a seed's run is deterministic, so that trace is the one the worker saw.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from rvtrace.errors import UserError
from rvtrace.kernel.syscalls import syscall_name, table_of
from rvtrace.machine.config import MachineConfig
from rvtrace.record import record
from rvtrace.trace.events import Kind
from rvtrace.trace.reader import TraceReader


@dataclass
class RunSummary:
    seed: int
    output: str
    order: list[str]            # the syscall order, consecutive repeats collapsed
    ending: str
    icount: int


@dataclass
class Outcome:
    output: str
    seeds: list[int] = field(default_factory=list)
    orders: dict = field(default_factory=dict)           # syscall order (tuple) -> its seeds
    endings: Counter = field(default_factory=Counter)
    trace: str | None = None

    def to_json(self) -> dict:
        return {"output": self.output, "seeds": sorted(self.seeds), "trace": self.trace,
                "runs": len(self.seeds), "syscall_orders": len(self.orders),
                "orders": [{"seeds": sorted(seeds), "order": list(order)} for order, seeds in
                           sorted(self.orders.items(), key=lambda kv: (-len(kv[1]), min(kv[1])))],
                "endings": dict(self.endings)}


def parse_seeds(spec: str) -> range:
    """`0..99` (both ends included), or one seed `7`."""
    text = spec.strip()
    try:
        if ".." in text:
            a, b = text.split("..", 1)
            low, high = int(a), int(b)
        else:
            low = high = int(text)
    except ValueError:
        raise UserError(f"--seeds {spec}: give a range such as 0..99 or one seed") from None
    if low < 0 or high < low:
        raise UserError(f"--seeds {spec}: the range must run from a seed >= 0 up to a larger one")
    return range(low, high + 1)


def syscall_order(events, calls=None) -> list[str]:
    """Each system call entered, `pid:name`, in the trace's global order; repeats collapsed.
    `calls`: the trace's syscall table (table_of(header); None: the built-in one)."""
    order: list[list] = []
    for ev in events:
        if ev.kind != Kind.SYSCALL_ENTER:
            continue
        key = f"{ev.pid}:{syscall_name(ev.fields['num'], calls)}"
        if order and order[-1][0] == key:
            order[-1][1] += 1
        else:
            order.append([key, 1])
    return [k if n == 1 else f"{k} x{n}" for k, n in order]


def summarize(path, seed: int) -> RunSummary:
    out = bytearray()
    ending, icount = "truncated", 0
    with TraceReader(path) as t:
        events = list(t)
        calls = table_of(t.header)
        if t.ending is not None:
            ending = t.ending[0]
    for ev in events:
        if ev.kind == Kind.CONSOLE_OUT:
            out += bytes(ev.fields["data"])
        icount = ev.icount
    return RunSummary(seed, out.decode("utf-8", "replace"), syscall_order(events, calls), ending, icount)


def record_seed(config: MachineConfig, seed: int, path, max_insns=None, metadata=None) -> RunSummary:
    """Record one seed into `path` (quietly) and summarise it."""
    record(replace(config, seed=seed), path, max_insns=max_insns, metadata=metadata)
    return summarize(path, seed)


# --- workers -----------------------------------------------------------------------

def _local_job(job) -> RunSummary:
    config, seed, folder, max_insns, metadata = job
    return record_seed(config, seed, Path(folder) / f"seed-{seed}.mp", max_insns, metadata)


def _run_local(config, seeds, folder: Path, jobs: int, max_insns, metadata, tick):
    work = [(config, s, str(folder), max_insns, metadata) for s in seeds]
    if jobs <= 1:
        for job in work:
            yield _local_job(job)
            tick()
        return
    import multiprocessing
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for summary in pool.imap_unordered(_local_job, work):
            yield summary
            tick()


def _run_ray(config, seeds, address: str, max_insns, metadata, tick):
    """The same summaries from a Ray cluster; the guest's kernel and disk travel as bytes."""
    try:
        import ray
    except ImportError:
        raise UserError("--ray needs the `ray` package: pip install 'rvtrace[cluster]'") from None
    kernel = Path(config.kernel).read_bytes()
    disk = Path(config.disk).read_bytes() if config.disk else None
    import rvtrace                         # the nodes run exactly this code: the same runs
    ray.init(address=None if address == "local" else address, ignore_reinit_error=True,
             log_to_driver=False, runtime_env={"py_modules": [str(Path(rvtrace.__file__).parent)]},
             **({"include_dashboard": False} if address == "local" else {}))
    try:
        guest = ray.put((kernel, disk))
        task = ray.remote(_ray_batch)
        batches = [list(seeds[i:i + RAY_BATCH]) for i in range(0, len(seeds), RAY_BATCH)]
        pending = [task.remote(config, batch, guest, max_insns, metadata) for batch in batches]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for summary in ray.get(done[0]):
                yield summary
                tick()
    finally:
        ray.shutdown()


RAY_BATCH = 20      # seeds per Ray task: amortises the task's start against ~1 s per recording


def _ray_batch(config, seeds, guest, max_insns, metadata):
    """One Ray task: record `seeds` on this node from the kernel and disk bytes it was sent."""
    kernel, disk = guest
    out = []
    with tempfile.TemporaryDirectory(prefix="rvtrace-explore-") as tmp:
        k = Path(tmp) / "kernel.elf"
        k.write_bytes(kernel)
        d = None
        if disk is not None:
            d = Path(tmp) / "disk.img"
            d.write_bytes(disk)
        here = replace(config, kernel=str(k), disk=str(d) if d else None)
        for seed in seeds:
            path = Path(tmp) / f"seed-{seed}.mp"
            out.append(record_seed(here, seed, path, max_insns, metadata))
            path.unlink()
    return out


# --- the driver ------------------------------------------------------------------------

class ProgressBar:
    """`[#####.....] 37/100 seeds, 3 outcomes` redrawn on a terminal; silent elsewhere."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.stream = total, 0, stream
        self.on = stream.isatty()
        self.outcomes = 0

    def tick(self) -> None:
        self.done += 1
        if not self.on:
            return
        width = 30
        full = width * self.done // self.total
        self.stream.write(f"\r\x1b[K[{'#' * full}{'.' * (width - full)}] {self.done}/{self.total} "
                          f"seeds, {self.outcomes} distinct output{'s' if self.outcomes != 1 else ''} so far")
        self.stream.flush()

    def close(self) -> None:
        if self.on:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def group(summaries) -> list[Outcome]:
    """Outcomes by console output, most frequent first (ties: smallest example seed)."""
    by_output: dict[str, Outcome] = {}
    for s in summaries:
        o = by_output.setdefault(s.output, Outcome(s.output))
        o.seeds.append(s.seed)
        o.orders.setdefault(tuple(s.order), []).append(s.seed)
        o.endings[s.ending] += 1
    return sorted(by_output.values(), key=lambda o: (-len(o.seeds), min(o.seeds)))


def explore(config: MachineConfig, seeds: range, out_dir, jobs: int = 1, ray: str | None = None,
            max_insns: int | None = None, metadata: dict | None = None, stream=None,
            progress_stream=None) -> list[Outcome]:
    """Record every seed, group the runs, keep one trace per outcome in `out_dir`, print the table."""
    stream = stream or sys.stdout
    progress_stream = progress_stream or sys.stderr
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"-o {out_dir}: cannot create the directory ({exc.strerror})") from None
    for old in out.glob("outcome-*-seed-*.mp"):     # a previous exploration's: not this one's
        old.unlink()
    runs = out / ".runs"
    runs.mkdir(exist_ok=True)
    bar = ProgressBar(len(seeds), progress_stream)
    seen: set[str] = set()
    summaries = []
    start = time.perf_counter()

    def tick():
        bar.outcomes = len(seen)
        bar.tick()

    try:
        source = (_run_ray(config, list(seeds), ray, max_insns, metadata, tick) if ray
                  else _run_local(config, seeds, runs, jobs, max_insns, metadata, tick))
        for s in source:
            summaries.append(s)
            seen.add(s.output)
    finally:
        bar.close()
    outcomes = group(summaries)
    for i, o in enumerate(outcomes, 1):
        o.trace = _keep_trace(config, o, runs, out, i, max_insns, metadata)
    shutil.rmtree(runs, ignore_errors=True)
    (out / "outcomes.json").write_text(json.dumps([o.to_json() for o in outcomes], indent=2) + "\n")
    print_table(outcomes, len(seeds), time.perf_counter() - start, out, stream)
    return outcomes


def _keep_trace(config, outcome: Outcome, runs: Path, out: Path, rank: int, max_insns, metadata) -> str:
    seed = min(outcome.seeds)
    name = f"outcome-{rank}-seed-{seed}.mp"
    recorded = runs / f"seed-{seed}.mp"
    if recorded.exists():
        os.replace(recorded, out / name)
    else:                                   # recorded elsewhere (Ray): the same run, again, here
        again = record_seed(config, seed, out / name, max_insns, metadata)
        if again.output != outcome.output:
            raise UserError(f"seed {seed} printed something else when re-recorded here: the guest "
                            f"or rvtrace differs between this machine and the cluster")
    return name


def print_table(outcomes: list[Outcome], n_seeds: int, seconds: float, out: Path, stream) -> None:
    w = stream.write
    w(f"{n_seeds} seeds, {len(outcomes)} distinct outputs ({seconds:.1f} s)\n\n")
    w(f"{'#':>3}  {'runs':>5}  {'orders':>6}  {'seed':>6}  output\n")
    for i, o in enumerate(outcomes, 1):
        lines = o.output.splitlines() or [""]
        w(f"{i:>3}  {len(o.seeds):>5}  {len(o.orders):>6}  {min(o.seeds):>6}  {_show(lines[0])}\n")
        for line in lines[1:]:
            w(f"{'':>28}{_show(line)}\n")
        odd = {e: n for e, n in o.endings.items() if e != "poweroff"}
        if odd:
            w(f"{'':>28}(runs that did not power off: {odd})\n")
    w("\norders: distinct cross-process orders of system calls among those runs\n")
    w(f"traces: {out}/outcome-N-seed-S.mp, summary: {out}/outcomes.json\n")
    if len(outcomes) > 1:
        w(f"compare two: rvtrace diff {out}/{outcomes[0].trace} {out}/{outcomes[1].trace}\n")


def _show(line: str) -> str:
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in line)
