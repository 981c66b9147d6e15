"""Local variables and arguments of a function at a pc, and where each one lives, from DWARF.

    scope = function_scope(image, pc)            # None: no DWARF function covers pc
    scope.function, scope.variables               # arguments first, then locals visible at pc
    where = locate(var, pc, regs, image)          # Place("memory", addr) | ("register", n)
                                                  # | ("value", v) | ("unavailable", why)

A function's DWARF subprogram is matched to the symbol table's function at
pc (by name and start address), as the line table does: linkers leave DWARF
of discarded functions at address 0, which overlaps user programs.
Locations are DWARF expressions or location lists; the common ones are
understood (frame-base offsets with the frame base in a register or the
CFA, register plus offset, a register, an address, literal values).
`regs` holds the frame's registers by ABI name (`s0`, `sp`, ...; the CFA as
"cfa"); a location naming a register the frame does not know is
"unavailable", never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from rvtrace.cpu.arch import ABI_NAMES
from rvtrace.kernel.image import dwarf_attr

DW_OP_addr, DW_OP_fbreg, DW_OP_call_frame_cfa, DW_OP_stack_value = 0x03, 0x91, 0x9C, 0x9F


@dataclass(frozen=True)
class Variable:
    name: str
    is_arg: bool
    die: object                  # the DIE (its DW_AT_type gives the C type)
    decl_line: int | None


@dataclass(frozen=True)
class Place:
    kind: str                    # memory | register | value | unavailable
    value: int | str             # address, register number, the value, or why not


@dataclass
class FunctionScope:
    function: str
    low_pc: int
    die: object
    variables: list[Variable]


def function_scope(image, pc: int) -> FunctionScope | None:
    """The DWARF function covering pc and the variables visible there, or None."""
    if image is None or not image.has_dwarf:
        return None
    f = image.function_at(pc)
    if f is None:
        return None
    start = pc - f[1]
    die = _subprograms(image).get((start, f[0]))
    if die is None:
        return None
    variables: list[Variable] = []
    _collect(image, die, pc, variables)
    args = [v for v in variables if v.is_arg]
    return FunctionScope(f[0], start, die, args + [v for v in variables if not v.is_arg])


def _subprograms(image) -> dict:
    cache = image.__dict__.get("_subprogram_index")
    if cache is None:
        cache = {}
        try:
            for cu in image.elf.get_dwarf_info().iter_CUs():
                for die in cu.iter_DIEs():
                    if die.tag != "DW_TAG_subprogram" or "DW_AT_low_pc" not in die.attributes:
                        continue
                    name = dwarf_attr(die, "DW_AT_name")
                    if name:
                        cache.setdefault((die.attributes["DW_AT_low_pc"].value, name), die)
        except Exception:           # unreadable DWARF: no locals rather than no debugger
            cache = {}
        image.__dict__["_subprogram_index"] = cache
    return cache


def _collect(image, die, pc: int, out: list) -> None:
    for child in die.iter_children():
        tag = child.tag
        if tag in ("DW_TAG_formal_parameter", "DW_TAG_variable"):
            name = dwarf_attr(child, "DW_AT_name")
            if name and "DW_AT_type" in child.attributes:
                out.append(Variable(name, tag == "DW_TAG_formal_parameter", child,
                                    dwarf_attr(child, "DW_AT_decl_line")))
        elif tag == "DW_TAG_lexical_block" and _covers(image, child, pc):
            _collect(image, child, pc, out)


def _covers(image, die, pc: int) -> bool:
    low = die.attributes.get("DW_AT_low_pc")
    high = die.attributes.get("DW_AT_high_pc")
    if low is not None and high is not None:
        end = high.value if high.form == "DW_FORM_addr" else low.value + high.value
        return low.value <= pc < end
    ranges = die.attributes.get("DW_AT_ranges")
    if ranges is None:
        return True                   # no extent given: the whole function
    try:
        rl = image.elf.get_dwarf_info().range_lists()
        base = die.cu.get_top_DIE().attributes.get("DW_AT_low_pc")
        base = base.value if base is not None else 0
        for entry in rl.get_range_list_at_offset(ranges.value, cu=die.cu):
            if hasattr(entry, "begin_offset") and base + entry.begin_offset <= pc < base + entry.end_offset:
                return True
    except Exception:               # odd range lists: show the variable rather than hide it
        return True
    return False


def frame_base(scope: FunctionScope, pc: int, regs: dict, image) -> int | None:
    attr = scope.die.attributes.get("DW_AT_frame_base")
    if attr is None:
        return None
    place = _evaluate(_expression(image, scope.die, attr, pc), regs, None)
    if place.kind == "register":
        return regs.get(ABI_NAMES[place.value]) if place.value < 32 else None
    if place.kind in ("memory", "value"):
        return place.value if isinstance(place.value, int) else None
    return None


def locate(scope: FunctionScope, var: Variable, pc: int, regs: dict, image) -> Place:
    """Where `var` lives at pc in a frame whose registers are `regs`."""
    attr = var.die.attributes.get("DW_AT_location")
    if attr is None:
        return Place("unavailable", "optimized out (no location)")
    ops = _expression(image, var.die, attr, pc)
    if ops is None:
        return Place("unavailable", "optimized out here (no location at this pc)")
    base = frame_base(scope, pc, regs, image)
    return _evaluate(ops, regs, base)


def _expression(image, die, attr, pc: int):
    """The DWARF expression (list of ops) that applies at pc, or None."""
    from elftools.dwarf.dwarf_expr import DWARFExprParser
    from elftools.dwarf.locationlists import LocationParser
    dwarf = image.elf.get_dwarf_info()
    parser = DWARFExprParser(die.cu.structs)
    if attr.form == "DW_FORM_exprloc" or isinstance(attr.value, list):
        return parser.parse_expr(attr.value)
    try:
        loc = LocationParser(dwarf.location_lists()).parse_from_attribute(attr, die.cu["version"], die)
    except Exception:               # a location form this pyelftools cannot read
        return None
    if hasattr(loc, "loc_expr"):
        return parser.parse_expr(loc.loc_expr)
    top = die.cu.get_top_DIE().attributes.get("DW_AT_low_pc")
    base = top.value if top is not None else 0
    for entry in loc:
        if hasattr(entry, "base_address"):
            base = entry.base_address
            continue
        if not hasattr(entry, "loc_expr"):
            continue
        absolute = getattr(entry, "is_absolute", False)
        lo = entry.begin_offset if absolute else base + entry.begin_offset
        hi = entry.end_offset if absolute else base + entry.end_offset
        if lo <= pc < hi:
            return parser.parse_expr(entry.loc_expr)
    return None


def _evaluate(ops, regs: dict, fbase: int | None) -> Place:
    if not ops:
        return Place("unavailable", "optimized out")
    stack: list[int] = []
    is_value = False
    for op in ops:
        code, name, args = op.op, op.op_name, op.args
        if 0x50 <= code <= 0x6F and len(ops) == 1:               # DW_OP_regN: the value is in a register
            return Place("register", code - 0x50)
        if name == "DW_OP_regx" and len(ops) == 1:
            return Place("register", args[0])
        if 0x70 <= code <= 0x8F or name == "DW_OP_bregx":       # register + offset
            n, off = (code - 0x70, args[0]) if code != 0x92 else (args[0], args[1])
            value = regs.get(ABI_NAMES[n]) if n < 32 else None
            if value is None:
                return Place("unavailable", f"kept relative to register {ABI_NAMES[n] if n < 32 else n}, "
                                            "which this frame does not know")
            stack.append(value + off)
        elif code == DW_OP_fbreg:
            if fbase is None:
                return Place("unavailable", "the frame base is not known in this frame")
            stack.append(fbase + args[0])
        elif code == DW_OP_call_frame_cfa:
            if regs.get("cfa") is None:
                return Place("unavailable", "the frame address is not known")
            stack.append(regs["cfa"])
        elif code == DW_OP_addr:
            stack.append(args[0])
        elif name.startswith("DW_OP_lit") and name[9:].isdigit():
            stack.append(int(name[9:]))
        elif name.startswith("DW_OP_const"):
            stack.append(args[0])
        elif name == "DW_OP_plus_uconst" and stack:
            stack.append(stack.pop() + args[0])
        elif code == DW_OP_stack_value:
            is_value = True
        elif name in ("DW_OP_entry_value", "DW_OP_GNU_entry_value"):
            return Place("unavailable", "optimized out here (only its value at entry was kept)")
        else:
            return Place("unavailable", f"its location ({name}) is beyond what rvtrace reads")
    if not stack:
        return Place("unavailable", "optimized out")
    return Place("value" if is_value else "memory", stack[-1] & (2**64 - 1))
