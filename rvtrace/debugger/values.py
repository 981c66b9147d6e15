"""C types from DWARF, and values in words: what `print` shows.

`_ctype(die)` turns a DWARF type into a CType, through typedefs and
qualifiers: integers (signed or not), chars, enums, pointers, arrays and
structs. `_types(image)` are the types of an image's global variables.
`_text` renders bytes of a type: integers and pointers as values, a char
array as a string, structs member by member (one level). Expressions are
evaluated by cexpr.py / cenv.py; `value_of` is their answer for `print`.
"""

from __future__ import annotations

from dataclasses import dataclass

from rvtrace.debugger import xformat
from rvtrace.errors import UserError
from rvtrace.kernel.image import array_count, dwarf_attr, member_offset

MAX_ARRAY_SHOWN = 16
MAX_STRUCT_DEPTH = 1


@dataclass
class CType:
    kind: str                  # int uint char bool enum pointer array struct void other
    size: int
    name: str
    target: "CType | None" = None           # pointer / array element
    count: int = 0                          # array length
    members: list | None = None             # struct: [(name, offset, CType)]
    enumerators: dict | None = None


class Value:
    def __init__(self, text_by_fmt, default: str):
        self._by_fmt = text_by_fmt
        self._default = default

    def format(self, fmt: str) -> str:
        return self._by_fmt(fmt) if fmt else self._default


def value_of(session, text: str) -> Value:
    """`print`'s value of `text`, evaluated as C (rvtrace/debugger/cenv.py)."""
    from rvtrace.debugger.cenv import evaluate, render
    tv = evaluate(session, text)
    return Value(lambda fmt: render(session, tv, fmt), render(session, tv, ""))


def _fmt_number(v: int, fmt: str, size: int) -> str:
    f = xformat.parse_format(fmt.lstrip("/"), xformat.Format(1, "x", size))
    if f.letter in ("s", "i"):
        raise UserError(f"print/{fmt}: use x/{fmt} to examine memory")
    if f.letter == "x":
        return hex(v & ((1 << size * 8) - 1))
    return xformat.format_unit(v, f)


def _text(session, addr, ctype: CType, data: bytes, fmt: str, depth: int) -> str:
    k = ctype.kind
    if k in ("int", "uint", "char", "bool", "enum", "pointer", "other") and ctype.size in (1, 2, 4, 8):
        v = int.from_bytes(data[:ctype.size], "little")
        if fmt:
            return _fmt_number(v, fmt, ctype.size)
        if k == "int":
            bits = ctype.size * 8
            return str(v - (1 << bits) if v >> (bits - 1) else v)
        if k == "char":
            return f"{v} {chr(v)!r}" if 32 <= v < 127 else str(v)
        if k == "bool":
            return "true" if v else "false"
        if k == "enum":
            return (ctype.enumerators or {}).get(v, str(v))
        if k == "pointer":
            if v == 0:
                return "0x0"
            name = session.symbolize(v)
            return f"({ctype.name}) {v:#x}" + (f" <{name}>" if name else "")
        return str(v)
    if k == "array" and ctype.target is not None:
        t = ctype.target
        if t.kind == "char" and t.size == 1:
            raw = data.split(b"\0", 1)[0]
            from rvtrace.kernel.syscalls import quote
            return quote(raw)
        n = ctype.count
        items = []
        for i in range(min(n, MAX_ARRAY_SHOWN)):
            piece = data[i * t.size:(i + 1) * t.size]
            items.append(_text(session, addr + i * t.size, t, piece, fmt, depth + 1))
        more = ", ..." if n > MAX_ARRAY_SHOWN else ""
        return "{" + ", ".join(items) + more + "}"
    if k == "struct":
        if depth >= MAX_STRUCT_DEPTH:
            return "{...}"
        parts = []
        for name, off, mt in ctype.members or []:
            piece = data[off:off + mt.size]
            parts.append(f"{name} = {_text(session, addr + off, mt, piece, fmt, depth + 1)}")
        return "{" + ", ".join(parts) + "}"
    return data.hex(" ") if data else "<no value>"


