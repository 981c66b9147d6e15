"""The output checker itself must be able to say no."""

from gp_expect import SEED, Expect, check_bigfork, is_interleaving

import pytest


def test_interleavings_keep_each_part_in_order():
    assert is_interleaving("parent exec failed!\nwaiting\n", ["parent waiting\n", "exec failed!\n"])
    assert is_interleaving("ab12", ["ab", "12"]) and is_interleaving("1a2b", ["ab", "12"])
    assert not is_interleaving("ba12", ["ab", "12"])          # a part reordered
    assert not is_interleaving("ab1", ["ab", "12"])           # a character lost
    assert not is_interleaving("ab123", ["ab", "12"])         # one too many


def test_expect_checks_what_comes_after_the_concurrent_part():
    forkexec = SEED["forkexec"]
    assert forkexec.matches(forkexec.ordered)
    assert forkexec.matches("THIS IS ECHO\nparent waiting\nthe child exited with status 0\n")
    assert not forkexec.matches("parent waiting\nTHIS IS ECHO\nthe child exited with status 1\n")
    assert not forkexec.matches("parent waiting\nthe child exited with status 0\n")
    assert Expect("x\n").matches("x\n") and not Expect("x\n").matches("x\r\n")


def test_bigfork_check_tells_cow_from_eager():
    out = ("bigfork: grew the heap by 2 MiB (512 pages) and wrote to each page\n"
           "child: exec threw the copy away\n"
           "bigfork: pages copied by fork: {eager}\n"
           "bigfork: copy-on-write faults: {faults}, pages copied on write: {copies}\n"
           "bigfork: pages allocated by fork + exec + exit: {alloc}\n")
    cow = out.format(eager=0, faults=2, copies=1, alloc=18)
    eager = out.format(eager=515, faults=0, copies=0, alloc=532)
    assert check_bigfork(cow, cow=True)["copies"] == 1
    assert check_bigfork(eager, cow=False)["eager"] == 515
    with pytest.raises(AssertionError):
        check_bigfork(eager, cow=True)
    with pytest.raises(AssertionError):
        check_bigfork(cow, cow=False)
