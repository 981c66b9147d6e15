"""What hostile traces cost: every case of the hostile catalogue plus random damage.

    python bench/bench_hostile.py [--random N]

Reads each hostile trace as `dump` does (header, embedded kernel and disk,
every event, text and JSON) and prints how many cases ended in a clean
error, a warned prefix or were read whole, and the worst time and memory
(peak Python allocations) any one of them cost. Prints figures; asserts
nothing (tests/trace/test_hostile_traces.py does).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import zlib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "trace"))

from hostile_traces import CASES, chunk_record, good_events, header_body, measured, write_trace  # noqa: E402

from rvtrace.trace import format as fmt  # noqa: E402
from rvtrace.trace.events import KINDS, Kind  # noqa: E402

ODD = [None, True, -1, 2**64 - 1, 2**31, 1.5, "x", b"\x00", [], [[[[[[[[[[1]]]]]]]]]], {"a": 1}, 7, 99]


def random_events(rng: random.Random) -> list[list]:
    events = good_events(rng.randint(2, 40))
    events.insert(1, [Kind.SYSCALL_ENTER, 101, 0, 1, 16, [1, b"x", 1]])
    events.insert(2, [Kind.PAGE_FAULT, 102, 0, 1, 13, 0x1000, 0x20, 0, 1])
    for _ in range(rng.randint(1, 3)):
        ev = rng.choice(events)
        j = rng.randrange(len(ev) + 1)
        value = rng.choice(ODD + sorted(KINDS))
        if j == len(ev):
            ev.append(value)
        else:
            ev[j] = value
    return events


def random_trace(path: Path, rng: random.Random, sample: bytes) -> str:
    """One random hostile trace: damaged bytes of a real one, or odd values with valid CRCs."""
    if rng.random() < 0.4:
        raw = bytearray(sample)
        for _ in range(rng.randint(1, 4)):
            raw[rng.randrange(len(raw))] ^= rng.randint(1, 255)
        if rng.random() < 0.3:
            del raw[rng.randrange(len(raw)):]
        path.write_bytes(bytes(raw))
        return "byte damage"
    while True:                  # some odd values cannot even be packed: draw again
        events = random_events(rng)
        split = rng.randint(1, 8)
        try:
            chunks = [chunk_record(i, events[i:i + split]) for i in range(0, len(events), split)]
            break
        except (OverflowError, ValueError, TypeError):
            continue
    body = header_body()
    if rng.random() < 0.3:
        body["config"][rng.choice(["mem_mib", "harts", "seed", "kernel"])] = rng.choice(ODD)
    lie = rng.random() < 0.2
    try:
        write_trace(path, body, chunks, index=(lambda t: {**t, "chunks": t["chunks"][:-1]}) if lie else "auto")
    except (OverflowError, ValueError, TypeError):
        write_trace(path, header_body(), chunks)
    return "valid CRCs"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--random", type=int, default=300, help="random hostile traces besides the catalogue")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    rng = random.Random(args.seed)
    tally: Counter = Counter()
    worst_time = worst_mem = (0.0, "")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "hostile.mp"
        sample_path = Path(d) / "sample.mp"
        write_trace(sample_path, header_body(kernel=zlib.compress(bytes(4096)), kernel_size=4096),
                    [chunk_record(i, good_events(40)[i:i + 8]) for i in range(0, 40, 8)])
        sample = sample_path.read_bytes()
        work = [(name, make) for name, make in sorted(CASES.items())]
        work += [(f"random {i}", None) for i in range(args.random)]
        for name, make in work:
            kind = "catalogue"
            if make is None:
                kind = random_trace(path, rng, sample)
            else:
                make(path)
            try:
                (how, _), seconds, peak = measured(path)
            except Exception as exc:      # anything but a clean ending is a bug
                how, seconds, peak = f"ESCAPED {type(exc).__name__}", 0.0, 0
                print(f"{name}: {type(exc).__name__}: {exc}")
            tally[(kind, how)] += 1
            worst_time = max(worst_time, (seconds, name))
            worst_mem = max(worst_mem, (peak, name))
    total = sum(tally.values())
    print(f"hostile traces tried: {total}")
    for (kind, how), n in sorted(tally.items()):
        print(f"  {kind:12s} {how:10s} {n}")
    escaped = sum(n for (_, how), n in tally.items() if how.startswith("ESCAPED"))
    print(f"clean endings (error, warned prefix, or read whole): {total - escaped} of {total}")
    print(f"worst time: {worst_time[0]:.2f} s ({worst_time[1]})")
    print(f"worst memory: {worst_mem[0] / 2**20:.1f} MiB of Python allocations ({worst_mem[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
