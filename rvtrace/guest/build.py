"""Cached builds of the bundled guest: the kernel, the user programs, the disk image.

Every artifact is named by a content hash of what went into it -- the source
files, the linker script, the compiler flags and the ziglang version -- and
lives under `<repo>/build/guest/`. A build whose hash already exists on disk
is skipped, so editing one user program rebuilds that program and the disk
image, nothing else.

Two processes may build at the same time (pytest workers, a CLI run in
another terminal): each writes to a private temporary name and renames it into
place, and since the final name is the content hash, whoever wins the race
leaves the same bytes behind.

Hashing every source costs about a tenth of a second, which every `run` and
`record` would pay. So a complete build also leaves `build/guest/last-build`:
the artifacts' names beside a signature of every input file's stat (size,
mtime, ctime, inode). While no input has changed since, the build is found
from that file alone; any change, added or removed file means hashing again.
As git does with its index, a build whose inputs changed less than
RACY_SECONDS before is not remembered this way, so an edit that keeps a
file's size within the file system's timestamp granularity is still seen.

    python -m rvtrace.guest.build          # build everything, print the paths
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from rvtrace.errors import UserError

# Bump when the way artifacts are made changes in a way the hashes cannot see.
RECIPE_VERSION = "1"

REPO_ROOT = Path(__file__).resolve().parents[2]
KERNEL_SRC = REPO_ROOT / "kernel_src"
USER_SRC = REPO_ROOT / "user_src"

# Disk-image files that are not programs, copied from user_src/ to the root.
DATA_FILES = ("README",)

# Older builds of an artifact are deleted once they are this old; a younger
# one may still be in use by a run started a moment ago in another process.
PRUNE_AFTER_SECONDS = 600

# Inputs changed this recently are not trusted to show a later edit in their stat.
RACY_SECONDS = 2.0


@dataclass(frozen=True)
class GuestBuild:
    """Where one complete build of the bundled guest lives."""
    kernel: Path
    disk: Path
    programs: Mapping[str, Path]


# --- where things are ---------------------------------------------------------

def build_dir() -> Path:
    """`<repo>/build/guest`, created on first use."""
    path = REPO_ROOT / "build" / "guest"
    path.mkdir(parents=True, exist_ok=True)
    return path


def programs() -> list[str]:
    """Names of the user programs: one per `user_src/*.c`, without the extension."""
    return sorted(p.stem for p in USER_SRC.glob("*.c"))


def kernel_sources() -> list[Path]:
    return sorted(list(KERNEL_SRC.glob("*.c")) + list(KERNEL_SRC.glob("*.S")))


def user_lib_sources() -> list[Path]:
    return sorted(p for p in (USER_SRC / "lib").glob("*") if p.suffix in (".c", ".S"))


# --- content hashing ------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def toolchain_fingerprint() -> str:
    """What besides the sources decides the compiler's output."""
    import importlib.metadata
    from rvtrace.guest import toolchain
    try:
        zig = importlib.metadata.version("ziglang")
    except importlib.metadata.PackageNotFoundError:
        zig = "missing"
    # toolchain.py holds the flags and how they are passed: any edit to it counts.
    recipe = hashlib.sha256(Path(toolchain.__file__).read_bytes()).hexdigest()[:16]
    return f"recipe={RECIPE_VERSION} ziglang={zig} toolchain={recipe}"


def content_hash(files: Iterable[Path], extra: str = "") -> str:
    """A hash of the files' names (relative to the repo) and bytes, plus `extra`."""
    h = hashlib.sha256()
    h.update(toolchain_fingerprint().encode())
    h.update(extra.encode())
    for path in sorted(set(files)):
        try:
            data = path.read_bytes()
        except FileNotFoundError:       # an editor's temporary file, gone already
            continue
        rel = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
        h.update(b"\0" + str(rel).encode() + b"\0")
        h.update(data)
    return h.hexdigest()[:16]


