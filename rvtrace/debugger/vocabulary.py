"""Every debugger command: importing this module registers them all in the command table.

The command modules import only `commands` (the table) and what they show;
the session imports this module, so no command module imports the session.
"""

from rvtrace.debugger import cmd_breakpoints, cmd_code, cmd_events, cmd_misc, cmd_moves, cmd_state  # noqa: F401
from rvtrace.debugger import cmd_analysis, cmd_data, cmd_frames  # noqa: F401
