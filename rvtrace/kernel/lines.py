"""Source lines for pcs, from the DWARF line programs of a kernel or user ELF.

A lookup over every row of every compilation unit at once can answer the
wrong file: built with -ffunction-sections and --gc-sections, an ELF's DWARF
still holds line rows for the functions the linker threw away, relocated to
address 0. User programs are linked at 0, so those phantom rows overlap real
code (`strlen`'s rows land inside `main`).

So a pc first picks its compilation unit -- the one with a subprogram that
starts exactly where the symbol table says the pc's function starts -- and
only that unit's rows are searched. Without symbols, or for odd DWARF, the
lookup falls back to all rows.
"""

from __future__ import annotations

import bisect
from typing import Callable

Row = tuple[int, int, str, int]          # (address, end address, file, line)
FunctionAt = Callable[[int], "tuple[str, int] | None"]


class LineTable:
    def __init__(self, dwarf, function_at: FunctionAt):
        self.function_at = function_at
        self.units: list[list[Row]] = []                   # per CU, sorted rows
        self.entries: dict[tuple[int, str], int] = {}      # (low_pc, function name) -> unit
        for cu in dwarf.iter_CUs():
            self._add_unit(dwarf, cu)
        self.all_rows: list[Row] = sorted(row for unit in self.units for row in unit)

    def lookup(self, pc: int) -> tuple[str, int] | None:
        """(file, line) of the instruction at pc, or None where no row covers it."""
        f = self.function_at(pc)
        unit = self.entries.get((pc - f[1], f[0])) if f is not None else None
        rows = self.units[unit] if unit is not None else self.all_rows
        i = bisect.bisect_right(rows, (pc, float("inf"))) - 1
        if i < 0 or not rows[i][0] <= pc < rows[i][1]:
            return None
        file, line = rows[i][2], rows[i][3]
        # Line 0 marks code the compiler made up (spills, merged tails): the line
        # before it in the same function is what a person reads there.
        fstart = pc - f[1] if f is not None else pc
        while line == 0 and i > 0 and rows[i - 1][0] >= fstart:
            i -= 1
            file, line = rows[i][2], rows[i][3]
        return (file, line) if line else None

    def _add_unit(self, dwarf, cu) -> None:
        unit = len(self.units)
        rows = _rows(dwarf, cu)
        self.units.append(rows)
        found = False
        for die in cu.iter_DIEs():
            if die.tag != "DW_TAG_subprogram" or "DW_AT_low_pc" not in die.attributes:
                continue
            name = _text(die.attributes.get("DW_AT_name"))
            if name:
                self.entries.setdefault((die.attributes["DW_AT_low_pc"].value, name), unit)
                found = True
        if not found:
            # Assembly units have no subprograms: key them by the symbols their rows start.
            for start, _, _, _ in rows:
                f = self.function_at(start)
                if f is not None and f[1] == 0:
                    self.entries.setdefault((start, f[0]), unit)


def _text(attr) -> str | None:
    if attr is None:
        return None
    v = attr.value
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


def _rows(dwarf, cu) -> list[Row]:
    prog = dwarf.line_program_for_CU(cu)
    if prog is None:
        return []
    version = prog.header["version"]
    files = prog.header["file_entry"]
    dirs = [d.decode("utf-8", "replace") if isinstance(d, bytes) else d
            for d in prog.header["include_directory"]]
    comp_dir = _text(cu.get_top_DIE().attributes.get("DW_AT_comp_dir")) or ""
    rows, prev = [], None
    for entry in prog.get_entries():
        state = entry.state
        if state is None:
            continue
        if prev is not None and state.address > prev.address:
            rows.append((prev.address, state.address,
                         _file_name(prev.file, files, dirs, comp_dir, version), prev.line))
        prev = None if state.end_sequence else state
    rows.sort()
    return rows


def _file_name(index: int, files, dirs, comp_dir: str, version: int) -> str:
    # DWARF 5 numbers files and directories from 0; earlier versions from 1,
    # with directory 0 meaning the compilation directory.
    i = index if version >= 5 else index - 1
    if not 0 <= i < len(files):
        return "?"
    entry = files[i]
    name = entry.name.decode("utf-8", "replace") if isinstance(entry.name, bytes) else entry.name
    d = entry.dir_index
    if version >= 5:
        directory = dirs[d] if 0 <= d < len(dirs) else ""
    else:
        directory = comp_dir if d == 0 else (dirs[d - 1] if d - 1 < len(dirs) else "")
    if directory and not directory.startswith("/") and comp_dir:
        directory = f"{comp_dir}/{directory}"
    return name if name.startswith("/") or not directory else f"{directory}/{name}"
