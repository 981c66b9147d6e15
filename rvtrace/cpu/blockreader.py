"""The block reader: which guest instructions make up one block.

A block is a trace of instructions inside one virtual page: it runs on
through conditional branches (their taken side becomes a side exit, unless
both sides are short straight-line code that meets again: then the trace
holds both, fall-through side first, and the emitter makes an if/else of
them; see _diamond), follows
direct jumps to targets in the same page it has not visited, and returns
from calls made inside the trace and follows auipc+jalr calls (a jalr
through a register that a jal, auipc or lui of the trace set and nothing
wrote since: its target is known). It stops after
any other indirect jump, a system instruction or one that always traps, at a branch
back to its first instruction (a loop), at the page end, after `limit`
instructions, and before a watched pc.

What stops or continues a trace comes from the instruction table
(semantics.Sem.kind, .link, .reads), not from instruction names.
"""

from __future__ import annotations

from rvtrace.cpu import decode as dec
from rvtrace.cpu.semantics import SEMANTICS

M64 = (1 << 64) - 1

_decoded: dict[int, dec.Insn | None] = {}


def decode_cached(bits: int) -> dec.Insn | None:
    insn = _decoded.get(bits, False)
    if insn is False:
        insn = _decoded[bits] = dec.decode(bits)
    return insn


def insn_length(bits: int, insn) -> int:
    return insn.length if insn else (4 if bits & 3 == 3 else 2)


def _note_link(links: dict, insn, sem, pc: int, length: int) -> None:
    """Keep track of which registers hold a link (return address) or an address
    (lui, auipc) written in this trace: a jalr through them has a known target."""
    if sem.writes_rd and insn.rd:
        if sem.link:
            links[insn.rd] = (pc + length) & M64
        elif sem.fast == "fold" and not sem.reads:    # lui, auipc: a constant (auipc+jalr calls)
            links[insn.rd] = ((pc if sem.uses_pc else 0) + insn.imm) & M64
        else:
            links.pop(insn.rd, None)


def _jump_target(links: dict, insn, sem, pc: int) -> int | None:
    """Where a jump goes, when the trace knows: a direct jump's target, or an indirect
    jump's through a register this trace wrote (a return from a call made in the trace
    goes on after the call); None otherwise. Read before the jump notes its own link."""
    if not sem.reads:
        return (pc + insn.imm) & M64
    base = links.get(insn.rs1)
    return None if base is None else (base + insn.imm) & M64 & ~1


def read_block(hart, vpc: int, limit: int, stop_at=frozenset()):
    """Fetch and decode a trace of up to `limit` instructions from vpc; Trap if vpc cannot be fetched.

    Returns [(pc, bits, insn)], the physical pages read, the fallthrough pc,
    the watched pc the trace stopped before (None if no watch stopped it), and
    the if/else branches: {index of the branch: (length of its fall-through
    side, length of its taken side)}, the sides following the branch in the trace.
    """
    ram = hart.ram
    first = hart.fetch_address(vpc)
    page = vpc >> 12
    page_end = (vpc | 0xFFF) + 1
    pc = vpc
    out, ppages, seen, cut = [], {(first + hart.ram_base) >> 12}, set(), None
    links: dict[int, int] = {}                        # registers holding a known address
    diamonds: dict[int, tuple[int, int]] = {}

    def read(at: int):
        """(bits, insn) at pc `at` of this page; None if it straddles the page end."""
        i = first + (at - vpc)
        lo = ram[i] | (ram[i + 1] << 8)
        if lo & 3 != 3:
            return lo, decode_cached(lo)
        if at + 2 >= page_end:
            return None
        bits = lo | (ram[i + 2] << 16) | (ram[i + 3] << 24)
        return bits, decode_cached(bits)
    while len(out) < limit and pc >> 12 == page and pc not in seen:
        if out and pc in stop_at:
            cut = pc
            break
        i = first + (pc - vpc)
        lo = ram[i] | (ram[i + 1] << 8)
        if lo & 3 == 3:
            if pc + 2 >= page_end:                    # the instruction straddles two pages
                if out:
                    break
                j = hart.fetch_address(pc + 2)
                ppages.add((j + hart.ram_base) >> 12)
                bits = lo | (ram[j] << 16) | (ram[j + 1] << 24)
            else:
                bits = lo | (ram[i + 2] << 16) | (ram[i + 3] << 24)
        else:
            bits = lo
        insn = decode_cached(bits)
        out.append((pc, bits, insn))
        seen.add(pc)
        length = insn_length(bits, insn)
        if insn is None:
            pc += length
            break
        sem = SEMANTICS[insn.name]
        if sem.kind in ("system", "trap"):
            pc += length
            break
        if sem.kind == "jump":                        # followed in the page where its target is known
            target = _jump_target(links, insn, sem, pc)
            _note_link(links, insn, sem, pc, length)
            follow = False
            if target is not None:
                follow, cut = _follow(target, page, seen, stop_at, len(out) < limit)
            if not follow:
                pc += length
                break
            pc = target
            continue
        _note_link(links, insn, sem, pc, length)
        if sem.kind == "branch" and (pc + insn.imm) & M64 == vpc:
            pc += length                              # a loop back to the start: end here, so
            break                                     # the block can run rounds (emitter)
        if sem.kind == "branch":
            arms = _diamond(read, pc, length, insn.imm, page, seen, stop_at, limit - len(out))
            if arms is not None:                      # both sides, as an if/else in the block
                fall, taken, join = arms
                diamonds[len(out) - 1] = (len(fall), len(taken))
                for entry in fall + taken:
                    out.append(entry)
                    seen.add(entry[0])
                    if entry[2] is not None and SEMANTICS[entry[2].name].writes_rd:
                        links.pop(entry[2].rd, None)  # an address known on one side only
                pc = join
                continue
        pc += length
    return out, ppages, pc & M64, cut, diamonds


