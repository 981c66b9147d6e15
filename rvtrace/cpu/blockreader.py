"""The block reader: which guest instructions make up one block.

A block is a trace of instructions inside one virtual page: it runs on
through conditional branches (their taken side becomes a side exit), follows
direct jumps to targets in the same page it has not visited, and stops after
an indirect jump, a system instruction or one that always traps, at a branch
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
        if sem.kind in ("system", "trap") or (sem.kind == "jump" and sem.reads):
            pc += length                              # ends the trace (an indirect jump too)
            break
        if sem.kind == "branch" and (pc + insn.imm) & M64 == vpc:
            pc += length                              # a loop back to the start: end here, so
            break                                     # the block can run rounds (emitter)
        if sem.kind == "jump":                        # a direct jump: follow it in the page
            target = (pc + insn.imm) & M64
            if target >> 12 != page or target in seen or target in stop_at or len(out) >= limit:
                if target in stop_at and target >> 12 == page and target not in seen and len(out) < limit:
                    cut = target
                pc += length
                break
            pc = target
            continue
        pc += length
    return out, ppages, pc & M64, cut
