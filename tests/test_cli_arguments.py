"""The command line's own behaviour: where options and program arguments may go."""

import subprocess
import sys

import pytest


def rvtrace(*argv, timeout=120):
    return subprocess.run([sys.executable, "-m", "rvtrace.cli", *argv], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.mark.slow
def test_options_may_follow_the_program_and_its_arguments():
    proc = rvtrace("run", "echo", "hi", "--harts", "2", "there")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hi there\n"


@pytest.mark.slow
def test_arguments_starting_with_a_dash_go_after_double_dash():
    proc = rvtrace("run", "echo", "--", "-n", "x")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "-n x\n"


def test_an_unknown_option_is_one_line_and_exit_2():
    proc = rvtrace("run", "echo", "--bogus")
    assert proc.returncode == 2
    assert "unrecognized arguments: --bogus" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_no_command_prints_help_and_fails():
    proc = rvtrace()
    assert proc.returncode == 2
    assert "COMMAND" in proc.stdout
