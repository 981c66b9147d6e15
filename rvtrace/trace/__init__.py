"""The trace: the event model (events.py) and the msgpack file (writer.py, reader.py).

    from rvtrace.trace import TraceWriter, TraceReader, Kind
    with TraceWriter("t.mp", config={...}, seed=0, kernel=elf_bytes) as w:
        w.event(Kind.FORK, icount, hart, pid, child_pid)
    with TraceReader("t.mp") as t:
        for ev in t: print(ev.kind_name, ev.icount, ev.fields)

docs/trace-format.md describes the bytes.
"""

__all__ = ["Event", "KINDS", "Kind", "TraceError", "TraceHeader", "TraceReader", "TraceWriter", "read_header"]

_HOMES = {"TraceError": "errors", "KINDS": "events", "Event": "events", "Kind": "events",
          "TraceHeader": "reader", "TraceReader": "reader", "read_header": "reader", "TraceWriter": "writer"}


def __getattr__(name):
    """Import on first use: a recording writes traces and never reads one (the reader
    and its validation are not loaded), a dump reads and never writes."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'rvtrace.trace' has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(f"rvtrace.trace.{home}"), name)
