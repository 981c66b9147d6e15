"""Snapshot bodies are untrusted: every field is checked against the schema before use, sizes are
bounded before inflating, and anything wrong is one Invalid (never another exception)."""

from __future__ import annotations

import zlib

import pytest

from hostile_traces import bomb
from rvtrace.trace import format as fmt
from rvtrace.trace.snapshots import PAGE, SCHEMA, decode, encode
from rvtrace.trace.validate import Invalid

RAM = 64 * PAGE


def example(t, harts: int):
    """The smallest value of schema type `t`."""
    kind = t[0]
    if kind == "int":
        return max(t[1], 0)
    if kind == "bool":
        return False
    if kind == "bytes":
        return b""
    if kind == "str":
        return ""
    if kind in ("any", "opt"):
        return None
    if kind == "list":
        return [example(t[1], harts) for _ in range(harts)] if t[2] == "harts" else []
    if kind == "tuple":
        return [example(sub, harts) for sub in t[1:]]
    return {name: example(sub, harts) for name, sub in t[1].items()}


def state(harts: int = 2) -> dict:
    s = example(SCHEMA, harts)
    s["ram"] = [[3, 9], zlib.compress(b"\x01" * PAGE + b"\x02" * PAGE), [[10, 4, 0xAB]]]
    return s


def paths(value, at=()):
    """Every (path, value) inside a state."""
    yield at, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, at + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, at + (i,))


def test_a_good_state_round_trips():
    got = decode(encode(state()), harts=2, ram_size=RAM, disk_size=None)
    assert got["ram"][1] == b"\x01" * PAGE + b"\x02" * PAGE      # page bytes inflated
    assert got["harts"] == state()["harts"]


@pytest.mark.parametrize("odd", [None, -1, 1.5, "x", b"x", [], {}, 2**64 - 1, True])
def test_every_field_of_the_wrong_type_is_refused(odd):
    good = state()
    refused = 0
    for path, value in list(paths(good)):
        if not path or path[0] == "ram" or type(value) is type(odd) and value == odd:
            continue
        bad = state()
        holder = bad
        for key in path[:-1]:
            holder = holder[key]
        holder[path[-1]] = odd
        try:
            decode(encode(bad), harts=2, ram_size=RAM, disk_size=None)
        except Invalid as exc:
            refused += 1
            assert "\n" not in str(exc)
    assert refused > 20                       # optional fields take None, bools are no ints...


@pytest.mark.parametrize("change, why", [
    (lambda s: s["harts"].pop(), "wrong number of harts"),
    (lambda s: s.update(extra=1), "an unknown field"),
    (lambda s: s["board"].pop("icount"), "a missing field"),
    (lambda s: s.update(ram=[[9, 3], s["ram"][1], []]), "pages out of order"),
    (lambda s: s.update(ram=[[64], zlib.compress(bytes(PAGE)), []]), "a page past the end of RAM"),
    (lambda s: s.update(ram=[[3], zlib.compress(bytes(2 * PAGE)), []]), "more bytes than pages"),
    (lambda s: s.update(ram=[[3], b"not zlib", []]), "page bytes that do not inflate"),
    (lambda s: s.update(ram=[[], zlib.compress(b""), [[60, 8, 1]]]), "fills past the end of RAM"),
    (lambda s: s.update(disk=s["ram"]), "disk pages without a disk"),
    (lambda s: s["recorder"].update(pending=[[1, 2, [0] * 6, [[[[[[[[[[1]]]]]]]]]], 0]]), "nested too deep"),
])
def test_impossible_states_are_refused(change, why):
    bad = state()
    change(bad)
    with pytest.raises(Invalid):
        decode(encode(bad), harts=2, ram_size=RAM, disk_size=None)


def test_bombs_and_garbage_cost_nothing():
    with pytest.raises(Invalid, match="inflates to more"):
        decode(bomb(20), harts=1, ram_size=RAM, disk_size=None)          # the whole body
    s = state()
    s["ram"] = [[3], bomb(1), []]                                        # the page bytes
    with pytest.raises(Invalid, match="more than"):
        decode(encode(s), harts=2, ram_size=RAM, disk_size=None)
    for body in (b"", b"garbage", zlib.compress(b"\xc1"), zlib.compress(fmt.pack([1, 2]))):
        with pytest.raises(Invalid):
            decode(body, harts=1, ram_size=RAM, disk_size=None)
