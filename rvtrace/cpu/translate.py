"""The block translator: basic blocks of guest code become Python functions.

Three parts, one module each:
  blockreader.py  which instructions make up a block (decoded via the table)
  emitter.py      the Python source for them (from semantics.py's snippets;
                  groups.py: doubleword accesses sharing one check)
  codecache.py    the blocks of one machine, and what invalidates them
and codestore.py keeps translations on disk between runs.

This module ties them together. `find_block` is what the hart calls when a
pc has no block yet. Translations are looked up by what was translated --
the virtual pc, privilege, paging mode and the block's own bytes, compared
with RAM -- first in this process, then on disk, so a warm run neither
decodes nor emits source. A block with no stored translation runs as
pre-decoded steps (cold.py) and is translated once it has run hart.hot_after
times; what its steps are made of is stored as well, so a warm run does not
decode blocks that never get hot either. A block read while pcs were watched (the recorder,
the debugger) also remembers the watched pc it stopped before, and is used
again only where the watch set would stop it at the same place.

The step-by-step executor (one-instruction blocks, used when the budget ends
inside a block and by the debugger's stepi) shares compiled code between
every address holding the same instruction word.
"""

from __future__ import annotations

import types

from rvtrace.cpu import cold, codestore
from rvtrace.cpu.blockreader import decode_cached, insn_length, read_block
from rvtrace.cpu.codecache import Block, CodeCache
from rvtrace.cpu.emitter import GLOBALS, M64, MAX_BLOCK, _Emitter
from rvtrace.cpu.signals import Trap

__all__ = ["Block", "CodeCache", "MAX_BLOCK", "block_source", "find_block", "translate_single"]


def block_source(insns, fallthrough: int, may_loop: bool, accelerate: bool = False, diamonds=None) -> str:
    """Python source for a trace [(pc, bits, insn)]. may_loop: a trace that ends by
    jumping back to its start may run several rounds in one call (and in bulk).
    diamonds: its if/else branches, as read_block returns them."""
    em = _Emitter(accelerate=accelerate, diamonds=diamonds)
    em.prepare(insns, diamonds)
    last = len(insns) - 1
    for idx, (pc, bits, insn) in enumerate(insns):
        em.add(insn, bits, pc, idx, idx == last)
    return em.source(f"blk_{insns[0][0]:x}", len(insns), insns[0][0], fallthrough, may_loop)


def _function(code, pc: int):
    scope: dict = {}
    exec(code, GLOBALS, scope)
    return scope[f"blk_{pc:x}"]


def translate_single(insn_entry) -> tuple:
    """Function for one instruction [(pc, bits, insn)], sharing its code with
    every other address holding the same instruction word (the pc is a
    default argument). Budget tails step through these, so they must be cheap
    to make."""
    pc, bits, insn = insn_entry
    proto = _steps.get(bits)
    if proto is None:
        proto = _step_function(bits, insn, pc)
    return types.FunctionType(proto.__code__, GLOBALS, "step", (pc,)), proto.__doc__


def _step_function(bits: int, insn, pc: int):
    """The shared step function for an instruction word: from disk, else emitted."""
    key = ("step", bits)
    stored = codestore.load_variants(key)
    if stored:
        src, code = stored[0][3], stored[0][4]
    else:
        if insn is None:
            insn = decode_cached(bits)
        em = _Emitter(symbolic_pc=True)
        em.add(insn, bits, pc, 0, True)
        src = em.source("step", 1, pc, pc + insn_length(bits, insn), False)
        code = compile(src, codestore.code_name(src), "exec")
        codestore.save_variants(key, [((), 1, (), src, code, None)])
    scope: dict = {}
    exec(code, GLOBALS, scope)
    proto = scope["step"]
    proto.__doc__ = src
    _steps[bits] = proto
    return proto


def _fetch_bits(hart, pc: int) -> tuple[int, set]:
    """The instruction word at pc and the physical pages it lies in (Trap if unfetchable)."""
    ram = hart.ram
    i = hart.fetch_address(pc)
    pages = {(i + hart.ram_base) >> 12}
    lo = ram[i] | (ram[i + 1] << 8)
    if lo & 3 != 3:
        return lo, pages
    if (pc & 0xFFF) > 0xFFC:                     # straddles two pages
        j = hart.fetch_address(pc + 2)
        pages.add((j + hart.ram_base) >> 12)
    else:
        j = i + 2
    return lo | (ram[j] << 16) | (ram[j + 1] << 24), pages


