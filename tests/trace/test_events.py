"""The event table is the one source of truth; the format page must mirror it."""

import re
from pathlib import Path

from rvtrace.trace.events import (KINDS, RESOLUTIONS, SWITCH_REASONS, Event, Kind, check_event,
                                  code_of, name_of)

DOC = Path(__file__).resolve().parents[2] / "docs" / "trace-format.md"


def test_format_page_lists_every_kind_with_its_fields():
    rows = re.findall(r"^\| (\d+) \| ([a-z-]+) \| ([a-z]+) \| `([a-z_ ]*)` \|", DOC.read_text(), re.M)
    documented = {int(k): (name, family, tuple(fields.split())) for k, name, family, fields in rows}
    assert documented == {int(k): (i.name, i.family, i.fields) for k, i in KINDS.items()}


def test_kinds_are_small_distinct_ints():
    assert sorted(KINDS) == list(range(len(KINDS)))
    assert len({i.name for i in KINDS.values()}) == len(KINDS)


def test_decoding_is_lenient_with_other_versions():
    short = Event(0, [Kind.PAGE_FAULT, 5, 0, 1, 15, 0x1000])          # an older writer
    assert short.va == 0x1000 and short.fields["resolution"] is None
    long = Event(1, [Kind.EXIT, 5, 0, 1, 2, "extra"])                # a newer one
    assert long.status == 2 and long.fields["field1"] == "extra"
    unknown = Event(2, [99, 5, 0, 1, "x"])
    assert unknown.kind_name == "kind99" and unknown.fields == {"field0": "x"}


def test_enumeration_names():
    assert name_of(RESOLUTIONS, code_of(RESOLUTIONS, "cow-copy")) == "cow-copy"
    assert name_of(SWITCH_REASONS, 77) == "?77" and name_of({1: "a"}, None) == "?None"


def test_check_event():
    check_event(Kind.EXEC, ("p", []))
    for bad in ((Kind.EXEC, ("p",)), (77, ())):
        try:
            check_event(*bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} accepted")
