"""Commands that read the whole run at once: explain, diff, timeline.

They work on the recorded events (rvtrace/analysis) and only ask the
session two things, through the adapters below: which trace is open, and
to move to an event (`diff` moves to where the runs part). The analyses
print to a text stream; the session's printer shows it.
"""

from __future__ import annotations

import io
import shlex
import weakref

from rvtrace.analysis import diff as diffing
from rvtrace.analysis import explain as explaining
from rvtrace.analysis import timeline as timelines
from rvtrace.analysis.runlog import RunLog
from rvtrace.debugger.commands import command
from rvtrace.errors import UserError

_LOGS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


# --- the adapters: all these commands know of the session ------------------------------------

def run_log(session) -> RunLog:
    """The open trace's events, read once per session."""
    log = _LOGS.get(session)
    if log is None:
        log = _LOGS[session] = RunLog(session.trace.path)
    return log


def move_to_event(session, number: int, why: str) -> None:
    session.set_event(number)
    session.report_position(why=why)


# --- the commands ---------------------------------------------------------------------------

def _one_argument(arg: str, usage: str) -> str:
    try:
        words = shlex.split(arg)
    except ValueError as exc:
        raise UserError(f"{usage}: {exc}") from None
    if len(words) != 1:
        raise UserError(f"usage: {usage}")
    return words[0]


@command("explain", usage='explain "TEXT"', group="looking",
         summary="who wrote TEXT on the console, when, what the others did meanwhile, and why then",
         details="Each byte's writer and console-out event (a change of writer is named), every other "
         "process's state meanwhile (from the recorded switches: running on which hart, or asleep "
         "and waiting for what, with its kernel backtrace), and the chain of events that set the "
         "order, with event numbers to `goto`.")
def cmd_explain(session, arg):
    text = _one_argument(arg, 'explain "TEXT"')
    log = run_log(session)
    out = io.StringIO()
    explaining.print_explanation(explaining.explain(log, text), log, out)
    session.printer.text(out.getvalue())


@command("diff", usage="diff OTHER.mp", group="looking",
         summary="compare this run with another recording of the same program; move to where they part",
         details="Aligns the two runs per process, names the scheduler decision or timing where their "
         "orders part and the consequences, then moves to this run's first different event.")
def cmd_diff(session, arg):
    other = _one_argument(arg, "diff OTHER.mp")
    log, other_log = run_log(session), RunLog(other)
    result = diffing.diff_runs(log, other_log)
    if result.identical:
        session.printer.line("The two runs are identical.")
        return
    out = io.StringIO()
    diffing.print_diff(result, log, other_log, out)
    session.printer.text(out.getvalue())
    if not result.same_order and result.a.event is not None:
        move_to_event(session, result.a.event.number, "Where the runs part:")


@command("timeline", usage="timeline [FROM [TO]]", group="looking",
         summary="one lane per hart: which process ran when (FROM/TO: instruction counts or #events)",
         details="Without arguments: 50,000 instructions either side of the current position. FROM and "
         "TO are instruction counts (`405000`, `@405000`) or event numbers (`#176`).")
def cmd_timeline(session, arg):
    log = run_log(session)
    words = arg.split()
    if len(words) > 2:
        raise UserError("usage: timeline [FROM [TO]]")
    here = session.icount
    start = _point(log, words[0]) if words else max(here - 50_000, 0)
    end = _point(log, words[1]) if len(words) > 1 else (start + 100_000 if words else here + 50_000)
    session.printer.text(timelines.render(log, start, end))     # the terminal's width


def _point(log: RunLog, word: str) -> int:
    try:
        if word.startswith("#"):
            number = int(word[1:])
            if not 0 <= number < len(log.events):
                raise UserError(f"there is no event {word}: the trace has events 0 to {len(log.events) - 1}")
            return log.events[number].icount
        return int(word.lstrip("@").replace(",", "").replace("_", ""), 0)
    except ValueError:
        raise UserError(f"timeline: {word!r} is neither an instruction count nor #EVENT") from None
