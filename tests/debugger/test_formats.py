"""gdb's x/FMT formats."""

from __future__ import annotations

import pytest

from rvtrace.debugger.xformat import Format, format_unit, parse_format, per_line
from rvtrace.errors import UserError


@pytest.mark.parametrize("text, expected", [
    ("8gx", Format(8, "x", 8)),
    ("16bx", Format(16, "x", 1)),
    ("4wx", Format(4, "x", 4)),
    ("x8g", Format(8, "x", 8)),
    ("s", Format(1, "s", 1)),
    ("3i", Format(3, "i", 1)),
    ("2a", Format(2, "a", 8)),
    ("d", Format(1, "d", 4)),
])
def test_formats_parse(text, expected):
    assert parse_format(text) == expected


def test_missing_parts_come_from_the_previous_format():
    prev = parse_format("4gx")
    assert parse_format("2", prev) == Format(2, "x", 8)
    assert parse_format("d", prev) == Format(1, "d", 8)


@pytest.mark.parametrize("text", ["8q", "0x", "99999x", "xx"])
def test_bad_formats_are_refused(text):
    with pytest.raises(UserError):
        parse_format(text)


def test_units_print_like_gdb():
    assert format_unit(0x1f, Format(1, "x", 1)) == "0x1f"
    assert format_unit(0xffff, Format(1, "d", 2)) == "-1"
    assert format_unit(0xffff, Format(1, "u", 2)) == "65535"
    assert format_unit(5, Format(1, "t", 1)) == "00000101"
    assert format_unit(0x41, Format(1, "c", 1)) == "65 'A'"
    assert format_unit(8, Format(1, "o", 4)) == "010"
    assert per_line(Format(8, "x", 8)) == 2 and per_line(Format(16, "x", 1)) == 8
