"""Doubleword groups: aligned doubleword accesses that share one page-and-TLB check.

Aligned doubleword accesses off one base register, with nothing between them
that could call the hart (and so change a TLB) or write the base other than
by adding a constant (side exits may lie between) -- a prologue's saves, an
epilogue's restores, a pointer walking an array -- share one check: at the first,
if all their addresses lie in one page with read/write TLB entries, and are
aligned, every access of the group takes its fast path (which is what each
own check would have decided, since nothing between them can change the
TLBs); else each takes its ordinary path.

A mixin of the emitter (emitter.py): it finds the groups of a trace before it
is emitted, writes each group's check at its first access, and -- in a block
that loops -- remembers what a check found until the block next calls into
the hart.
"""

from __future__ import annotations

from rvtrace.cpu.semantics import SEMANTICS


class DoublewordGroups:
    """The emitter's group methods; the state they use is set up by _Emitter.__init__
    (groups, _checks, _next_group, _group_mark, _group_fast, _group_end, q)."""

    def prepare(self, insns, diamonds) -> None:
        """Find the groups of a trace before it is emitted (self.groups)."""
        arms = {i for b, (f, t) in (diamonds or {}).items() for i in range(b + 1, b + 1 + f + t)}
        group: list = []
        base = None

        def close():
            if len(group) > 1:
                lo = min(off for _, off, _ in group)
                hi = max(off for _, off, _ in group)
                kinds = {kind for _, _, kind in group}
                for n, (i, off, _) in enumerate(group):
                    self.groups[i] = (n == 0, base, lo, hi, kinds, (off - lo) // 8)
            group.clear()

        delta = 0                                     # what the base gained since the group began
        for idx, (_, _, insn) in enumerate(insns):
            sem = SEMANTICS[insn.name] if insn is not None else None
            if sem is None or idx in arms or sem.hart or sem.fast == "amo":
                close()
                continue
            if sem.kind in ("load", "store") and sem.size == 8 and insn.rs1:
                off = insn.imm + delta
                if group and (base != insn.rs1 or (off - group[0][1]) % 8):
                    close()
                if not group:
                    base, delta, off = insn.rs1, 0, insn.imm
                group.append((idx, off, sem.kind))
                if sem.kind == "load" and insn.rd == base:
                    close()                           # the base changes after this load
                continue
            if not group:
                continue
            if insn.name == "addi" and insn.rd == base == insn.rs1:
                delta += insn.imm                     # a pointer stepping on: offsets follow it
                continue
            if sem.kind in ("op", "jump", "branch") and not (sem.writes_rd and insn.rd == base):
                continue                              # cannot touch the hart or the base
            close()
        close()

    def _grouped(self, idx: int, fast: str) -> list[str]:
        """The group check (first access of a group) and `if not g:`; the ordinary path
        follows, indented under it, then the grouped fast access under `else:`, by
        _indent_generic (the fast path last: it then jumps once, not twice)."""
        g = self.groups.get(idx)
        if g is None:
            return []
        first, base, lo, hi, kinds, k = g
        self.q = True
        out = []
        if first:
            gid = self._next_group
            self._next_group += 1
            a = self._src(base)
            if lo:
                out.append(f"a = {a} + ({lo})")
                a = "a"
            self._checks.append((gid, a, 0x1000 - (hi - lo + 8), kinds, base))
            out.append(f"@@GROUP {len(self._checks) - 1}@@")
        else:
            gid = self._next_group - 1
        fast = fast.replace("qw", f"q{gid}").replace("qr", f"q{gid}")
        fast = fast.replace(" + {k}]", f" + {k}]" if k else "]")
        if not first and len(self.lines) == self._group_end:
            # right after another access of the group: one `if not g:` for both
            del self.lines[-1 - len(self._group_fast):]
            self._group_mark = len(self.lines)
            self._group_fast.append(fast)
            return []
        self._group_mark = len(self.lines) + len(out) + 1
        self._group_fast = [fast]
        return out + ["if not g:"]

    def _group_check(self, k: int, looping: bool) -> list[str]:
        """The check of group k: at its first access, are all its addresses in one
        page with TLB entries, and aligned? Then `q<gid>` is the index in Q of its
        lowest doubleword. Loads and stores share it: the read and write TLBs of a
        context give a page the same value (one translation), and the check makes
        sure of it. In a block that loops, what a check found is remembered
        (see _check_form) until the block next calls into the hart, which may
        change the TLBs."""
        gid, a, limit, kinds, base = self._checks[k]
        tlbs = (["W"] if "store" in kinds else []) + (["R"] if "load" in kinds else [])
        form, step = self._check_form(base) if looping else ("plain", 0)
        if form == "count":
            head = [f"if k{gid}:", f"    k{gid} -= 1", f"    q{gid} += {step // 8}", "    g = True"]
            remember = [f"k{gid} = ({limit} - ({a} & 0xFFF)) // {step}" if step > 0
                        else f"k{gid} = ({a} & 0xFFF) // {-step}"]
        elif form == "range":
            head = [f"if l{gid} <= {a} <= e{gid} and not {a} & 7:", f"    q{gid} = (d{gid} + {a}) >> 3",
                    "    g = True"]
            remember = [f"l{gid} = {a} & ~0xFFF", f"e{gid} = l{gid} + {limit}"]
        elif form == "still":
            head = [f"if {a} == c{gid}:", "    g = True",
                    f"elif l{gid} <= {a} <= e{gid} and not {a} & 7:",
                    f"    q{gid} = (d{gid} + {a}) >> 3", f"    c{gid} = {a}", "    g = True"]
            remember = [f"l{gid} = {a} & ~0xFFF", f"e{gid} = l{gid} + {limit}", f"c{gid} = {a}"]
        else:
            head, remember = [], []
        # a missing TLB entry raises KeyError (free in CPython >= 3.11 when nothing is raised)
        check = [f"if not {a} & 7 and ({a} & 0xFFF) <= {limit}:", "    try:"]
        if len(tlbs) == 1 and form in ("plain", "count"):        # the TLB value is not kept
            check += [f"        q{gid} = ({tlbs[0]}[{a} >> 12] + {a}) >> 3"]
        else:
            check += [f"        d{gid} = {tlbs[0]}[{a} >> 12]"]
            check += [f"        if {t}[{a} >> 12] != d{gid}: raise KeyError" for t in tlbs[1:]]
            check += [f"        q{gid} = (d{gid} + {a}) >> 3"]
        check += ["        " + line for line in remember]
        check += ["        g = True", "    except KeyError:", "        g = False", "else:", "    g = False"]
        if head:
            check[0] = "el" + check[0]
        return head + check

    def _check_form(self, base: int) -> tuple[str, int]:
        """How a looping block remembers the check of a group off register `base`:
        - "count": the base only walks (`addi base, base, imm` outside any if/else,
          a nonzero multiple of 8 a round): k<gid> counts the rounds left in the
          page, and q<gid> steps along;
        - "range": it walks by another step: l<gid>..e<gid> are the bases that pass
          in the page found (TLB value d<gid>);
        - "still": anything else (a stack pointer comes back to the same value):
          the address that passed (c<gid>), then the range.
        Returns (form, step a round)."""
        arms = {i for b, (f, t) in self.diamonds.items() for i in range(b + 1, b + 1 + f + t)}
        step = 0
        for idx, (_, _, insn) in enumerate(self.insns):
            if insn is None or insn.rd != base or not SEMANTICS[insn.name].writes_rd:
                continue
            if insn.name != "addi" or insn.rs1 != base or idx in arms:
                return "still", 0
            step += insn.imm
        if step == 0:
            return "still", 0
        return ("count" if step % 8 == 0 else "range"), step

    def _forget(self) -> str | None:
        """The statement that forgets what the looping checks found (see _check_form)."""
        parts = []
        for gid, _, _, _, base in self._checks:
            form = self._check_form(base)[0]
            if form == "count":
                parts.append(f"k{gid} = 0")
            else:
                parts.append(f"e{gid} = -1")
                if form == "still":
                    parts.append(f"c{gid} = None")
        return "; ".join(parts) or None

    def _indent_generic(self) -> None:
        self.lines[self._group_mark:] = ["    " + line for line in self.lines[self._group_mark:]]
        self.lines += ["else:"] + ["    " + fast for fast in self._group_fast]
        self._group_end = len(self.lines)