def _headers(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.h"))


def kernel_inputs() -> list[Path]:
    """Every file that can change the kernel: all of kernel_src/ (sources, headers, kernel.ld)."""
    return sorted(p for p in KERNEL_SRC.rglob("*") if p.is_file())


def user_inputs(name: str) -> list[Path]:
    """Every file that can change user program `name`."""
    lib_dir = USER_SRC / "lib"
    lib = [p for p in lib_dir.rglob("*") if p.is_file()] if lib_dir.exists() else []
    return ([USER_SRC / f"{name}.c", USER_SRC / "user.ld"] + lib
            + _headers(USER_SRC) + _headers(KERNEL_SRC))


# --- writing artifacts safely -----------------------------------------------------

def _cached(kind: str, key: str, suffix: str, make, force: bool) -> Path:
    """Return build/guest/<kind>-<key><suffix>, calling make(tmp_path) to create it if needed."""
    final = build_dir() / f"{kind}-{key}{suffix}"
    if final.exists() and not force:
        return final
    fd, tmp = tempfile.mkstemp(prefix=f".{kind}-", suffix=suffix, dir=build_dir())
    os.close(fd)
    try:
        make(Path(tmp))
        os.chmod(tmp, 0o755 if suffix == ".elf" else 0o644)   # mkstemp made it private
        os.replace(tmp, final)          # atomic: readers see the old file or the whole new one
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _prune(kind, suffix, keep=final)
    return final


def _prune(kind: str, suffix: str, keep: Path) -> None:
    """Delete stale builds of the same artifact so build/ does not grow without bound."""
    now = time.time()
    for old in build_dir().glob(f"{kind}-" + "?" * 16 + suffix):
        if old == keep:
            continue
        try:
            if now - old.stat().st_mtime > PRUNE_AFTER_SECONDS:
                old.unlink()
        except FileNotFoundError:       # another process pruned it first
            pass


# --- the three kinds of artifact ----------------------------------------------------

def build_kernel(force: bool = False) -> Path:
    """Compile every .c/.S in kernel_src/ with kernel.ld into the kernel ELF."""
    sources = kernel_sources()
    if not sources:
        raise UserError(f"no kernel sources in {KERNEL_SRC}: the bundled kernel is missing from this checkout")
    key = content_hash(kernel_inputs())

    def make(out: Path) -> None:
        from rvtrace.guest import toolchain
        toolchain.compile_elf(sources, out, KERNEL_SRC / "kernel.ld", include_dirs=[KERNEL_SRC],
                              extra_flags=toolchain.KERNEL_FLAGS)
    return _cached("kernel", key, ".elf", make, force)


def build_program(name: str, force: bool = False) -> Path:
    """Compile user_src/NAME.c with the user library into a user ELF."""
    source = USER_SRC / f"{name}.c"
    if not source.exists():
        raise UserError(f"no user program {name!r}: expected {source}")
    key = content_hash(user_inputs(name), extra=name)

    def make(out: Path) -> None:
        from rvtrace.guest import toolchain
        toolchain.compile_elf([source] + user_lib_sources(), out, USER_SRC / "user.ld",
                              include_dirs=[USER_SRC, KERNEL_SRC])
    return _cached(f"user-{name}", key, ".elf", make, force)


def build_programs(force: bool = False) -> dict[str, Path]:
    """Build every user program (two at a time: the compiler is the slow part)."""
    from concurrent.futures import ThreadPoolExecutor
    names = programs()
    if not names:
        raise UserError(f"no user programs in {USER_SRC}")
    with ThreadPoolExecutor(max_workers=2) as pool:
        paths = list(pool.map(lambda n: build_program(n, force), names))
    return dict(zip(names, paths))


def disk_files(program_paths: Mapping[str, Path]) -> dict[str, bytes]:
    """What goes into the root directory of the disk image: the programs and the data files."""
    files = {name: path.read_bytes() for name, path in program_paths.items()}
    for name in DATA_FILES:
        path = USER_SRC / name
        if path.exists():
            files[name] = path.read_bytes()
    return files


def image_blocks(files: Mapping[str, bytes]) -> int:
    """Image size in 1 KiB blocks: xv6's 2000, or more when the programs need it,
    always leaving room for what the programs write at run time."""
    data_blocks = sum((len(b) + 1023) // 1024 + 1 for b in files.values())
    return max(2000, data_blocks + 1200)


def build_disk(program_paths: Mapping[str, Path], force: bool = False) -> Path:
    """Pack the programs and data files into an xv6-format disk image."""
    try:
        from rvtrace.fs import mkfs
    except ImportError as exc:
        raise UserError(f"cannot build the disk image: rvtrace.fs.mkfs is missing ({exc})") from exc
    files = disk_files(program_paths)
    fs_code = sorted(Path(mkfs.__file__).parent.glob("*.py"))    # mkfs and the format it writes
    data = [USER_SRC / n for n in DATA_FILES if (USER_SRC / n).exists()]
    extra = "".join(f"{n}={p.name};" for n, p in sorted(program_paths.items()))
    key = content_hash(data + fs_code, extra=extra)

    def make(out: Path) -> None:
        mkfs.make_image(out, files, total_blocks=image_blocks(files))
    return _cached("fs", key, ".img", make, force)


def build_all(force: bool = False) -> GuestBuild:
    """Kernel, programs and disk image, each rebuilt only if its inputs changed."""
    signature, newest = inputs_signature()
    if not force:
        known = _last_build(signature)
        if known is not None:
            return known
    kernel = build_kernel(force)
    progs = build_programs(force)
    disk = build_disk(progs, force)
    guest = GuestBuild(kernel=kernel, disk=disk, programs=progs)
    if time.time() - newest > RACY_SECONDS:
        _remember(signature, guest)
    return guest


# --- the quick check: nothing changed since the last complete build -------------------

LAST_BUILD = "last-build"


def _signature_files() -> list[Path]:
    """Every file a build reads: the guest's sources, the disk format's code, the recipe
    (this file and toolchain.py) and the installed zig compiler's package."""
    files = [p for top in (KERNEL_SRC, USER_SRC) for p in top.rglob("*")]
    here = Path(__file__).resolve().parent
    files += sorted((here.parent / "fs").glob("*.py")) + [here / "build.py", here / "toolchain.py"]
    import importlib.util
    try:
        spec = importlib.util.find_spec("ziglang")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        files.append(Path(spec.origin))
    return files


def inputs_signature() -> tuple[str, float]:
    """(a hash of every input file's path and stat, the newest of their change times)."""
    h = hashlib.sha256(f"{RECIPE_VERSION} {sys.version}".encode())
    newest = 0.0
    for path in _signature_files():
        try:
            st = path.stat()
        except OSError:
            h.update(f"{path} missing\0".encode())
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        h.update(f"{path} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino} {st.st_dev}\0".encode())
        newest = max(newest, st.st_mtime, st.st_ctime)
    return h.hexdigest(), newest


def _last_build(signature: str) -> GuestBuild | None:
    """The build remembered for exactly these inputs, if its files are all still there.

    The file is lines of `WHAT NAME`: `signature`, `kernel`, `disk` and `program:NAME`."""
    d = build_dir()
    try:
        lines = (d / LAST_BUILD).read_text().splitlines()
    except (OSError, ValueError):
        return None
    entry = dict(line.split(" ", 1) for line in lines if " " in line)
    if entry.get("signature") != signature or "kernel" not in entry or "disk" not in entry:
        return None
    progs = {what[len("program:"):]: d / name for what, name in entry.items() if what.startswith("program:")}
    guest = GuestBuild(kernel=d / entry["kernel"], disk=d / entry["disk"], programs=progs)
    for path in (guest.kernel, guest.disk, *progs.values()):
        if path.parent != d or not path.is_file():     # a name with a slash, or pruned since
            return None
    return guest


def _remember(signature: str, guest: GuestBuild) -> None:
    d = build_dir()
    lines = [f"signature {signature}", f"kernel {guest.kernel.name}", f"disk {guest.disk.name}"]
    lines += [f"program:{n} {p.name}" for n, p in sorted(guest.programs.items())]
    tmp = d / f".{LAST_BUILD}.{os.getpid()}"
    try:
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, d / LAST_BUILD)     # atomic: a concurrent run reads the old or the new
    except OSError:                         # a read-only checkout: hash every time, as before
        tmp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    force = "--force" in (argv if argv is not None else sys.argv[1:])
    try:
        build = build_all(force=force)
    except UserError as exc:
        print(f"rvtrace.guest.build: {exc}", file=sys.stderr)
        return 2
    print(f"kernel {build.kernel}")
    print(f"disk   {build.disk}")
    for name, path in build.programs.items():
        print(f"user   {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
