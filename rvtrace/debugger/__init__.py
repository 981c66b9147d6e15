"""The time-travel debugger: `rvtrace replay FILE` (prompt_toolkit), over rvtrace.replay.

main.py        the command: -ex/-x/-batch, then the prompt (or stdin lines)
prompt.py      the interactive shell: history, completion, bottom toolbar
session.py     DebugSession: the position, breakpoints, run_line(); what every command receives
commands.py    the command table (gdb names, aliases, prefixes) and help
cmd_*.py       the commands, one module per concern: moves, breakpoints, events, state, code, misc
breakpoints.py `break SPEC [if COND]` parsed into event / pc breakpoints, and their table
expr.py        the condition language (no eval)
eventtext.py   events as text (and as fields for conditions)
facts.py       process names and console text, from one incremental scan of the events
machine.py     MachineView: registers, memory, processes, stepping, searches on the replay engine
values.py      print: kernel variables through DWARF types
xformat.py     x/FMT formats; addresses.py: ADDR expressions
probes.py      pc breakpoints as a probe for the engine's searches; printer.py: styled output
"""
