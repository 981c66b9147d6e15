"""Recording: a Machine with observers attached, writing a trace (`rvtrace record`).

recorder.py  Recorder: the observers, turning architectural moments into events
output.py    EventOutput: events leave in icount order (placeholders for late details)
console.py   which process a console byte belongs to
identity.py  processes from kernel introspection, or address spaces without symbols
shell.py     typing a command into a foreign kernel's shell at a guest-decided point
session.py   record() a run into a file; rerun() a trace's machine (determinism, replay)
command.py   the `rvtrace record` command: live console, progress line, summary
"""

from rvtrace.record.session import RECORDER_REVISION, RecordResult, config_of, decisions_of, rebuild, record, rerun

__all__ = ["RECORDER_REVISION", "RecordResult", "config_of", "decisions_of", "rebuild", "record", "rerun"]
