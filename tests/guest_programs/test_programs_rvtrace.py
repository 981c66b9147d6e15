"""The bundled programs under rvtrace's own machine: `rvtrace run NAME`, as a user types it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from gp_expect import (COWWRITE_EAGER, SEED, SHELL_SCRIPT, check_bigfork, check_selftest,
                       check_shell_session)

HAVE_RUNNER = importlib.util.find_spec("rvtrace.machine.runner") is not None
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not HAVE_RUNNER, reason="the emulator (rvtrace.machine.runner) does not exist yet")]


def rvtrace_run(*args: str, timeout: int = 600, stdin: bytes = b"") -> tuple[int, str, str]:
    """`rvtrace run ARGS...` in a subprocess: (exit status, console output, stderr).

    Options go before the program name: everything after it is the program's.
    """
    proc = subprocess.run([sys.executable, "-m", "rvtrace.cli", "run", *args],
                          capture_output=True, timeout=timeout, input=stdin)
    return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


@pytest.mark.parametrize("harts", [1, 3])
@pytest.mark.parametrize("name", sorted(SEED))
def test_seed_program_output(guest, name, harts):
    status, out, err = rvtrace_run("--harts", str(harts), name)
    expect = SEED[name]
    if harts == 1 and expect.ordered:
        # rvtrace is deterministic: on one hart exec's disk reads let the parent finish first.
        assert out == expect.ordered, out + err
    assert expect.matches(out), out + err
    assert status == expect.status, err


@pytest.mark.parametrize("harts", [1, 3])
def test_selftest_passes(guest, harts):
    status, out, err = rvtrace_run("--harts", str(harts), "selftest", timeout=1800)
    check_selftest(out)
    assert status == 0, err


def test_bigfork_cow_and_eager(guest):
    status, out, err = rvtrace_run("bigfork", "2")
    check_bigfork(out, cow=True)
    status_eager, out_eager, err = rvtrace_run("--no-cow", "bigfork", "2")
    check_bigfork(out_eager, cow=False)
    assert status == status_eager == 0


def test_cowwrite_eager(guest):
    status, out, err = rvtrace_run("--no-cow", "cowwrite")
    assert COWWRITE_EAGER.matches(out), out + err
    assert status == 0


def test_shell_session_on_the_console(guest):
    status, out, err = rvtrace_run("sh", stdin=SHELL_SCRIPT)
    check_shell_session(out)
    assert status == 0, err


def test_unknown_program_is_one_line_listing_the_programs():
    status, out, err = rvtrace_run("no_such_prog", timeout=120)
    assert status != 0 and out == ""
    assert err.count("\n") == 1 and "no_such_prog" in err and "forkexec" in err
    assert "Traceback" not in err
