"""Replay: a position in a recorded run, moved by event (the index) and by instruction (re-execution).

session.py    ReplaySession: the one owner of the position and of every move and search
inspect.py    MachineViews (mixed into ReplaySession): registers, memory, processes, symbols at the position
cursor.py     EventCursor, EventFilter: event moves over the trace index, no emulation
engine.py     Engine: the trace's machine re-executed to any icount, checkpoints, searches
seeds.py      the recording's snapshots, restored into the engine's machine on demand
turns.py      TurnLog (mixed into Engine): which hart ran when, per-hart instruction counting
snapshot.py   capture/restore of a Machine (RAM and disk as page versions, the rest deep-copied)
check.py      CheckingSink: re-execution's events compared with the trace's (Divergence)
probes.py     what searches watch for: a pc on a hart (next, finish), a value changing (watch), stop sets
stops.py      StopSet (pc, event and watch stops) a search is asked for, and the Stop it found
programs.py   which user ELF a process runs at a moment (from EXEC/FORK events and the disk)
lines.py      source-line moves of one hart (step, next, until, reverse-step, reverse-next)
errors.py     EndOfTrace, ReplayError, Divergence, Interrupted (all UserErrors: print and go on)
"""

from rvtrace.replay.cursor import EventCursor, EventFilter, kinds_filter
from rvtrace.replay.errors import Divergence, EndOfTrace, Interrupted, ReplayError
from rvtrace.replay.inspect import Location
from rvtrace.replay.session import Position, ReplaySession, WatchHit
from rvtrace.replay.stops import EventStop, PcStop, Stop, StopSet, WatchStop

__all__ = ["Divergence", "EndOfTrace", "EventCursor", "EventFilter", "EventStop", "Interrupted", "Location",
           "PcStop", "Position", "ReplayError", "ReplaySession", "Stop", "StopSet", "WatchHit", "WatchStop",
           "kinds_filter"]
