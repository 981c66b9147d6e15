"""End to end: a trace names system calls as its kernel's syscalls[] table does.

The bundled kernel, copied with entry 23 of its `syscalls` array pointed at another
function (`cpuid`, a stand-in for a lab's own call), records cowwrite, whose child
calls 23 twice. Nothing in rvtrace knows that name: it can only come from the table.
"""

from __future__ import annotations

import io

import pytest
from elftools.elf.elffile import ELFFile

from rvtrace.analysis.dump import dump
from rvtrace.debugger.main import open_session
from rvtrace.debugger.printer import CollectingPrinter
from rvtrace.kernel.image import KernelImage
from rvtrace.kernel.syscalls import table_of
from rvtrace.machine.config import MachineConfig
from rvtrace.trace import Kind, TraceReader
from rvtrace.trace.reader import read_header

from conftest import bundled_config, record_quietly

pytestmark = pytest.mark.slow


def _file_offset(elf_bytes: bytes, addr: int) -> int:
    for seg in ELFFile(io.BytesIO(elf_bytes)).iter_segments():
        if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= addr < seg["p_vaddr"] + seg["p_filesz"]:
            return seg["p_offset"] + addr - seg["p_vaddr"]
    raise AssertionError(f"{addr:#x} is not in the file")


@pytest.fixture(scope="module")
def renamed(tmp_path_factory):
    """(trace path, events): cowwrite recorded with call 23 dispatched to cpuid."""
    config = bundled_config("cowwrite")
    data = bytearray(open(config.kernel, "rb").read())
    image = KernelImage(bytes(data))
    table = _file_offset(bytes(data), image.address_of("syscalls"))
    data[table + 8 * 23:table + 8 * 24] = image.address_of("cpuid").to_bytes(8, "little")
    tmp = tmp_path_factory.mktemp("names")
    kernel = tmp / "kernel.elf"
    kernel.write_bytes(bytes(data))
    path = tmp / "cowwrite.mp"
    result, _ = record_quietly(MachineConfig(kernel=str(kernel), disk=config.disk, bootargs=config.bootargs),
                               path)
    assert result.ending == "poweroff"
    with TraceReader(path) as t:
        return path, t.header, list(t)


def test_the_bundled_kernels_table_is_carried(forkexec_trace):
    calls = table_of(read_header(forkexec_trace[0].path))
    assert calls.from_kernel and calls.name(22) == "poweroff" and calls.signature(23).name == "kstats"


def test_a_renamed_call_is_named_from_the_table_with_raw_arguments(renamed):
    path, header, events = renamed
    calls = table_of(header)
    assert calls.from_kernel and calls.name(23) == "cpuid" and calls.signature(23) is None
    entered = [e for e in events if e.kind == Kind.SYSCALL_ENTER and e.num == 23]
    assert len(entered) == 2 and all(len(e.args) == 3 for e in entered)    # a0..a2, undecoded
    out = io.StringIO()
    dump(path, out=out, kinds="syscall")
    lines = [line for line in out.getvalue().splitlines() if "cpuid(" in line]
    assert len(lines) == 2 and "kstats" not in out.getvalue()
    for line, ev in zip(lines, entered):
        assert line.split("] ", 1)[1] == f"cpuid({ev.args[0]}, {ev.args[1]}, {ev.args[2]}) = 0"


def test_the_debugger_breaks_on_the_kernels_name(renamed):
    path, _, events = renamed
    first = next(e for e in events if e.kind == Kind.SYSCALL_ENTER and e.num == 23)
    printer = CollectingPrinter()
    session = open_session(path, printer)
    try:
        assert session.run_line("break cpuid") and session.run_line("continue")
        assert session.event.number == first.number
        assert f"#{first.number}" in printer.lines[-1] and "cpuid(" in printer.lines[-1]
        assert not session.run_line("break syscall kstats")           # no call of that name here
        assert "unknown system call 'kstats'" in printer.lines[-1]
    finally:
        session.close()
