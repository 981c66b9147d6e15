"""The one exception type users see.

Any layer raises UserError for a problem the person at the keyboard can act on
(a missing file, a kernel that is not RV64, a guest that loops forever). The
command line prints its message as one line and exits non-zero; nothing else
reaches the user as a traceback.
"""


class UserError(Exception):
    """A problem with the user's input or the guest, worded for people."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code
