"""User programs: which ELF a process runs at a given moment, read from the recorded disk.

A process runs the image of its last exec before that moment; before any
exec of its own it runs its parent's image as it was at the fork. The ELF
comes from the disk image embedded in the trace (as it was at boot), so
symbols and source lines of user code need nothing but the trace.
"""

from __future__ import annotations

from rvtrace.kernel.image import KernelImage
from rvtrace.replay.cursor import kinds_filter
from rvtrace.trace.events import Kind

EXECS = kinds_filter([Kind.EXEC, Kind.FORK])


class UserPrograms:
    def __init__(self, session):
        self.s = session
        self._disk = None
        self._images: dict[str, KernelImage | None] = {}

    def path_of(self, pid: int, icount: int, depth: int = 0) -> str | None:
        """The path of the program `pid` runs at `icount` (None: unknown)."""
        if depth > 64:
            return None
        cur = self.s.cursor
        start = cur.at_icount(icount)
        mine = kinds_filter([Kind.EXEC], lambda e: e.pid == pid)
        ev = cur.find_prev(start, mine)
        if ev is not None:
            return ev.fields["path"]
        born = cur.find_prev(start, kinds_filter([Kind.FORK], lambda e: e.fields["child"] == pid))
        if born is None:
            return None
        return self.path_of(born.pid, born.icount, depth + 1)

    def image_of(self, pid: int | None, icount: int) -> tuple[str, KernelImage] | None:
        """(path, its ELF read with KernelImage) for the program `pid` runs at `icount`, or None."""
        if not pid:
            return None
        path = self.path_of(pid, icount)
        if path is None:
            return None
        if path not in self._images:
            self._images[path] = self._load(path)
        img = self._images[path]
        return (path, img) if img is not None else None

    def _load(self, path: str) -> KernelImage | None:
        from rvtrace.fs.image import DiskImage
        try:
            if self._disk is None:
                data = self.s.header.disk_image()
                if data is None:
                    return None
                self._disk = DiskImage(data)
            name = path if path.startswith("/") else "/" + path
            return KernelImage(self._disk.read_file(name))
        except Exception:       # not on the disk, not an ELF: no symbols rather than no replay
            return None