_steps: dict[int, object] = {}       # instruction word -> shared step function

# --- translations by what was translated ---------------------------------------------

class _Variant:
    """One translation of a block start: the bytes it was made from and its function.
    `cut`: the watched pc the block stopped before (None: no watch shortened it)."""
    __slots__ = ("segments", "n", "pcs", "src", "code", "fn", "cut")

    def __init__(self, segments, n, pcs, src, code, fn, cut):
        self.segments, self.n, self.pcs, self.src, self.code, self.fn = segments, n, pcs, src, code, fn
        self.cut = cut

    def stored(self) -> tuple:
        return (self.segments, self.n, tuple(self.pcs), self.src, self.code, self.cut)

    def matches(self, ram, page_index: int, watch) -> bool:
        """Made from the bytes now in RAM, and read_block would stop where it did."""
        for off, data in self.segments:
            i = page_index + off
            if ram[i:i + len(data)] != data:
                return False
        if not watch:
            return self.cut is None
        if self.cut is not None and self.cut not in watch:
            return False
        return not any(p in watch for p in self.pcs[1:self.n])


# (vpc, privilege, paging mode, block size limit, loop acceleration, may loop (vpc not watched))
#   -> [_Variant], newest first
_variants: dict[tuple, list[_Variant]] = {}
_on_disk_looked: set[tuple] = set()
MAX_KEYS = 100_000
stats = {"memory": 0, "disk": 0, "translated": 0, "cold": 0, "decoded": 0}


def _segments(insns, page_index: int, ram) -> tuple:
    """The block's bytes as (page offset, bytes) runs of consecutive instructions."""
    runs = []
    for pc, bits, insn in insns:
        off, n = pc & 0xFFF, insn_length(bits, insn)
        if runs and runs[-1][0] + runs[-1][1] == off:
            runs[-1][1] += n
        else:
            runs.append([off, n])
    return tuple((off, bytes(ram[page_index + off:page_index + off + n])) for off, n in runs)


def find_block(hart, pc: int, ppc: int, single: bool) -> Block:
    """The block at virtual pc (physical ppc): its stored translation, else a cold
    chain of steps (cold.py) that translates itself once hot, else a new
    translation. Raises Trap if a second half of a page-straddling instruction
    cannot be fetched."""
    if single:
        bits, ppages = _fetch_bits(hart, pc)
        fn, src = translate_single((pc, bits, None))
        return Block(fn, 1, [pc, (pc + (4 if bits & 3 == 3 else 2)) & M64], frozenset(ppages), src)
    found = _stored(hart, pc, ppc)
    if found is not None:
        return found
    if hart.hot_after:
        return _cold_block(hart, pc, ppc)
    return _translate(hart, pc, ppc)


def _key(hart, pc: int) -> tuple:
    # A block may run round after round (and in bulk) unless its first pc is watched:
    # read_block stops before any other watched pc, so no round can skip one.
    return (pc, hart.priv, hart.satp >> 60, hart.max_block, hart.accel, pc not in hart._watch)


def _stored(hart, pc: int, ppc: int) -> Block | None:
    """The translation of these bytes made before, in this process or on disk."""
    key = _key(hart, pc)
    variants = _variants.get(key)
    if variants is None and key not in _on_disk_looked:
        _on_disk_looked.add(key)
        variants = _load(key)
    page_index = ppc - hart.ram_base - (pc & 0xFFF)
    for v in variants or ():
        if v.matches(hart.ram, page_index, hart._watch):
            stats["memory"] += 1
            return Block(v.fn, v.n, v.pcs, frozenset((ppc >> 12,)), v.src)
    return None


