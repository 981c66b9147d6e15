"""The bundled programs under QEMU, the reference machine: same ELF, same image as rvtrace uses."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from rvtrace.guest import build, bundle

from gp_expect import (COWWRITE_EAGER, SEED, SHELL_SCRIPT, check_bigfork, check_selftest,
                       check_shell_session)
from gp_qemu import QEMU, SKIP_REASON, run_qemu

pytestmark = [pytest.mark.slow, pytest.mark.qemu,
              pytest.mark.skipif(QEMU is None, reason=SKIP_REASON)]

HARTS = [1, 3]


@pytest.mark.parametrize("harts", HARTS)
@pytest.mark.parametrize("name", sorted(SEED))
def test_seed_program_output(guest, name, harts):
    status, out = run_qemu(guest.kernel, guest.disk, name, harts=harts)
    expect = SEED[name]
    # QEMU's timer follows the host clock, so even one hart may be preempted
    # mid-line: only the interleaving-aware check is reliable here.
    assert expect.matches(out), out
    assert status == expect.status


@pytest.mark.parametrize("harts", HARTS)
def test_selftest_passes(guest, harts):
    status, out = run_qemu(guest.kernel, guest.disk, "selftest", harts=harts, timeout=120)
    check_selftest(out)
    assert status == 0


@pytest.mark.parametrize("harts", HARTS)
def test_bigfork_with_copy_on_write_copies_nothing_at_fork(guest, harts):
    status, out = run_qemu(guest.kernel, guest.disk, "bigfork", harts=harts)
    check_bigfork(out, cow=True)
    assert status == 0


def test_bigfork_with_eager_fork_copies_every_page(guest):
    status, out = run_qemu(guest.kernel, guest.disk, "cow=0 bigfork 2")
    counters = check_bigfork(out, cow=False)
    assert counters["pages"] == 512 and status == 0


def test_cowwrite_without_cow_copies_nothing_later(guest):
    status, out = run_qemu(guest.kernel, guest.disk, "cow=0 cowwrite")
    assert COWWRITE_EAGER.matches(out), out
    assert status == 0


def test_echo_and_exit_status_of_a_missing_program(guest):
    assert run_qemu(guest.kernel, guest.disk, "echo hello  world") == (0, "hello world\n")
    status, out = run_qemu(guest.kernel, guest.disk, "no_such_program")
    assert status == 127 and "no_such_program" in out


def test_shell_runs_pipes_redirections_and_lists(guest):
    status, out = run_qemu(guest.kernel, guest.disk, "sh", stdin=SHELL_SCRIPT)
    check_shell_session(out)
    assert status == 0, out


def readme_example() -> str:
    """The C program README.md's "Your own program" section tells users to write."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Your own program"):]
    return re.search(r"```c\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_builds_and_runs(tmp_path, monkeypatch):
    """Follow the README: add user_src/hello.c, build, run `hello a b c`."""
    shutil.copytree(build.USER_SRC, tmp_path / "user_src")
    monkeypatch.setattr(build, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(build, "USER_SRC", tmp_path / "user_src")
    (tmp_path / "user_src" / "hello.c").write_text(readme_example())
    kernel, disk, bootargs = bundle.bundled_boot("hello", ["a", "b", "c"])
    status, out = run_qemu(Path(kernel), Path(disk), bootargs)
    assert re.fullmatch(r"hello from pid \d+, with 3 arguments\n"
                        r"child says hi\n"
                        r"child \d+ exited with status 0\n", out), out
    assert status == 0
