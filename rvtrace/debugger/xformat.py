"""gdb's `x/FMT` and `print/FMT` formats: [COUNT][FORMAT letter][SIZE letter], in any order.

FORMAT: x hex, d signed decimal, u unsigned, o octal, t binary, c char, a address,
s string, i instruction. SIZE: b 1, h 2, w 4, g 8 bytes. What is not given is
taken from the previous `x`, as gdb does (start: 1 x w).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rvtrace.errors import UserError

SIZES = {"b": 1, "h": 2, "w": 4, "g": 8}
LETTERS = "xduotcasi"
MAX_COUNT = 4096


@dataclass(frozen=True)
class Format:
    count: int = 1
    letter: str = "x"
    size: int = 4


DEFAULT = Format()


def parse_format(text: str, previous: Format | None = None) -> Format:
    prev = previous or DEFAULT
    count, letter, size = None, None, None
    digits = ""
    for ch in text.strip():
        if ch.isdigit():
            digits += ch
        elif ch in SIZES and size is None:
            size = SIZES[ch]
        elif ch in LETTERS and letter is None:
            letter = ch
        else:
            raise UserError(f"bad format /{text}: use [COUNT][FORMAT][SIZE], e.g. x/8gx "
                            "(FORMAT one of x d u o t c a s i; SIZE one of b h w g)")
    if digits:
        count = int(digits)
        if not 1 <= count <= MAX_COUNT:
            raise UserError(f"count {count} out of range 1..{MAX_COUNT}")
    letter = letter or prev.letter
    if letter in ("s", "i"):
        size = size or 1
    elif letter == "a":
        size = 8
    elif letter == "c":
        size = size or 1
    else:
        size = size or (prev.size if prev.letter not in ("s", "i", "c") else 4)
    return replace(prev, count=count or 1, letter=letter, size=size)


def per_line(fmt: Format) -> int:
    """How many units gdb prints per line."""
    if fmt.letter == "c":
        return 8
    return {1: 8, 2: 8, 4: 4, 8: 2}[fmt.size]


def format_unit(value: int, fmt: Format) -> str:
    bits = fmt.size * 8
    value &= (1 << bits) - 1
    letter = fmt.letter
    if letter == "x":
        return f"0x{value:0{fmt.size * 2}x}"
    if letter == "d":
        return str(value - (1 << bits) if value >> (bits - 1) else value)
    if letter == "u":
        return str(value)
    if letter == "o":
        return f"0{value:o}" if value else "0"
    if letter == "t":
        return f"{value:0{bits}b}"
    if letter == "c":
        ch = chr(value) if 32 <= value < 127 else f"\\x{value:02x}"
        return f"{value} '{ch}'"
    if letter == "a":
        return f"{value:#x}"
    return hex(value)
