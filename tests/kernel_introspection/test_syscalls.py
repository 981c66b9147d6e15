"""The syscall table: complete, consistent with the kernel's header, and well printed."""

import re
from pathlib import Path

import pytest

from rvtrace.kernel.syscalls import (INBUF, OUTBUF, SYSCALL_BY_NAME, SYSCALLS, format_call,
                                     format_return, quote, syscall_name)

HEADER = Path(__file__).resolve().parents[2] / "kernel_src" / "syscall.h"


def test_numbers_one_to_twenty_three():
    assert sorted(SYSCALLS) == list(range(1, 24))
    assert [SYSCALLS[n].name for n in (1, 7, 16, 21, 22, 23)] == \
        ["fork", "exec", "write", "close", "poweroff", "kstats"]
    assert SYSCALL_BY_NAME["exec"].number == 7


def test_buffer_lengths_name_a_real_argument():
    for s in SYSCALLS.values():
        for a in s.args:
            if a.kind in (INBUF, OUTBUF):
                assert a.length in s.arg_names, s.name


def test_table_matches_the_kernel_header():
    if not HEADER.exists():
        pytest.skip("kernel_src/syscall.h is not written yet")
    defined = {int(n): name for name, n in re.findall(r"#define\s+SYS_(\w+)\s+(\d+)", HEADER.read_text())}
    assert defined == {n: s.name for n, s in SYSCALLS.items()}


def test_formatting():
    assert format_call(1, []) == "fork()"
    assert format_call(16, [1, b"hi\n\x01", 4]) == 'write(1, "hi\\n\\x01", 4)'
    assert format_call(7, ["echo", ["echo", "THIS"]]) == 'exec("echo", ["echo","THIS"])'
    assert format_call(5, [0, 0x3f00, 10]) == "read(0, 0x3f00, 10)"
    assert format_call(15, [None, 0]) == "open(?, 0)"
    assert format_call(99, [1, 2]) == "syscall99(1, 2)"
    assert format_call(11, None) == "getpid()"
    assert format_return(12, 0x4000) == "0x4000" and format_return(12, -1) == "-1"
    assert format_return(1, 4) == "4" and syscall_name(42) == "syscall42"
    assert quote('say "x"\\') == '"say \\"x\\"\\\\"'


class UserMemory:
    """A process's memory: pages from 0 to 0x3000 mapped, the rest unmapped."""

    def __init__(self):
        self.mem = bytearray(0x3000)

    def read(self, va, size):
        if va < 0 or va + size > len(self.mem):
            return None
        return bytes(self.mem[va:va + size])

    def put(self, va, data):
        self.mem[va:va + len(data)] = data


def test_decode_args_from_memory():
    from rvtrace.kernel.syscalls import decode_args, decode_out
    m = UserMemory()
    m.put(0x1000, b"echo\0THIS\0")
    m.put(0x2000, (0x1000).to_bytes(8, "little") + (0x1005).to_bytes(8, "little") + bytes(8))
    assert decode_args(7, [0x1000, 0x2000, 0, 0, 0, 0], m.read) == ["echo", ["echo", "THIS"]]
    m.put(0x1100, b"hello")
    assert decode_args(16, [1, 0x1100, 5], m.read) == [1, b"hello", 5]
    assert decode_args(16, [1, 0x9000, 5], m.read) == [1, None, 5]         # unmapped buffer
    assert decode_args(2, [(1 << 64) - 1], m.read) == [-1]                 # exit(-1)
    m.put(0x2ffe, b"ab")
    assert decode_args(15, [0x2ffe, 0], m.read) == [None, 0]               # string runs off the end
    m.put(0x1ffe, b"ab")
    assert decode_args(15, [0x1ffe, 0], m.read) == ["ab", 0]               # crosses a page boundary
    assert decode_args(5, [0, 0x1100, 100], m.read) == [0, 0x1100, 100]
    assert decode_out(5, [0, 0x1100, 100], 3, m.read) == b"hel"
    assert decode_out(5, [0, 0x1100, 100], -1, m.read) is None
    assert decode_out(16, [1, 0x1100, 5], 5, m.read) is None

    def raising(va, size):
        raise RuntimeError("bus error")
    assert decode_args(9, [0x1000], raising) == [None]
