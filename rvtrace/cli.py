"""`rvtrace`: the command line.

Each subcommand is a pair of functions: `add_<name>(subparsers)` declares its
arguments and `cmd_<name>(args)` does the work by calling into the layer that
owns it. Every UserError raised below becomes one line on stderr and a
non-zero exit; Ctrl-C exits 130 without a traceback.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys

from rvtrace import __version__
from rvtrace.errors import UserError


# --- run -------------------------------------------------------------------

def add_run(sub) -> None:
    p = sub.add_parser(
        "run",
        help="boot a kernel and stream its console",
        description="Boot the bundled kernel running PROGRAM, or any kernel built for "
        "QEMU's virt board with --kernel; the console is connected to this "
        "terminal and the exit code is the guest's.",
    )
    p.add_argument("program", nargs="?", help="a program of the bundled guest (see `rvtrace build --list`)")
    add_program_args(p)
    p.add_argument("--kernel", metavar="ELF", help="boot this RV64 kernel ELF instead of the bundled one")
    p.add_argument("--disk", metavar="IMG", help="attach this raw disk image as the virtio block device")
    p.add_argument("--append", metavar="ARGS", default=None, help="boot arguments (/chosen/bootargs)")
    add_machine_options(p)
    p.add_argument("--no-cow", action="store_true", help="bundled kernel: copy all memory at fork (cow=0)")
    p.add_argument("--stats", action="store_true", help="print instructions retired, wall time and MIPS on stderr")


def add_program_args(p) -> None:
    """ARGS after the program name; rvtrace's own options may come before or after them
    (`rvtrace run echo hi --harts 3`); arguments that start with '-' go after `--`."""
    p.add_argument("args", nargs="*", help="its arguments (put them after -- if they start with '-')")


def integer(low: int, high: int | None, what: str):
    """An argparse type: an integer from `low` to `high` (None: no upper bound), the range in
    the message when it is not one."""
    span = f"from {low} to {high}" if high is not None else f"of at least {low}"

    def convert(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number: give {what}, an integer {span}") \
                from None
        if value < low or high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{value} is out of range: give {what}, an integer {span}")
        return value
    convert.__name__ = what        # argparse names the type in some messages
    return convert


MAX_SEED = 2**64 - 1
# The bundled kernel's page tables, stacks and first processes need this much RAM
# (measured: with 2 MiB it faults during boot).
MIN_BUNDLED_MEM_MIB = 3


def add_machine_options(p) -> None:
    """Options shared by every command that builds a machine."""
    from rvtrace.machine.config import MAX_HARTS, MAX_MEM_MIB, MIN_MEM_MIB
    p.add_argument("--harts", type=integer(1, MAX_HARTS, "the number of harts"), default=1, metavar="N",
                   help=f"number of harts, 1 to {MAX_HARTS} (default 1)")
    p.add_argument("--seed", type=integer(0, MAX_SEED, "a seed"), default=0, metavar="S",
                   help="scheduler seed, 0 to 2**64-1 (default 0)")
    p.add_argument("--mem", type=integer(MIN_MEM_MIB, MAX_MEM_MIB, "the RAM size in MiB"), default=128,
                   metavar="MiB", help=f"RAM size in MiB, {MIN_MEM_MIB} to {MAX_MEM_MIB} (default 128)")
    p.add_argument("--max-insns", type=integer(1, None, "an instruction budget"), default=None, metavar="N",
                   help="stop with an error after N instructions, N >= 1 (default: no limit)")
    add_perturb_options(p)


def add_perturb_options(p, default: str = "off") -> None:
    """How much the seed varies the schedule (docs/architecture.md, "Schedule perturbation")."""
    p.add_argument("--perturb", choices=("off", "vary", "chaos"), default=default,
                   help=f"how much the seed varies turn lengths, timer arrival, disk latency and hart "
                   f"choice (default {default})")
    p.add_argument("--chaos", dest="perturb", action="store_const", const="chaos",
                   help="the same as --perturb chaos: vary everything, and now and then starve one hart "
                   "for a long stretch (rr's chaos mode)")


def cmd_run(args) -> int:
    from rvtrace.machine.runner import run_console
    config = machine_config_from_args(args)
    return run_console(config, max_insns=args.max_insns, stats=args.stats)


def machine_config_from_args(args):
    """Turn run/record arguments into a MachineConfig (kernel, disk, boot args)."""
    from rvtrace.machine.config import MachineConfig
    if args.kernel:
        if args.program:
            raise UserError("give either a PROGRAM or --kernel, not both "
                            "(with --kernel, boot arguments go in --append)")
        kernel, disk, bootargs = args.kernel, args.disk, args.append or ""
    else:
        if not args.program:
            raise UserError("name a program to run (e.g. `rvtrace run forkexec`) or give --kernel ELF")
        if args.mem < MIN_BUNDLED_MEM_MIB:
            raise UserError(f"--mem {args.mem} is too small for the bundled kernel: it needs at least "
                            f"{MIN_BUNDLED_MEM_MIB} MiB of RAM")
        from rvtrace.guest.bundle import bundled_boot
        kernel, disk, bootargs = bundled_boot(args.program, args.args, cow=not args.no_cow)
        if args.disk:
            disk = args.disk
    return MachineConfig(kernel=kernel, disk=disk, bootargs=bootargs, harts=args.harts,
                         seed=args.seed, mem_mib=args.mem, perturb=getattr(args, "perturb", "off"))


# --- build -----------------------------------------------------------------

def add_build(sub) -> None:
    p = sub.add_parser("build", help="build the bundled kernel, user programs and disk image",
                       description="Build kernel_src/ and user_src/ with zig cc and pack the disk "
                       "image. Results are cached by content hash; any command that needs the "
                       "guest builds it on demand, so this is only needed to see build errors "
                       "or list the programs.")
    p.add_argument("--list", action="store_true", help="list the programs on the disk image")
    p.add_argument("--force", action="store_true", help="rebuild even if the cache is fresh")


def cmd_build(args) -> int:
    from rvtrace.guest.bundle import build_command
    return build_command(list_programs=args.list, force=args.force)


# --- dump ------------------------------------------------------------------

def add_dump(sub) -> None:
    p = sub.add_parser("dump", help="print a trace as strace-like text, one event a line",
                       description="Print every event of a recorded trace: syscalls with decoded "
                       "arguments, page faults, context switches, interrupts, disk requests, "
                       "process lifecycle, console bytes. A truncated trace prints its readable "
                       "prefix and a warning.")
    p.add_argument("file", help="a trace written by `rvtrace record` (e.g. traces/forkexec.mp)")
    p.add_argument("--pid", type=integer(0, 2**31 - 1, "a process id"), default=None, metavar="N",
                   help="only events of process N")
    p.add_argument("--kind", default=None, metavar="K1,K2",
                   help="only these kinds: syscall, pagefault, switch, interrupt, disk, process, "
                   "console, schedule, end, or single kinds such as fork, exec, exit")
    p.add_argument("--json", action="store_true", help="one JSON object a line instead of text")
    p.add_argument("--header", action="store_true",
                   help="only the recording's settings: program, seed, harts, copy-on-write, kernel "
                   "and disk identity, recorder revision")


def cmd_dump(args) -> int:
    from rvtrace.analysis.dump import dump, dump_header
    if args.header:
        return dump_header(args.file)
    if args.kind is not None and not args.kind.strip(" ,"):
        raise UserError("--kind: name at least one kind (e.g. --kind syscall,pagefault)")
    return dump(args.file, pid=args.pid, kinds=args.kind, as_json=args.json)


# --- record ----------------------------------------------------------------

def add_record(sub) -> None:
    p = sub.add_parser(
        "record", help="run a program and record everything the kernel does into a trace",
        description="Boot the bundled kernel running PROGRAM (or, with --kernel/--disk, boot that "
        "kernel and type PROGRAM into its shell) and write every system call, page fault, context "
        "switch, interrupt, disk request, console byte and scheduling decision to a trace "
        "(default PROGRAM.mp in the current directory; an existing file of that name is kept as "
        "PROGRAM.mp.old).")
    p.add_argument("program", nargs="?", help="a program of the bundled guest (see `rvtrace build --list`)")
    add_program_args(p)
    p.add_argument("-o", "--output", metavar="FILE", help="where to write the trace (default PROGRAM.mp)")
    p.add_argument("--kernel", metavar="ELF", help="record this RV64 kernel (e.g. your xv6 build); "
                   "PROGRAM is typed into its shell")
    p.add_argument("--disk", metavar="IMG", help="its file system image (with --kernel)")
    add_machine_options(p)
    p.add_argument("--no-cow", action="store_true", help="bundled kernel: copy all memory at fork (cow=0)")


def cmd_record(args) -> int:
    from rvtrace.record.command import check_kernel_mode, record_command
    check_kernel_mode(args)
    if args.kernel:   # the program is typed into the kernel's shell, not passed at boot
        shell = argparse.Namespace(**{**vars(args), "program": None, "append": ""})
        config = machine_config_from_args(shell)
    else:
        config = machine_config_from_args(argparse.Namespace(**vars(args), append=None))
    return record_command(config, program=args.program, args=args.args, output=args.output,
                          max_insns=args.max_insns, shell_mode=bool(args.kernel))


# --- replay ----------------------------------------------------------------

class _InOrder(argparse.Action):
    """-ex CMD and -x FILE keep their relative order (gdb runs them as given)."""

    def __call__(self, parser, namespace, value, option_string=None):
        items = list(getattr(namespace, self.dest, None) or [])
        items.append(("ex" if option_string in ("-ex", "--eval-command") else "x", value))
        setattr(namespace, self.dest, items)


def add_replay(sub) -> None:
    p = sub.add_parser(
        "replay", help="the time-travel debugger over a recorded trace",
        description="Open a trace in a gdb-like debugger that moves forwards and backwards by event "
        "(break exec, continue, reverse-continue, step-event), by source line (step, next, finish) and "
        "by instruction (stepi, reverse-stepi), and "
        "shows registers, memory, processes and source at any moment. `help` inside lists the commands.")
    p.add_argument("file", help="a trace written by `rvtrace record` (e.g. traces/forkexec.mp)")
    p.add_argument("-ex", "--eval-command", dest="commands", action=_InOrder, metavar="CMD", default=[],
                   help="run debugger command CMD (repeatable; in order with -x)")
    p.add_argument("-x", "--command", dest="commands", action=_InOrder, metavar="SCRIPT",
                   help="run the debugger commands in file SCRIPT")
    p.add_argument("-batch", "--batch", action="store_true",
                   help="exit after the -ex/-x commands (status 1 if one failed) instead of prompting")
    p.add_argument("--source-dir", dest="source_dirs", action="append", default=[], metavar="DIR",
                   help="look for the recorded programs' C sources under DIR (repeatable; the "
                   "checkout's kernel_src/ and user_src/ are always searched)")


def cmd_replay(args) -> int:
    from rvtrace.debugger.main import replay_command
    from rvtrace.files import check_input
    for kind, text in args.commands:          # the trace itself is checked by its reader
        if kind == "x":
            check_input(text, "command script")
    for d in args.source_dirs:
        if not os.path.isdir(d):
            raise UserError(f"--source-dir {d}: no such directory")
    return replay_command(args.file, args.commands, args.batch, source_dirs=args.source_dirs)


# --- explore, diff, explain, timeline, export ------------------------------------

def add_explore(sub) -> None:
    p = sub.add_parser(
        "explore", help="record a program under many seeds and list the distinct outcomes",
        description="Record PROGRAM once per seed with the schedule perturbed (turn lengths, timer "
        "arrival, disk latency, hart choice, starvation), group the runs by console output and by "
        "the cross-process order of system calls, print a table and keep one trace per distinct "
        "output in DIR with DIR/outcomes.json.")
    p.add_argument("program", help="a program of the bundled guest (see `rvtrace build --list`)")
    add_program_args(p)
    p.add_argument("--seeds", default="0..99", metavar="A..B", help="seeds to try, both ends included "
                   "(default 0..99)")
    from rvtrace.machine.config import MAX_HARTS, MAX_MEM_MIB, MIN_MEM_MIB
    p.add_argument("--harts", type=integer(1, MAX_HARTS, "the number of harts"), default=1, metavar="N",
                   help=f"number of harts, 1 to {MAX_HARTS} (default 1)")
    p.add_argument("--mem", type=integer(MIN_MEM_MIB, MAX_MEM_MIB, "the RAM size in MiB"), default=128,
                   metavar="MiB", help=f"RAM size in MiB, {MIN_MEM_MIB} to {MAX_MEM_MIB} (default 128)")
    p.add_argument("--max-insns", type=integer(1, None, "an instruction budget"), default=None, metavar="N",
                   help="stop each run after N instructions")
    add_perturb_options(p, default="vary")
    p.add_argument("--no-cow", action="store_true", help="bundled kernel: copy all memory at fork (cow=0)")
    p.add_argument("--jobs", "-j", type=integer(1, 256, "the number of parallel recordings"), default=None,
                   metavar="J",
                   help="recordings in parallel (default: the number of cores)")
    p.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="run the recordings on a Ray cluster (`auto`: the one this machine belongs to, "
                   "`local`: start one here); needs pip install 'rvtrace[cluster]'")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="where to keep the traces and outcomes.json")


def cmd_explore(args) -> int:
    import os
    from rvtrace.analysis.explore import explore, parse_seeds
    seeds = parse_seeds(args.seeds)
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if jobs < 1:
        raise UserError(f"--jobs {jobs}: give at least 1")
    config = machine_config_from_args(argparse.Namespace(**vars(args), kernel=None, disk=None, append=None,
                                                         seed=0))
    explore(config, seeds, args.output, jobs=jobs, ray=args.ray, max_insns=args.max_insns,
            metadata={"program": args.program, "args": list(args.args)})
    return 0


def add_diff(sub) -> None:
    p = sub.add_parser(
        "diff", help="where two runs of a program part ways, and why",
        description="Align two traces per process (each process's k-th system call or event with its "
        "k-th), find the first point where their global orders part, name the scheduler decision or "
        "timing there, and show the consequences (console bytes, processes whose events differ). "
        "Exit status as diff(1): 0 identical, 1 different, 2 trouble.")
    p.add_argument("a", metavar="A.mp")
    p.add_argument("b", metavar="B.mp")
    p.add_argument("--json", action="store_true", help="the result as one JSON object")


def cmd_diff(args) -> int:
    from rvtrace.analysis.diff import diff_command
    try:
        return diff_command(args.a, args.b, as_json=args.json)
    except UserError as exc:
        raise UserError(str(exc), exit_code=2) from None


def add_explain(sub) -> None:
    p = sub.add_parser(
        "explain", help="who wrote this output, when, and what set the order",
        description="For TEXT in the run's console output: which process wrote each byte and in which "
        "event, what every other process was doing meanwhile, and the chain of events that set the order.")
    p.add_argument("file", help="a trace")
    p.add_argument("text", help="console text, e.g. \"parent waiting\"")
    p.add_argument("--json", action="store_true", help="the result as one JSON object")


def cmd_explain(args) -> int:
    from rvtrace.analysis.explain import explain_command
    return explain_command(args.file, args.text, as_json=args.json)


def add_timeline(sub) -> None:
    p = sub.add_parser(
        "timeline", help="one lane per hart: which process ran when",
        description="Draw one lane per hart showing which process ran when, with marks for system "
        "calls, faults and interrupts, to the terminal's width.")
    p.add_argument("file", help="a trace")
    p.add_argument("--from", dest="start", type=int, default=None, metavar="ICOUNT")
    p.add_argument("--to", dest="end", type=int, default=None, metavar="ICOUNT")
    p.add_argument("--width", type=integer(20, 10000, "a width in columns"), default=None, metavar="COLUMNS",
                   help="default: the terminal's")


def cmd_timeline(args) -> int:
    from rvtrace.analysis.timeline import timeline_command
    return timeline_command(args.file, args.start, args.end, args.width)


def add_export(sub) -> None:
    p = sub.add_parser(
        "export", help="the timeline as a Perfetto trace or an SVG picture",
        description="--format perfetto writes a native Perfetto trace (open it in ui.perfetto.dev): a "
        "track per hart and per process, slices for runs and system calls, instants for faults and "
        "interrupts, flows from fork to child. --format svg writes a picture for slides.")
    p.add_argument("file", help="a trace")
    p.add_argument("--format", required=True, choices=("perfetto", "svg"))
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.add_argument("--from", dest="start", type=int, default=None, metavar="ICOUNT", help="svg: first instruction")
    p.add_argument("--to", dest="end", type=int, default=None, metavar="ICOUNT", help="svg: last instruction")


def cmd_export(args) -> int:
    from rvtrace.analysis.export import export_command
    return export_command(args.file, args.format, args.output, args.start, args.end)


# --- entry point -------------------------------------------------------------

COMMANDS = {
    "run": (add_run, cmd_run),
    "build": (add_build, cmd_build),
    "dump": (add_dump, cmd_dump),
    "record": (add_record, cmd_record),
    "replay": (add_replay, cmd_replay),
    "explore": (add_explore, cmd_explore),
    "diff": (add_diff, cmd_diff),
    "explain": (add_explain, cmd_explain),
    "timeline": (add_timeline, cmd_timeline),
    "export": (add_export, cmd_export),
}


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors in rvtrace's form: one line, `rvtrace: what is wrong`."""

    def error(self, message: str):
        m = re.match(r"argument ([^:]+): (.*)", message, re.S)
        if m:               # "argument -o/--output: ..." -> "--output ..."
            message = f"{m.group(1).split('/')[-1]} {m.group(2)}"
        self.exit(2, f"rvtrace: {' '.join(message.split())} (see `{self.prog} --help`)\n")


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rvtrace",
        description="Record what a RISC-V xv6-style kernel does, and travel through it in time.",
    )
    parser.add_argument("--version", action="version", version=f"rvtrace {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        # argparse stops filling ARGS at the first option; what follows it
        # that is not an option still belongs to the guest program.
        if not hasattr(args, "args") or any(e.startswith("-") for e in extras):
            parser.error("unrecognized arguments: " + " ".join(extras))
        args.args += extras
    if not args.command:
        parser.print_help()
        return 2
    _, handler = COMMANDS[args.command]
    try:
        return handler(args) or 0
    except UserError as exc:
        print(f"rvtrace: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("rvtrace: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def entry() -> int:
    """The `rvtrace` program: main(), then leave without collecting the heap.

    At exit the interpreter's last garbage collection walks every object the
    command made (a recording's translated code, a replay's checkpoints):
    about 0.1 s of a short recording, for memory the process hands back to
    the system anyway. By then a trace is closed and renamed into place, so
    moving everything to the collector's permanent generation loses nothing;
    stdout and stderr are still flushed as usual. (Not in main(): tests and
    other callers go on living after it.)"""
    code = main()
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(entry())
