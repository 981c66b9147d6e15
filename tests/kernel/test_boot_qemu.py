"""The kernel's boot contract, checked under QEMU (docs/architecture.md, Guest
conventions): boot arguments, the first process, the banner, power-off
status, 1..8 harts. The programs' own outputs are tested in
tests/guest_programs; here the programs are only the kernel's probes."""

from __future__ import annotations

import re

import pytest

from kqemu import QEMU, SKIP_REASON, boot, converse

pytestmark = [pytest.mark.slow, pytest.mark.qemu,
              pytest.mark.skipif(QEMU is None, reason=SKIP_REASON)]

FORKEXEC_PARTS = ["parent waiting\n", "THIS IS ECHO\n"]
FORKEXEC_END = "the child exited with status 0\n"


def is_interleaving(text: str, a: str, b: str) -> bool:
    """text is a and b shuffled together, each keeping its own order."""
    if len(text) != len(a) + len(b):
        return False
    reach = {(0, 0)}
    for ch in text:
        reach = {(i + 1, j) for i, j in reach if i < len(a) and a[i] == ch} | \
                {(i, j + 1) for i, j in reach if j < len(b) and b[j] == ch}
    return (len(a), len(b)) in reach


def test_a_named_command_gets_the_console_to_itself(guest):
    status, out = boot(guest.kernel, guest.disk, "forkexec")
    assert status == 0
    assert out == "parent waiting\nTHIS IS ECHO\n" + FORKEXEC_END   # no banner, nothing else


@pytest.mark.parametrize("harts", [2, 3, 8])
def test_every_hart_count_runs_the_command(guest, harts):
    status, out = boot(guest.kernel, guest.disk, "forkexec", harts=harts)
    assert status == 0
    assert out.endswith(FORKEXEC_END)
    assert is_interleaving(out[:-len(FORKEXEC_END)], *FORKEXEC_PARTS), out


def test_harts_beyond_ncpu_are_parked(guest):
    # NCPU is 8: harts 8 and 9 have no stack or struct cpu and must stay out.
    status, out = boot(guest.kernel, guest.disk, "forkexec", harts=10)
    assert status == 0
    assert out.endswith(FORKEXEC_END) and is_interleaving(out[:-len(FORKEXEC_END)], *FORKEXEC_PARTS), out


def test_command_words_become_argv(guest):
    status, out = boot(guest.kernel, guest.disk, "echo one  two\tthree")
    assert (status, out) == (0, "one two three\n")


def test_the_exit_status_reaches_the_test_device(guest):
    # init powers off with 127 when the command cannot be exec'd; the test
    # device's failure encoding makes QEMU exit with exactly that code.
    status, out = boot(guest.kernel, guest.disk, "no_such_program")
    assert status == 127
    assert "panic" not in out


def test_cow_option_switches_fork_to_eager_copies(guest):
    copied = {}
    for args in ("bigfork", "cow=0 bigfork", "cow=1 bigfork"):
        status, out = boot(guest.kernel, guest.disk, args)
        assert status == 0, out
        m = re.search(r"pages copied by fork: (\d+)", out)
        assert m, out
        copied[args] = int(m.group(1))
    assert copied["bigfork"] == copied["cow=1 bigfork"] == 0
    assert copied["cow=0 bigfork"] >= 1024   # bigfork's 4 MiB heap, at least


def test_ram_size_comes_from_the_device_tree(guest):
    # 8 MiB of RAM: bigfork's 4 MiB heap fits once, not twice. Copy-on-write
    # fork still works; eager copying runs out of memory and fork fails
    # cleanly (-1 to the program, no panic).
    status, out = boot(guest.kernel, guest.disk, "bigfork", mem="8M")
    assert status == 0 and "pages copied by fork: 0" in out, out
    status, out = boot(guest.kernel, guest.disk, "cow=0 bigfork", mem="8M")
    assert status == 1 and out.endswith("bigfork: fork failed\n"), out


def test_unknown_options_are_reported_not_run(guest):
    status, out = boot(guest.kernel, guest.disk, "colour=blue echo hi")
    assert status == 0
    assert out == "bootargs: ignoring unknown option colour=blue\nhi\n"


def test_no_command_prints_a_banner_and_runs_the_shell(guest):
    out = converse(guest.kernel, guest.disk, prompt=b"$ ", line=b"echo hello from sh\n",
                   answer=b"hello from sh\n$ ")
    assert out.startswith("\nrvtrace teaching kernel")
    assert out.endswith("$ echo hello from sh\nhello from sh\n$ ")   # echoed input, output, prompt
