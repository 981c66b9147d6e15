"""The code cache: the translated blocks of one machine, and what invalidates them.

Blocks are shared by the harts of one machine and keyed by (virtual pc,
physical pc, single step?, watch version): the code embeds virtual pcs
(auipc, link registers, trap pcs), the physical address says which bytes
were translated. Stores to pages holding translations, DMA writes and
fence.i drop them.

The cache also keeps the set of pages whose stores must be seen: pages
holding translated code, pages TLB entries were walked from (so TLBs never go
stale), and pages the replay watches for data (`set_data_watch`).
"""

from __future__ import annotations

CODE_LINE = 6                   # Activity notes the code that ran by 64-byte lines


class Activity:
    """What the harts did while it was on (`CodeCache.activity`): the code that ran (virtual
    addresses, by 64-byte line: `pc >> CODE_LINE`), the physical pages loaded from and stored
    into -- supersets, never less than happened.

    Complete for a stretch only if every hart's TLBs and block tables were empty when it
    started (`Hart.flush_tlb()`): each page is noted when an entry leading there is made,
    and bulk loops (accel.py) only run through entries made that way."""

    __slots__ = ("ran", "read", "written")

    def __init__(self):
        self.ran: set[int] = set()
        self.read: set[int] = set()
        self.written: set[int] = set()

    def ran_block(self, pcs) -> None:
        """A block is about to run (its pcs, then the pc after it)."""
        self.ran.update({pc >> CODE_LINE for pc in pcs[:-1]})


class Block:
    """A translated block: its function, length and the pc of each instruction."""
    __slots__ = ("fn", "n", "pcs", "ppages", "source")

    def __init__(self, fn, n, pcs, ppages, source):
        self.fn, self.n, self.pcs, self.ppages, self.source = fn, n, pcs, ppages, source


class CodeCache:
    """Translated blocks shared by the harts of one machine."""

    def __init__(self):
        self.blocks: dict[tuple, Block] = {}
        self.pages: dict[int, list[tuple]] = {}      # physical page -> keys of blocks reading it
        self.pt_pages: set[int] = set()               # physical pages TLB entries were walked from
        self.harts: list = []
        self.translations = 0                         # blocks made (translated or found on disk)
        self.data_watch: frozenset = frozenset()      # physical pages the replay watches
        self.on_store = None                          # fn(ppage), before a store into data_watch
        self.on_load = None                           # fn(hart, paddr, size), after a load from it
        self.activity: Activity | None = None         # pages used, while a replay summarises

    def attach(self, hart) -> None:
        self.harts.append(hart)

    def is_code_page(self, ppage: int) -> bool:
        return ppage in self.pages

    def is_watched_page(self, ppage: int) -> bool:
        """Stores to this page must tell us (it holds translated code, page tables or watched data)."""
        return ppage in self.pages or ppage in self.pt_pages or ppage in self.data_watch

    def set_data_watch(self, pages, on_store=None, on_load=None) -> None:
        """Watch data in physical `pages`: on_store(ppage) before every store into them,
        on_load(hart, paddr, size) after every load from them. Their accesses take the
        slow path (no TLB fast path, no bulk loops across them). An empty set removes it."""
        self.data_watch = frozenset(pages)
        self.on_store = on_store if self.data_watch else None
        self.on_load = on_load if self.data_watch else None
        for h in self.harts:                          # accesses there must miss the TLBs now
            h.flush_tlb()

    def written(self, ppage: int) -> None:
        """RAM in a watched page is about to change: drop what was derived from it."""
        if ppage in self.data_watch and self.on_store is not None:
            self.on_store(ppage)
        if ppage in self.pages:
            self.invalidate_page(ppage)
        if ppage in self.pt_pages:
            self.pt_pages.clear()                     # every TLB is flushed: nothing depends on any
            for h in self.harts:
                h.flush_tlb()

    def get(self, key):
        return self.blocks.get(key)

    def put(self, key, block: Block) -> None:
        new_pages = [p for p in block.ppages if p not in self.pages]
        for p in block.ppages:
            self.pages.setdefault(p, []).append(key)
        self.blocks[key] = block
        self.translations += 1
        for p in new_pages:
            for h in self.harts:                      # stores there must now see the cache
                h._drop_write_entries(p)

    def invalidate_page(self, ppage: int) -> None:
        keys = self.pages.pop(ppage, None)
        if not keys:
            return
        for k in keys:
            blk = self.blocks.pop(k, None)
            if blk is not None:
                for p in blk.ppages:
                    if p != ppage and p in self.pages:
                        try:
                            self.pages[p].remove(k)
                        except ValueError:
                            pass
        for h in self.harts:
            h._drop_blocks()

    def invalidate(self, paddr: int, size: int) -> None:
        """Drop translations of [paddr, paddr+size) (DMA writes)."""
        if size <= 0:
            return
        if self.activity is not None:
            self.activity.written.update(range(paddr >> 12, ((paddr + size - 1) >> 12) + 1))
        for page in range(paddr >> 12, ((paddr + size - 1) >> 12) + 1):
            if self.is_watched_page(page):
                self.written(page)

    def flush(self) -> None:
        """Drop every translation (fence.i)."""
        self.blocks.clear()
        self.pages.clear()
        for h in self.harts:
            h._drop_blocks()

    def flush_all(self) -> None:
        """Drop translations and every hart's TLBs: RAM was replaced (a checkpoint restored)."""
        self.flush()
        self.pt_pages.clear()
        for h in self.harts:
            h.flush_tlb()
