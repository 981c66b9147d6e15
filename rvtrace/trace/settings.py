"""A recording's settings in words: what `rvtrace dump --header` and the debugger's `info trace` show.

    program        forkexec
    seed           0
    harts          1 (128 MiB of RAM)
    copy-on-write  on (the kernel's default)
    kernel         kernel-da71b922a67a8b38.elf  sha256 3f1c...
    disk           fs-be08dbf37836d628.img      sha256 9a0e...
    recorder       revision 3 (rvtrace 0.1.0); trace format 1
    processes      from the kernel's process table (symbols and DWARF)
    COW events     every resolution, from the kernel's trace points
    syscall names  from the kernel's syscalls[] table (23 calls)

Every row is read from the header by name; a field a trace does not carry
reads "not recorded", never a guess. Identities are the SHA-256 of the
kernel and disk bytes embedded in the trace, so they hold on any machine.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePath

NOT_RECORDED = "not recorded"
TRACE_POINTS = ("trace_cow", "trace_fork")


def _field(header, name: str):
    """A header value by name: an attribute of the header, else a metadata key."""
    value = getattr(header, name, None)
    if value is None:
        value = (header.metadata or {}).get(name)
    return value


def _identity(header, what: str) -> str:
    name = _field(header, f"{what}_name")
    if name is None:
        path = (header.config or {}).get(what)
        name = PurePath(path).name if path else None
    digest = _field(header, f"{what}_sha256")
    if digest is None:
        data = header.kernel_elf() if what == "kernel" else header.disk_image()
        digest = hashlib.sha256(data).hexdigest() if data is not None else None
    if name is None and digest is None:
        return NOT_RECORDED
    return f"{name or '(unnamed)'}  sha256 {digest or NOT_RECORDED}"


def _cow(config: dict) -> str:
    words = str(config.get("bootargs") or "").split()
    for w in words:
        if "=" not in w:
            break                                   # options come before the command
        key, _, value = w.partition("=")
        if key == "cow":
            return "off (boot option cow=0)" if value == "0" else f"on (boot option cow={value})"
    return "on (the kernel's default)"


def _program(header) -> str:
    meta = header.metadata or {}
    if meta.get("program"):
        args = " ".join(str(a) for a in meta.get("args") or [])
        return f"{meta['program']}{' ' + args if args else ''}"
    if meta.get("shell_command"):
        return f"{meta['shell_command']} (typed into the kernel's shell)"
    boot = (header.config or {}).get("bootargs")
    return f"boot arguments {boot!r}" if boot else NOT_RECORDED


def _trace_points(header) -> str:
    meta = header.metadata or {}
    points = meta.get("kernel_trace_points")
    if points is None:
        return NOT_RECORDED
    if "trace_cow" in points:
        return "every resolution, trap or kernel copy (the kernel's trace_cow)"
    return "page faults only (the kernel has no trace_cow trace point)"


def _syscall_names(header) -> str:
    from rvtrace.kernel.syscalls import table_of
    calls = table_of(header)
    if calls.from_kernel:
        return f"from the kernel's syscalls[] table ({len(calls.names)} calls)"
    return f"{calls.source()}: 1..21 as xv6, 22 poweroff, 23 kstats"


def _snapshots(header, count: int) -> str:
    every = (header.metadata or {}).get("snapshot_every")
    if not count:
        return "none (a replay re-executes from boot)" if every is None else \
            f"none (the run is shorter than the recorder's spacing, {every:,} instructions)"
    return f"{count} snapshots" + (f", every {every:,} instructions" if isinstance(every, int) else "")


def settings(header, snapshots: int | None = None) -> list[tuple[str, str]]:
    """(label, value) rows describing how a trace was recorded (`snapshots`: how many
    snapshot records the file holds, when the caller read them)."""
    config = header.config or {}
    meta = header.metadata or {}
    harts = config.get("harts")
    mem = config.get("mem_mib")
    revision = meta.get("recorder_revision")
    rows = [
        ("program", _program(header)),
        ("seed", str(header.seed) if header.seed is not None else NOT_RECORDED),
        ("harts", f"{harts if harts is not None else NOT_RECORDED}"
                  f"{f' ({mem} MiB of RAM)' if mem else ''}"),
        ("copy-on-write", _cow(config)),
        ("kernel", _identity(header, "kernel")),
        ("disk", _identity(header, "disk")),
        ("recorder", f"revision {revision if revision is not None else NOT_RECORDED}"
                     f" (rvtrace {header.tool_version}); trace format {header.version}"),
        ("processes", "from the kernel's process table (symbols and DWARF)"
         if meta.get("pid_source") == "kernel" else
         f"by address space (satp){': ' + meta['introspection'] if meta.get('introspection') else ''}"
         if meta.get("pid_source") == "satp" else NOT_RECORDED),
        ("COW events", _trace_points(header)),
        ("syscall names", _syscall_names(header)),
    ]
    if meta.get("max_insns"):
        rows.append(("instruction limit", str(meta["max_insns"])))
    if snapshots is not None:
        rows.append(("snapshots", _snapshots(header, snapshots)))
    return rows


def settings_text(header, snapshots: int | None = None) -> str:
    rows = settings(header, snapshots)
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label.ljust(width)}  {value}" for label, value in rows)
