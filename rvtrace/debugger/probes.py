"""BreakProbe: the pc breakpoints of a session as a probe for the engine's searches.

The engine calls `on_pc(hart, pc, report)` before a hart executes a watched
pc; the probe checks which breakpoint that is and its condition (pid, name,
hart, pc, icount -- evaluated on the machine at that very instruction) and
reports the hit, remembering which breakpoint and hart it was.
"""

from __future__ import annotations


class BreakProbe:
    pages = ()

    def __init__(self, engine, breakpoints, session):
        self.e = engine
        self.bps = breakpoints
        self.s = session
        self.pcs = frozenset(pc for bp in breakpoints for pc in bp.pcs)
        self.hits: dict[int, tuple[object, int]] = {}     # icount -> (breakpoint, hart)

    def begin(self) -> None:
        pass

    def on_pc(self, hart, pc, report) -> None:
        for bp in self.bps:
            if pc not in bp.pcs:
                continue
            if bp.space is not None and (hart.priv == 0) != (bp.space == "user"):
                continue                # kernel code at a user address, or the reverse
            if bp.program is not None and self._fields(hart, pc)["name"] != bp.program:
                continue                # another program's code at the same virtual address
            if bp.condition is not None and not bp.condition(self._fields(hart, pc)):
                continue
            now = self.e.now()
            self.hits[now] = (bp, hart.hartid)
            report(now)
            return

    def _fields(self, hart, pc) -> dict:
        pid = None
        view = getattr(self.e, "view", None)
        if view is not None and view.available:
            pid = view.current_pid(hart.hartid)
        name = self.s.facts.name_at(pid, self.s.cursor.at_icount(self.e.now()), wait=True) if pid else ""
        return {"pid": pid or 0, "name": name or "", "hart": hart.hartid, "pc": pc,
                "icount": self.e.now(), "priv": hart.priv, "_hart": hart}     # _hart: C conditions

    def end(self, report) -> None:
        pass
