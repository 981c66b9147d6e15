"""System call names come from the recorded kernel's own dispatch table (SyscallTable)."""

from types import SimpleNamespace

from rvtrace.debugger.breakpoints import parse_spec
from rvtrace.errors import UserError
from rvtrace.kernel.syscalls import BUILTIN, PRE_TABLE_TRACES, SyscallTable, decode_args, format_call, table_of

import pytest

BASE = 0x80001000


class FakeImage:
    """A kernel ELF's symbols as KernelImage offers them: a lab kernel whose calls 22 and 23
    are its own (`trace`, `sysinfo`), with an empty slot at 24 and a helper at 25."""

    has_symbols = True

    def __init__(self, names, table_symbol="syscalls", bad_pointer=False):
        self.funcs = {BASE + 0x100 * i: name for i, name in enumerate(sorted(set(names.values())))}
        addr_of = {name: a for a, name in self.funcs.items()}
        slots = max(names) + 1
        table = bytearray(8 * slots)
        for n, name in names.items():
            table[8 * n:8 * n + 8] = addr_of[name].to_bytes(8, "little")
        if bad_pointer:
            table[8:16] = (BASE + 4).to_bytes(8, "little")     # into the middle of a function
        self.data = {0x80009000: bytes(table)}
        self.symbols = {table_symbol: (0x80009000, len(table))}

    def initial_bytes(self, addr, size):
        data = self.data.get(addr)
        return data[:size] if data is not None and len(data) >= size else None

    def function_at(self, pc):
        for a, name in self.funcs.items():
            if a <= pc < a + 0x100:
                return name, pc - a
        return None


LAB = {n: f"sys_{s.name}" for n, s in BUILTIN.calls.items() if n <= 21}
LAB.update({22: "sys_trace", 23: "sys_sysinfo", 25: "helper"})


def test_names_come_from_the_kernel_table():
    calls = SyscallTable.of_kernel(FakeImage(LAB))
    assert calls.from_kernel
    assert [calls.name(n) for n in (1, 16, 22, 23, 24, 25)] == \
        ["fork", "write", "trace", "sysinfo", "syscall24", "helper"]
    # arguments only where xv6's meaning is known, by number and name
    assert calls.signature(16).name == "write"
    assert calls.signature(22) is None and calls.signature(23) is None
    regs = [0x10, 0xFFFFFFFF, 3, 0, 0, 0]
    assert decode_args(22, regs, lambda va, n: b"x" * n, calls) == [16, -1, 3]
    assert format_call(22, [16, -1, 3], calls) == "trace(16, -1, 3)"
    assert format_call(24, [1], calls) == "syscall24(1)"
    # the built-in table would have said poweroff: the wrong answer for this kernel
    assert format_call(22, [0], BUILTIN) == "poweroff(0)"


def test_our_calls_keep_their_meaning_only_under_their_names():
    ours = {**LAB, 22: "sys_poweroff", 23: "sys_kstats"}
    calls = SyscallTable.of_kernel(FakeImage(ours))
    assert calls.signature(22).name == "poweroff" and calls.signature(23).name == "kstats"
    moved = {**LAB, 22: "sys_hello", 23: "sys_poweroff", 24: "sys_kstats"}
    calls = SyscallTable.of_kernel(FakeImage(moved))
    assert [calls.name(n) for n in (22, 23, 24)] == ["hello", "poweroff", "kstats"]
    assert all(calls.signature(n) is None for n in (22, 23, 24))


def test_carried_in_metadata():
    calls = SyscallTable.of_kernel(FakeImage(LAB))
    back = SyscallTable.of_metadata({"syscalls": calls.to_metadata()})
    assert back.from_kernel and back.names == calls.names
    header = SimpleNamespace(metadata={"syscalls": calls.to_metadata()})
    assert table_of(header).name(22) == "trace" and table_of(header) is table_of(header)
    # older traces and unreadable entries: the built-in table, saying why
    assert SyscallTable.of_metadata({}) is PRE_TABLE_TRACES and "before" in PRE_TABLE_TRACES.source()
    for names in ([[1, 2]], [[1, "\x1b[2J"]], [[-1, "fork"]], "fork"):   # not what a recorder writes
        odd = SyscallTable.of_metadata({"syscalls": {"names": names, "why": "x"}})
        assert not odd.from_kernel and odd.name(22) == "poweroff"


@pytest.mark.parametrize("image, why", [
    (None, "no symbols"),
    (FakeImage(LAB, table_symbol="sys_table"), "no `syscalls`"),
    (FakeImage(LAB, bad_pointer=True), "entry 1"),
])
def test_kernels_without_a_readable_table_fall_back(image, why):
    calls = SyscallTable.of_kernel(image)
    assert not calls.from_kernel and why in calls.why
    assert calls.name(22) == "poweroff" and why in calls.source()


def test_break_by_the_kernels_names():
    calls = SyscallTable.of_kernel(FakeImage(LAB))
    bp = parse_spec("trace", calls=calls)
    assert bp.match(SimpleNamespace(fields={"num": 22})) and not bp.match(SimpleNamespace(fields={"num": 23}))
    assert parse_spec("syscall sysinfo write", calls=calls).match(SimpleNamespace(fields={"num": 23}))
    twice = SyscallTable.of_kernel(FakeImage({**LAB, 24: "sys_trace"}))      # one function, two numbers
    assert all(parse_spec("trace", calls=twice).match(SimpleNamespace(fields={"num": n})) for n in (22, 24))
    with pytest.raises(UserError, match="unknown system call 'poweroff'.*recorded kernel"):
        parse_spec("syscall poweroff", calls=calls)
    with pytest.raises(UserError, match="built-in xv6 table"):
        parse_spec("syscall trace", calls=BUILTIN)
