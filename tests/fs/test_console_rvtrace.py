"""The console driver (kernel_src/console.c, uart.c) on rvtrace's machine.

Input is typed into the UART while the shell runs; runs are deterministic,
so what the console shows is checked byte for byte where it matters.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

BOOTED = 5_000_000          # boot + exec of sh take well under this


def run_sh(*typed: bytes) -> tuple[object, bytes]:
    """Boot into sh, type each chunk (all of its bytes at once, like a paste),
    and let the machine run a while after each."""
    from rvtrace.guest import build
    from rvtrace.machine.config import MachineConfig
    from rvtrace.machine.machine import Machine
    guest = build.build_all()
    machine = Machine(MachineConfig(kernel=str(guest.kernel), bootargs="sh"),
                      disk_bytes=guest.disk.read_bytes())
    console = bytearray()
    machine.on_console_output = console.append
    assert machine.run(max_insns=BOOTED).reason == "max-insns"
    for chunk in typed:
        machine.feed_console(chunk)
        result = machine.run(max_insns=3_000_000)
        if result.reason != "max-insns":
            break
    else:
        result = machine.run(max_insns=100_000_000)
    return result, bytes(console)


def test_line_editing_backspace_kill_line_and_end_of_file():
    result, out = run_sh(b"echo abc\x7f\x7fxy\n",       # two backspaces: "echo axy"
                         b"garbage\x15echo ok\n",       # ^U throws "garbage" away
                         b"cat\n", b"line one\n",
                         b"partial\x04",                # ^D ends a read without a newline...
                         b"\x04",                       # ... and on an empty line is end of file
                         b"\x04")                       # for sh too: it exits, init powers off
    assert (result.reason, result.exit_code) == ("poweroff", 0), out
    assert b"echo abc\b \b\b \bxy\n" in out                  # erased on screen, too
    assert b"\naxy\n" in out
    assert b"garbage" + b"\b \b" * 7 + b"echo ok\n" in out
    assert b"\nok\n" in out
    assert b"line one\nline one\n" in out                    # echoed, then cat's copy
    assert b"partialpartial$ " in out                        # no newline added by ^D; cat ended
    assert b"\x04" not in out                                # ^D is not echoed


def test_input_longer_than_the_console_buffer_is_not_lost():
    lines = [b"echo " + bytes([65 + i]) * 40 for i in range(10)]    # ~460 bytes, buffer holds 128
    result, out = run_sh(b"\n".join(lines) + b"\n\x04")
    assert (result.reason, result.exit_code) == ("poweroff", 0), out[-500:]
    # Each letter shows 80 times: 40 in the echo of the typed line, 40 in
    # echo's output (the two may interleave on screen, so count letters).
    assert [out.count(bytes([65 + i])) for i in range(10)] == [80] * 10
