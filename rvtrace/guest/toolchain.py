"""The guest C toolchain: `zig cc` from the pinned PyPI `ziglang` package.

Everything that compiles RISC-V code -- the bundled kernel, the user programs,
the bare-metal test guests -- goes through `compile_elf`, so the target and
flags are written down once. The flags are the ones verified for ziglang
0.17.1: `-march=` is rejected by zig cc, `-O0` would switch on UBSan (hence
`-fno-sanitize=undefined`), and clang may emit calls to memset/memcpy, which
every guest must therefore provide. zig cc also tells the linker to enter at
`_start`, overriding a linker script's ENTRY(); compile_elf passes the
script's ENTRY symbol explicitly, so the script stays the one place it is said.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Sequence

from rvtrace.errors import UserError

TARGET_FLAGS = [
    "-target", "riscv64-freestanding-none",
    "-mcpu=generic_rv64+m+a+c+zicsr+zifencei",
    "-mcmodel=medany",
]

FREESTANDING_FLAGS = [
    "-ffreestanding", "-nostdlib", "-fno-builtin",
    "-fno-sanitize=undefined",
    "-fno-unwind-tables", "-fno-asynchronous-unwind-tables",
    "-fno-omit-frame-pointer",          # backtraces walk s0 chains
    "-Wl,--no-eh-frame-hdr", "-Wl,-z,stack-size=0",
    "-g", "-O1",
    "-Wall", "-Werror=implicit-function-declaration",
]

# The bundled kernel starts every function on a 64-byte line: the trace's intervals section
# notes the code that ran by 64-byte lines (rvtrace/cpu/codecache.py CODE_LINE), so a line
# never holds the tail of a busy function beside one that never runs (`break panic` then
# skips the whole recording without re-executing it).
KERNEL_FLAGS = ["-falign-functions=64"]


def path_map_flags() -> list[str]:
    """Debug info names files relative to the checkout (and zig's own headers as zig/...),
    so a built ELF -- and a trace that embeds it -- holds no path of the host that built it."""
    import ziglang
    root = Path(__file__).resolve().parents[2]
    zig = Path(ziglang.__file__).resolve().parent
    return [f"-ffile-prefix-map={root}/=", f"-ffile-prefix-map={zig}/=zig/", "-fdebug-compilation-dir=."]


def zig_cc_command() -> list[str]:
    """The argv prefix that runs zig's C compiler with this Python."""
    return [sys.executable, "-m", "ziglang", "cc"]


def linker_script_entry(linker_script: str | Path) -> str | None:
    """The symbol named by ENTRY(...) in a linker script, if it names one."""
    text = re.sub(r"/\*.*?\*/", " ", Path(linker_script).read_text(), flags=re.S)
    match = re.search(r"\bENTRY\s*\(\s*([A-Za-z_.$][\w.$]*)\s*\)", text)
    return match.group(1) if match else None


def compile_elf(
    sources: Iterable[str | Path],
    output: str | Path,
    linker_script: str | Path,
    include_dirs: Sequence[str | Path] = (),
    extra_flags: Sequence[str] = (),
) -> Path:
    """Compile and link `sources` into the RISC-V ELF `output`.

    Raises UserError carrying the compiler's own message when it fails, so a
    student who broke their program sees the C error, not a Python traceback.
    """
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    cmd = zig_cc_command() + TARGET_FLAGS + FREESTANDING_FLAGS + path_map_flags()
    cmd += [f"-I{d}" for d in include_dirs]
    entry = linker_script_entry(linker_script)
    if entry:
        cmd.append(f"-Wl,--entry={entry}")
    cmd += list(extra_flags)
    cmd += ["-T", str(linker_script), "-o", str(output)]
    cmd += [str(s) for s in sources]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError as exc:   # pragma: no cover - python itself missing
        raise UserError(f"cannot run the guest compiler: {exc}") from exc
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip()
        if "No module named ziglang" in msg:
            raise UserError("the guest compiler is missing: run pip install -e '.[dev]' (it installs ziglang)")
        raise UserError(f"building {output.name} failed:\n{msg}")
    return output