ARM_MAX = 8          # instructions on one side of an if/else read into a block


def _diamond(read, pc: int, length: int, imm: int, page: int, seen, stop_at, room: int):
    """The two sides of a branch at pc that meet again, read into the trace as an
    if/else: the fall-through side runs on to the branch target (an if without
    else) or ends with a `j`; the taken side runs from the target to where that
    `j` lands (before or after the branch: compilers place either side anywhere).
    Both sides are straight-line code (ALU, loads, stores); no pc of either
    side, nor the pc where they meet, is watched or already in the trace, and
    at least one instruction after them fits. Returns ([(pc, bits, insn)]
    fall-through side, taken side, the pc they meet at), or None."""
    target = (pc + imm) & M64
    if target >> 12 != page:
        return None
    fall, at = [], pc + length
    while at != target:
        got = None if len(fall) >= ARM_MAX else _straight(read, at, seen, stop_at)
        if got is None:
            return None
        fall.append(got)
        insn = got[2]
        if SEMANTICS[insn.name].kind == "jump":      # an else: j over (or back to) the join
            at = (at + insn.imm) & M64
            break
        at += insn.length
    join = at
    taken, at = [], target
    while at != join:
        got = None if at > join or len(taken) >= ARM_MAX else _straight(read, at, seen, stop_at)
        if got is None or SEMANTICS[got[2].name].kind == "jump":
            return None
        taken.append(got)
        at += got[2].length
    pcs = {p for p, _, _ in fall + taken}
    if not fall or len(pcs) < len(fall) + len(taken) or join >> 12 != page or join in pcs \
            or join in seen or join in stop_at or len(fall) + len(taken) + 2 > room:
        return None
    return fall, taken, join


_ARM_KINDS = ("op", "load", "store")


def _straight(read, at: int, seen, stop_at):
    """(at, bits, insn) if the instruction at `at` may sit on one side of an if/else
    (straight-line, or the plain `j` that ends the fall-through side), else None."""
    if at in seen or at in stop_at:
        return None
    got = read(at)
    if got is None or got[1] is None:
        return None
    bits, insn = got
    sem = SEMANTICS[insn.name]
    if sem.kind in _ARM_KINDS and sem.fast != "amo":
        return at, bits, insn
    if sem.kind == "jump" and not sem.reads and insn.rd == 0:
        return at, bits, insn
    return None


def _follow(target: int, page: int, seen, stop_at, room: bool) -> tuple[bool, int | None]:
    """Whether the trace follows a jump to `target`; when only a watched pc keeps it from
    following, that pc too (the block is then cut before it, as before any watched pc)."""
    if target >> 12 != page or target in seen or not room:
        return False, None
    if target in stop_at:
        return False, target
    return True, None
