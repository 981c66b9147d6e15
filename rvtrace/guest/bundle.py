"""The bundled guest as the rest of rvtrace sees it: "run program X" -> kernel, disk, boot args.

The disk image returned here is a shared cached file: a machine must read it
into memory and never write its changes back (QEMU users: pass a copy).
"""

from __future__ import annotations

from pathlib import Path

from rvtrace.errors import UserError
from rvtrace.guest import build


def programs() -> list[str]:
    """The programs a user can name: one per user_src/*.c."""
    return build.programs()


def check_program(program: str) -> None:
    """Raise a one-line UserError listing the programs when `program` is not one of them."""
    names = programs()
    if program not in names:
        raise UserError(f"no program {program!r} in the bundled guest; available: {', '.join(names)} "
                        f"(add your own as user_src/{program}.c)")


def boot_arguments(program: str, args: list[str] | tuple[str, ...] = (), cow: bool = True) -> str:
    """The kernel command line: options first (`cow=0`), then the command."""
    for word in [program, *args]:
        if not word or any(c.isspace() for c in word):
            raise UserError(f"argument {word!r} cannot be passed on the kernel command line: "
                            "arguments must be non-empty and contain no spaces")
    options = [] if cow else ["cow=0"]
    return " ".join(options + [program, *args])


def bundled_boot(program: str, args=(), cow: bool = True) -> tuple[str, str, str]:
    """Build the bundled guest if needed; return (kernel ELF path, disk image path, boot args)."""
    check_program(program)
    bootargs = boot_arguments(program, list(args), cow)
    guest = build.build_all()
    return str(guest.kernel), str(guest.disk), bootargs


def build_command(list_programs: bool = False, force: bool = False) -> int:
    """`rvtrace build [--list] [--force]`."""
    guest = build.build_all(force=force)
    if list_programs:
        for name in sorted(guest.programs):
            print(name)
        return 0
    print(f"kernel  {_shown(guest.kernel)}")
    print(f"disk    {_shown(guest.disk)}")
    print(f"programs ({len(guest.programs)}): {' '.join(sorted(guest.programs))}")
    return 0


def _shown(path: Path) -> str:
    """A path relative to the current directory when it is below it (shorter to read)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
