"""The interactive prompt: a thin prompt_toolkit shell around `session.run_line`.

History (~/.rvtrace_history), tab completion (commands, `info` topics,
breakpoint words, syscall names, process names, kernel and user symbols,
registers, condition fields), a bottom toolbar with the position, and an
empty line repeating the last moving command, as in gdb.
"""

from __future__ import annotations

import os
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, InMemoryHistory

from rvtrace.debugger import commands
from rvtrace.debugger.addresses import ABI_NAMES
from rvtrace.debugger.breakpoints import EVENT_WORDS, INTERRUPT_WORDS
from rvtrace.debugger.eventtext import ALL_FIELDS
from rvtrace.debugger.printer import style
from rvtrace.debugger.commands import QuitRequested

HISTORY_FILE = Path(os.environ.get("RVTRACE_HISTORY", Path.home() / ".rvtrace_history"))
# Commands an empty line repeats (gdb repeats the moving ones).
REPEATABLE = {"step", "reverse-step", "stepi", "reverse-stepi", "next", "reverse-next", "continue",
              "reverse-continue", "list", "x", "up", "down", "nexti", "reverse-nexti", "step-event",
              "reverse-step-event", "until"}
SYMBOL_COMMANDS = {"print", "x", "disassemble", "list", "watch", "rwatch", "ptype", "whatis", "display",
                   "advance", "until"}
BREAK_COMMANDS = {"break", "tbreak", "events"}
MAX_SYMBOL_COMPLETIONS = 200
REGISTERS = ("pc",) + ABI_NAMES[1:] + ("sstatus", "sepc", "scause", "stval", "satp", "stvec")


class DebuggerCompleter(Completer):
    def __init__(self, session):
        self.session = session
        self._symbols: list[str] | None = None

    def symbols(self) -> list[str]:
        """Kernel symbols, then those of the program the current process runs (read from the
        recorded disk: no re-execution)."""
        if self._symbols is None:
            k = self.session.kernel
            self._symbols = sorted(k.symbols) if k else []
        user: list[str] = []
        ev = self.session.event
        if ev is not None and ev.pid:
            try:
                got = self.session.engine.programs.image_of(ev.pid, self.session.icount)
            except Exception:      # completion must never fail: no user symbols then
                got = None
            if got is not None:
                user = sorted(got[1].symbols)
        return user + self._symbols

    def get_completions(self, document, complete_event):
        text = document.text_before_cursor
        word = document.get_word_before_cursor(WORD=True)
        for candidate in dict.fromkeys(self.candidates(text, word)):
            if candidate.startswith(word) and candidate != word:
                yield Completion(candidate, start_position=-len(word))

    def candidates(self, text: str, word: str) -> list[str]:
        """Words that may follow `text` (whose last, partial word is `word`)."""
        head = text[:len(text) - len(word)]
        words = head.split()
        if not words:
            return commands.TOP.names()
        try:
            cmd = commands.TOP.lookup(words[0].split("/")[0])
        except Exception:      # an unknown command: nothing sensible to offer
            return []
        if cmd.name == "info" and len(words) == 1:
            return commands.INFO.names()
        if cmd.name == "help":
            return commands.TOP.names() if len(words) == 1 else commands.INFO.names()
        if cmd.name in BREAK_COMMANDS:
            return self._break_words(words, word)
        if cmd.name in SYMBOL_COMMANDS or (cmd.name == "info" and words[1:2] in (["registers"], ["r"],
                                                                                   ["symbol"])):
            if word.startswith("$"):
                return ["$" + r for r in REGISTERS]
            return self._locals() + self._symbols_for(word)
        return []

    def _break_words(self, words: list[str], word: str) -> list[str]:
        if "if" in words:
            fields = sorted(ALL_FIELDS) + ["and", "or", "not"]
            names = [f'"{n}"' for n in sorted(set(self._pids().values()))]
            return fields + names
        if len(words) == 1:
            if word.startswith("*"):
                return ["*" + s for s in self._symbols_for(word[1:])]
            return list(EVENT_WORDS) + sorted(self._syscall_names()) + self._symbols_for(word)
        last = words[-1]
        if last in ("syscall",):
            return sorted(self._syscall_names()) + ["if"]
        if last in ("pagefault", "fault"):
            return ["store", "load", "exec", "cow", "if"]
        if last == "interrupt":
            return list(INTERRUPT_WORDS) + ["if"]
        if last == "switch":
            return ["to", "from", "if"]
        if last in ("to", "from"):
            return [str(p) for p in sorted(self._pids())]
        if last == "exec" and len(words) == 2:
            return sorted(set(self._pids().values())) + ["if"]
        return ["if"]

    def _syscall_names(self) -> list[str]:
        """The recorded kernel's system call names (the trace's table)."""
        return list(self.session.calls.numbers)

    def _pids(self) -> dict[int, str]:
        facts = self.session.facts
        if facts.names_wait:           # no background scan running: read the names now
            facts.scan_all()
        return facts.pids()

    def _locals(self) -> list[str]:
        """Names of the selected frame's locals and arguments (DWARF), when the machine is at hand."""
        try:
            from rvtrace.debugger.cenv import Env
            from rvtrace.kernel.locals import function_scope
            for f in Env(self.session)._frames_for_locals():
                scope = function_scope(f.image, f.lookup_pc)
                if scope is not None:
                    return [v.name for v in scope.variables]
        except Exception:      # completion must never fail: no locals then
            return []
        return []

    def _symbols_for(self, word: str) -> list[str]:
        if len(word) < 1:
            return []
        if ":" in word:                  # kernel:pri<TAB>, forkexec:ma<TAB>
            qual, _, rest = word.partition(":")
            try:
                from rvtrace.debugger.scope import Scope
                img = Scope(self.session).program_image(qual)
            except Exception:  # an unknown program: nothing to offer
                return []
            return [f"{qual}:{s}" for s in sorted(img.symbols) if s.startswith(rest)][:MAX_SYMBOL_COMPLETIONS]
        out = []
        for s in self.symbols():
            if s.startswith(word):
                out.append(s)
                if len(out) >= MAX_SYMBOL_COMPLETIONS:
                    break
        return out


def _history():
    try:
        HISTORY_FILE.touch(exist_ok=True)
        return FileHistory(str(HISTORY_FILE))
    except OSError:
        return InMemoryHistory()


def interact(session) -> None:
    """Read commands until `quit` or end of input."""
    prompt = PromptSession(history=_history(), completer=DebuggerCompleter(session),
                           complete_while_typing=False, style=style())

    def toolbar():
        try:
            return FormattedText(session.position_fragments())
        except Exception:       # the toolbar must never break the prompt
            return FormattedText([("", f" icount {session.icount}")])

    last = ""
    while True:
        try:
            line = prompt.prompt([("class:prompt", "(rvtrace) ")], bottom_toolbar=toolbar)
        except KeyboardInterrupt:
            continue
        except EOFError:
            session.printer.line("quit")
            return
        if not line.strip():
            line = last
            if not line:
                continue
            if line == "x" and session.last_x_format is not None:
                line = f"x/{session.last_x_format.count}"     # the next units, as many as before
        else:
            last = _repeat_form(line)
        try:
            session.run_line(line)
        except QuitRequested:
            return


def _repeat_form(line: str) -> str:
    """What an empty line after `line` runs: the same move, `x` and `list` going on from where they ended."""
    try:
        cmd, _ = commands.resolve(line)
    except Exception:      # unknown commands are reported when run, not here
        return ""
    if cmd.name == "x":
        return "x"
    if cmd.name == "list":
        return "list"
    return line if cmd.name in REPEATABLE else ""