# --- DWARF types of global variables ---------------------------------------------------

_CACHE: dict[int, dict[str, CType]] = {}


def _types(image) -> dict[str, CType]:
    key = id(image)
    if key not in _CACHE:
        _CACHE[key] = _read_variables(image)
    return _CACHE[key]


def _read_variables(image) -> dict[str, CType]:
    out: dict[str, CType] = {}
    _MEMO.clear()
    if not image.has_dwarf:
        return out
    try:
        dwarf = image.elf.get_dwarf_info()
        for cu in dwarf.iter_CUs():
            for die in cu.get_top_DIE().iter_children():
                if die.tag != "DW_TAG_variable":
                    continue
                if "DW_AT_specification" in die.attributes:
                    # gcc (xv6's build): the definition names its extern declaration,
                    # which carries the name and the type
                    die = die.get_DIE_from_attribute("DW_AT_specification")
                elif "DW_AT_declaration" in die.attributes:
                    continue
                if "DW_AT_type" not in die.attributes:
                    continue
                name = dwarf_attr(die, "DW_AT_name")
                if name and name not in out:
                    out[name] = _ctype(die.get_DIE_from_attribute("DW_AT_type"), 0)
    except Exception:           # unreadable DWARF: print falls back to plain sized numbers
        return out
    return out


_MEMO: dict[int, CType] = {}      # DIE offset -> its type (structs may point at themselves)


def _ctype(die, depth: int) -> CType:
    key = die.offset
    if key in _MEMO:
        return _MEMO[key]
    if depth > 40:
        return CType("other", 8, "...")
    tag = die.tag
    name = dwarf_attr(die, "DW_AT_name") or ""
    size = dwarf_attr(die, "DW_AT_byte_size") or 0
    if tag in ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type"):
        if "DW_AT_type" not in die.attributes:
            return CType("void", 0, "void")
        inner = _ctype(die.get_DIE_from_attribute("DW_AT_type"), depth)
        if tag == "DW_TAG_typedef" and name:
            inner = CType(inner.kind, inner.size, name, inner.target, inner.count, inner.members,
                          inner.enumerators)
        return inner
    if tag == "DW_TAG_base_type":
        enc = dwarf_attr(die, "DW_AT_encoding")
        kind = {2: "bool", 5: "int", 6: "char", 7: "uint", 8: "char"}.get(enc, "other")
        if kind == "char" and size != 1:
            kind = "uint"
        return CType(kind, size, name)
    if tag == "DW_TAG_pointer_type":
        target = _ctype(die.get_DIE_from_attribute("DW_AT_type"), depth + 1) \
            if "DW_AT_type" in die.attributes else CType("void", 0, "void")
        return CType("pointer", die.cu["address_size"], f"{target.name} *", target)
    if tag == "DW_TAG_enumeration_type":
        enums = {int(dwarf_attr(c, "DW_AT_const_value")): dwarf_attr(c, "DW_AT_name")
                 for c in die.iter_children() if c.tag == "DW_TAG_enumerator"}
        return CType("enum", size or 4, f"enum {name}", enumerators=enums)
    if tag == "DW_TAG_array_type":
        elem = _ctype(die.get_DIE_from_attribute("DW_AT_type"), depth + 1)
        count = array_count(die)
        return CType("array", elem.size * count, f"{elem.name}[{count}]", elem, count)
    if tag in ("DW_TAG_structure_type", "DW_TAG_union_type"):
        members = []
        ctype = _MEMO[key] = CType("struct", size, f"struct {name}", members=members)
        for child in die.iter_children():
            if child.tag != "DW_TAG_member" or "DW_AT_type" not in child.attributes:
                continue
            try:
                off = member_offset(child)
            except ValueError:          # a location we cannot read: leave the member out
                continue
            members.append((dwarf_attr(child, "DW_AT_name") or "?", off,
                            _ctype(child.get_DIE_from_attribute("DW_AT_type"), depth + 1)))
        return ctype
    if tag == "DW_TAG_subroutine_type":
        return CType("other", 0, "function")
    return CType("other", size, name or tag)

