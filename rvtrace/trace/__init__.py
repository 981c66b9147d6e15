"""The trace: the event model (events.py) and the msgpack file (writer.py, reader.py).

    from rvtrace.trace import TraceWriter, TraceReader, Kind
    with TraceWriter("t.mp", config={...}, seed=0, kernel=elf_bytes) as w:
        w.event(Kind.FORK, icount, hart, pid, child_pid)
    with TraceReader("t.mp") as t:
        for ev in t: print(ev.kind_name, ev.icount, ev.fields)

docs/trace-format.md describes the bytes.
"""

from rvtrace.trace.errors import TraceError
from rvtrace.trace.events import KINDS, Event, Kind
from rvtrace.trace.reader import TraceHeader, TraceReader, read_header
from rvtrace.trace.writer import TraceWriter

__all__ = ["Event", "KINDS", "Kind", "TraceError", "TraceHeader", "TraceReader", "TraceWriter", "read_header"]
