"""The recording's snapshots (trace/snapshots.py), put back into the replay's machine on demand.

A fresh replay has only its boot state; the recorder laid a snapshot every
few million instructions, so any point is at most that far from a state to
start from. Restoring snapshot i rebuilds RAM and the disk from the page
deltas of snapshots i, i-1, ... back to one already restored (or to the
start: RAM from zeros, the disk from the header's image), newest first so
each page is written once; then the machine, devices and recorder take the
snapshot's named fields (record/snapshots.py `apply`).

Nothing in a snapshot is believed unchecked: a body that fails its checks,
or whose held-back events are not in the readable trace, makes that
snapshot (and those built on it) unusable, with one warning; the replay
then re-executes from an earlier state and gives the same answers.
"""

from __future__ import annotations

import bisect

from rvtrace.errors import UserError
from rvtrace.record.snapshots import apply, dirty_pages, zeros
from rvtrace.trace.snapshots import PAGE, decode, inflate_pages
from rvtrace.trace.validate import Invalid


class Seeds:
    def __init__(self, reader, m, rec, end: int):
        self.reader, self.m, self.rec = reader, m, rec
        # Usable: inside the replayable run (a snapshot past its end is not needed).
        self.infos = [s for s in reader.snapshots if 0 < s.icount <= end and s.events <= len(reader)]
        self.icounts = [s.icount for s in self.infos]
        self.bad = len(self.infos)              # snapshots from this index on are unusable
        self.loaded: dict[int, object] = {}     # index -> the engine checkpoint made from it
        self.warning: str | None = None         # said once when a snapshot is found bad
        self.warned = False

    def __len__(self) -> int:
        return len(self.infos)

    def latest(self, icount: int) -> int | None:
        """Index of the last usable snapshot at or before `icount` (None: none)."""
        i = bisect.bisect_right(self.icounts, icount, 0, self.bad) - 1
        return i if i >= 0 else None

    def restore(self, i: int, restore_checkpoint) -> tuple | None:
        """Make the machine what snapshot i holds; (icount, events) or None when it is unusable
        (the machine is then whatever `restore_checkpoint(snapshot)` left: call it again)."""
        base = max((j for j in self.loaded if j < i), default=None)
        if base is not None:
            restore_checkpoint(self.loaded[base])
        try:
            state = self._decode(i)
            info = self.infos[i]
            n = len(state["recorder"]["held"])
            if info.events + n > len(self.reader):
                raise Invalid("the events it holds back are not in the trace")
            held = list(self.reader.raw_events(info.events, info.events + n))
            self._pages(i, base, state)
            apply(state, self.m, self.rec, held)
            return info.icount, info.events
        except _Bad as exc:
            self._unusable(exc.index, exc.why)
            return None
        except (Invalid, UserError) as exc:        # UserError: the trace's own TraceError
            self._unusable(i, exc)
            return None

    def _decode(self, i: int) -> dict:
        info = self.infos[i]
        m = self.m
        try:
            body = self.reader.snapshot_body(info)
            return decode(body, harts=len(m.harts), ram_size=len(m.bus.ram),
                          disk_size=len(m.disk.disk) if m.disk.disk is not None else None, pages=False)
        except (Invalid, UserError) as exc:
            raise _Bad(i, exc) from None

    def _pages(self, i: int, base: int | None, newest: dict) -> None:
        """RAM and disk as at snapshot i, from the deltas after `base` (None: from the start)."""
        ram, disk = self.m.bus.ram, self.m.disk.disk
        done_ram: set[int] = set()
        done_disk: set[int] = set()
        stop = -1 if base is None else base
        for j in range(i, stop, -1):
            state = newest if j == i else self._decode(j)
            try:
                _write(ram, state["ram"], done_ram)
                if disk is not None and state["disk"] is not None:
                    _write(disk, state["disk"], done_disk)
            except Invalid as exc:
                raise _Bad(j, exc) from None
        if base is None:
            for p in dirty_pages(ram, zeros(len(ram))):     # all zeros: the baseline of RAM deltas
                if p not in done_ram:
                    ram[p * PAGE:(p + 1) * PAGE] = bytes(min(PAGE, len(ram) - p * PAGE))
            base_disk = self.reader.header.disk_image() if disk is not None else None
            if base_disk is not None:
                ref = bytearray(base_disk)
                for p in dirty_pages(disk, ref):
                    if p not in done_disk:
                        disk[p * PAGE:(p + 1) * PAGE] = ref[p * PAGE:(p + 1) * PAGE]   # same length

    def _unusable(self, i: int, exc) -> None:
        """Snapshot i cannot be used, nor any after it (they build on its pages)."""
        self.bad = min(self.bad, i)
        for j in [j for j in self.loaded if j >= self.bad]:
            del self.loaded[j]
        if self.warning is None:
            self.warning = (f"{self.reader.path}: the recording's snapshots from icount "
                            f"{self.icounts[self.bad]} on are not used ({exc}); re-executing instead")


class _Bad(Exception):
    """Snapshot `index` is unusable, for `why`."""

    def __init__(self, index: int, why):
        super().__init__(str(why))
        self.index, self.why = index, why


def _write(buf, pages, done: set) -> None:
    """Write each page not written yet (the last page of a buffer may be short: the delta holds
    it padded to a whole page, and only the buffer's part is written, never resizing it)."""
    numbers, _, fills = pages
    n = len(buf)
    wanted = [k for k, p in enumerate(numbers) if p not in done]
    data = inflate_pages(pages, wanted[-1] + 1) if wanted else b""
    for k in wanted:
        p = numbers[k]
        done.add(p)
        lo = p * PAGE
        hi = lo + PAGE if lo + PAGE <= n else n
        buf[lo:hi] = data[k * PAGE:k * PAGE + hi - lo]
    filled: dict[int, bytes] = {}
    for first, count, byte in fills:
        page = filled.setdefault(byte, bytes([byte]) * PAGE)
        for p in range(first, first + count):
            if p not in done:
                done.add(p)
                buf[p * PAGE:(p + 1) * PAGE] = page      # whole pages only (checked on decode)