def _translate(hart, pc: int, ppc: int) -> Block:
    """Read, emit and compile the block at pc, and store the translation."""
    key = _key(hart, pc)
    ram = hart.ram
    page_index = ppc - hart.ram_base - (pc & 0xFFF)
    insns, read_pages, fall, cut, diamonds = read_block(hart, pc, hart.max_block, hart._watch)
    src = block_source(insns, fall, key[-1], hart.accel, diamonds)
    code = compile(src, codestore.code_name(src), "exec")
    fn = _function(code, pc)
    pcs = [p for p, _, _ in insns] + [fall]
    stats["translated"] += 1
    if len(read_pages) > 1:                  # a page-straddling first instruction: not stored by bytes
        return Block(fn, len(insns), pcs, frozenset(read_pages), src)
    _remember(key, _Variant(_segments(insns, page_index, ram), len(insns), pcs, src, code, fn, cut))
    return Block(fn, len(insns), pcs, frozenset((ppc >> 12,)), src)


def _remember(key: tuple, v: _Variant) -> None:
    """Keep a new variant of key, in this process and in the store."""
    variants = _variants.setdefault(key, [])
    variants.insert(0, v)
    del variants[codestore.MAX_VARIANTS:]
    if len(_variants) > MAX_KEYS:
        _variants.clear()
        _on_disk_looked.clear()
    codestore.save_variants(key, [x.stored() for x in variants])


def _stored_decoded(hart, key: tuple, page_index: int) -> _Variant | None:
    """The stored decode of a cold block's bytes (a variant whose code is its step arguments)."""
    variants = _variants.get(key)
    if variants is None and key not in _on_disk_looked:
        _on_disk_looked.add(key)
        variants = _variants[key] = [_Variant(seg, n, list(pcs), src, args, None, cut)
                                     for seg, n, pcs, src, args, cut in codestore.load_variants(key)
                                     if cold.args_ok(args) and len(args) == n == len(pcs) - 1]
    for v in variants or ():
        if v.matches(hart.ram, page_index, hart._watch):
            stats["decoded"] += 1
            return v
    return None


def _cold_block(hart, pc: int, ppc: int) -> Block:
    """A block that runs as pre-decoded steps until it has run hart.hot_after times.
    What its steps are made of is stored too (a warm run does not decode it again)."""
    key = ("decoded",) + _key(hart, pc)
    page_index = ppc - hart.ram_base - (pc & 0xFFF)
    found = _stored_decoded(hart, key, page_index)
    if found is not None:
        args, pcs, read_pages = found.code, found.pcs, (ppc >> 12,)
    else:
        insns, read_pages, fall, cut, _ = read_block(hart, pc, hart.max_block, hart._watch)
        pcs = [p for p, _, _ in insns] + [fall]
        args = tuple(cold.step_args(bits, insn) for _, bits, insn in insns)
        if len(read_pages) == 1:
            _remember(key, _Variant(_segments(insns, page_index, hart.ram), len(insns), pcs, "", args, None,
                                    cut))
    block = Block(None, len(pcs) - 1, pcs, frozenset(read_pages), "")

    def promote(h):
        """Translate now, and let every hart's dispatch table use the translation."""
        try:
            ppc = h.fetch_address(pc) + h.ram_base
            # stored already if the watch set changed since this block went cold (another key)
            hot = _stored(h, pc, ppc) or _translate(h, pc, ppc)
        except Trap:
            return None
        block.fn, block.n, block.pcs, block.source = hot.fn, hot.n, hot.pcs, hot.source
        for other in h.code_cache.harts:
            for ctx in other._contexts.values():
                t = ctx.blocks.get(pc)
                if t is not None and t[2] is block:
                    ctx.blocks[pc] = (hot.fn, hot.n, block)
        return hot.fn
    block.fn = cold.cold_function(cold.steps_from(args), pcs, promote, hart.hot_after)
    stats["cold"] += 1
    return block


def _load(key: tuple) -> list[_Variant] | None:
    """The variants stored on disk for key (their functions made), or None."""
    stored = codestore.load_variants(key)
    if not stored:
        return None
    out = []
    for segments, n, pcs, src, code, cut in stored:
        try:
            fn = _function(code, key[0])
        except Exception:                    # a stored code object that does not run: not ours
            continue
        out.append(_Variant(segments, n, list(pcs), src, code, fn, cut))
        stats["disk"] += 1
    _variants[key] = out
    return out
