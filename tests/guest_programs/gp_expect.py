"""What each bundled program must print, shared by the QEMU and the rvtrace tests.

Output that two processes print at the same time may interleave differently
from run to run (that is the lecture's point), so such expectations are
written as "an interleaving of these strings, then this". Everything else is
compared exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


def is_interleaving(text: str, parts: list[str]) -> bool:
    """True if `text` is the characters of `parts`, each in its own order, shuffled together."""
    if len(text) != sum(map(len, parts)):
        return False

    @lru_cache(maxsize=None)
    def fits(positions: tuple[int, ...]) -> bool:
        at = sum(positions)
        if at == len(text):
            return True
        for k, part in enumerate(parts):
            i = positions[k]
            if i < len(part) and part[i] == text[at]:
                if fits(positions[:k] + (i + 1,) + positions[k + 1:]):
                    return True
        return False

    return fits(tuple(0 for _ in parts))


@dataclass(frozen=True)
class Expect:
    """A program's expected console and exit status.

    Output = interleaving of `concurrent` (in any order, character by character)
    followed by `then`; with no `concurrent`, exactly `then`.
    """
    then: str
    status: int = 0
    concurrent: tuple[str, ...] = ()
    ordered: str | None = None     # what one hart prints when nothing preempts: the lecture's order

    def matches(self, output: str) -> bool:
        if not self.concurrent:
            return output == self.then
        if not output.endswith(self.then):
            return False
        return is_interleaving(output[:len(output) - len(self.then)], list(self.concurrent))


SEED = {
    "exec": Expect("this is echo\n"),
    "myecho": Expect("this is echo\n"),
    "forkexec": Expect("the child exited with status 0\n",
                       concurrent=("parent waiting\n", "THIS IS ECHO\n"),
                       ordered="parent waiting\nTHIS IS ECHO\nthe child exited with status 0\n"),
    # No usual order here: a failing exec is fast (the directory is cached), so the
    # child may print while the parent is still printing, even on one hart.
    "forkexec_fail": Expect("the child exited with status 1\n",
                            concurrent=("parent waiting\n", "exec failed!\n")),
    "waitnochild": Expect("child: wait() returned -1: I have no children\n"
                          "parent: wait() returned my child's pid, status 0\n"),
    "twochildren": Expect("twochildren: forked two children\n"
                          "wait #1 returned a child's pid, with that child's exit status\n"
                          "wait #2 returned a child's pid, with that child's exit status\n"
                          "wait #3 returned -1: no children left\n"),
    "cowwrite": Expect("child: wrote 1 byte of 1 of 8 shared pages: 1 copy-on-write fault(s), 1 page(s) copied\n"
                       "parent: child exited with status 0; my page still holds my data: yes\n"),
}

COWWRITE_EAGER = Expect("child: wrote 1 byte of 1 of 8 shared pages: 0 copy-on-write fault(s), 0 page(s) copied\n"
                        "parent: child exited with status 0; my page still holds my data: yes\n")

BIGFORK_RE = re.compile(
    r"bigfork: grew the heap by (?P<mib>\d+) MiB \((?P<pages>\d+) pages\) and wrote to each page\n"
    r"child: exec threw the copy away\n"
    r"bigfork: pages copied by fork: (?P<eager>\d+)\n"
    r"bigfork: copy-on-write faults: (?P<faults>\d+), pages copied on write: (?P<copies>\d+)\n"
    r"bigfork: pages allocated by fork \+ exec \+ exit: (?P<allocated>\d+)\n\Z")


def bigfork_counters(output: str) -> dict[str, int]:
    """The numbers bigfork printed; AssertionError with the output if it printed something else."""
    m = BIGFORK_RE.match(output)
    assert m, f"bigfork printed something unexpected:\n{output}"
    return {k: int(v) for k, v in m.groupdict().items()}


def check_bigfork(output: str, cow: bool) -> dict[str, int]:
    """COW fork copies no data page at fork; eager fork copies at least the whole heap."""
    c = bigfork_counters(output)
    if cow:
        assert c["eager"] == 0, c
        assert c["copies"] < 16, c                  # a few stack pages, not the heap
        assert c["allocated"] < c["pages"] // 4, c
    else:
        assert c["eager"] >= c["pages"], c
        assert c["faults"] == 0 and c["copies"] == 0, c
        assert c["allocated"] >= c["pages"], c
    return c


def check_selftest(output: str) -> None:
    assert output.endswith("ALL TESTS PASSED\n"), f"selftest failed:\n{output}"
    assert "FAILED" not in output, output


# A shell session fed on the console. The leading newline is an empty command:
# input that arrives before the kernel has set the UART up may lose its first
# byte (QEMU does). The whole script arrives at once, so it must fit the
# console's 128-byte type-ahead buffer.
SHELL_SCRIPT = (b"\n"
                b"echo one two|cat\n"
                b"echo hi>f1;cat<f1\n"
                b"mkdir d;cd d;echo D>f2;cd /;cat d/f2\n"
                b"ls README\n"
                b"rm f1;cat f1\n"
                b"kill 99\n"
                b"ls>f3 &\n"           # silent: the shell's "[pid]" is the only output
                b"\x04")
assert len(SHELL_SCRIPT) < 128


def check_shell_session(output: str) -> None:
    """What SHELL_SCRIPT must print (the console also echoes the typed lines)."""
    for line in ["$ one two\n", "$ hi\n", "$ D\n", "cat: cannot open f1\n", "kill: no process 99\n"]:
        assert line in output, output
    assert "README         file" in output, output
    assert re.search(r"\$ \[\d+\]\n", output), output
