"""The block reader: which guest instructions make up one block.

A block is a trace of instructions inside one virtual page: it runs on
through conditional branches (their taken side becomes a side exit), follows
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


def read_block(hart, vpc: int, limit: int, stop_at=frozenset()):
    """Fetch and decode a trace of up to `limit` instructions from vpc; Trap if vpc cannot be fetched.

    Returns [(pc, bits, insn)], the physical pages read, the fallthrough pc,
    and the watched pc the trace stopped before (None if no watch stopped it).
    """
    ram = hart.ram
    first = hart.fetch_address(vpc)
    page = vpc >> 12
    page_end = (vpc | 0xFFF) + 1
    pc = vpc
    out, ppages, seen, cut = [], {(first + hart.ram_base) >> 12}, set(), None
    links: dict[int, int] = {}                        # registers holding a known address
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
        if sem.kind == "jump" and sem.reads:          # an indirect jump: a return from a call
            target = links.get(insn.rs1)              # made in this trace goes on after the call
            _note_link(links, insn, sem, pc, length)
            if target is None:
                pc += length
                break
            target = (target + insn.imm) & M64 & ~1
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
        if sem.kind == "jump":                        # a direct jump: follow it in the page
            target = (pc + insn.imm) & M64
            follow, cut = _follow(target, page, seen, stop_at, len(out) < limit)
            if not follow:
                pc += length
                break
            pc = target
            continue
        pc += length
    return out, ppages, pc & M64, cut


def _follow(target: int, page: int, seen, stop_at, room: bool) -> tuple[bool, int | None]:
    """Whether the trace follows a jump to `target`; when only a watched pc keeps it from
    following, that pc too (the block is then cut before it, as before any watched pc)."""
    if target >> 12 != page or target in seen or not room:
        return False, None
    if target in stop_at:
        return False, target
    return True, None
