// The physical page allocator: 4096-byte pages between the end of the
// kernel image and the end of RAM, each with a reference count.
//
// Reference counts exist for copy-on-write fork: after fork, parent and
// child map the same physical page, and the page may only go back to the
// free list when the last page table stops using it.
//
// Boot must stay cheap, so pages are not all put on a free list (nor
// cleared) at boot. Never-used pages are handed out from a "fresh" pointer
// that only moves up; freed pages go on a free list that is used first.
// Every page is zeroed when it is handed out.

#include "types.h"
#include "param.h"
#include "memlayout.h"
#include "riscv.h"
#include "spinlock.h"
#include "kstats.h"
#include "defs.h"

extern char end[];   // first address after the kernel image (kernel.ld)

#define NPAGES ((PHYSTOP - KERNBASE) / PGSIZE)
#define PAGE_INDEX(pa) (((uint64)(pa) - KERNBASE) / PGSIZE)

// A free page holds the link to the next free page.
struct run {
  struct run *next;
};

static struct {
  struct spinlock lock;      // protects everything here, refcounts included
  struct run *freelist;      // freed pages
  uint64 nfree_listed;       // how many pages are on freelist
  uint64 fresh;              // pages in [fresh, ram_end) were never used
  uint64 allocated;          // pages handed out since boot (statistics)
  uint16 refcount[NPAGES];   // users of each page (0 = free)
} kmem;

// Copy-on-write statistics, bumped by vm.c with atomic adds (no lock:
// they only ever grow, and nothing decides anything from them).
uint64 stat_fork_eager_pages, stat_cow_faults, stat_cow_copies;

// The end of the RAM we use (<= PHYSTOP): the direct map and the free
// pages stop here.
uint64 ram_end;

// end_of_ram: from the device tree, or 0 if it did not say.
void kinit(uint64 end_of_ram)
{
  initlock(&kmem.lock, "kmem");
  ram_end = PGROUNDDOWN(end_of_ram);
  if (ram_end == 0 || ram_end > PHYSTOP)
    ram_end = PHYSTOP;
  kmem.fresh = PGROUNDUP((uint64)end);
  if (kmem.fresh + 64 * PGSIZE > ram_end)
    panic("kinit: too little RAM");
}

static void check_page(void *pa, const char *who)
{
  uint64 a = (uint64)pa;
  if ((a % PGSIZE) != 0 || a < PGROUNDUP((uint64)end) || a >= ram_end)
    panic(who);
}

// A page with whatever it held before, or 0 when memory is exhausted. Only
// for callers that overwrite all of it straight away (copies, stacks).
void *kalloc_nozero(void)
{
  acquire(&kmem.lock);
  struct run *r = kmem.freelist;
  if (r) {
    kmem.freelist = r->next;
    kmem.nfree_listed--;
  } else if (kmem.fresh < ram_end) {
    r = (struct run *)kmem.fresh;
    kmem.fresh += PGSIZE;
  }
  if (r) {
    kmem.refcount[PAGE_INDEX(r)] = 1;
    kmem.allocated++;
  }
  release(&kmem.lock);
  return r;
}

// A zeroed page, or 0 when memory is exhausted. Zeroing here (and not at
// boot) keeps boot cheap, and no process ever sees another's old data.
void *kalloc(void)
{
  void *page = kalloc_nozero();
  if (page)
    memset(page, 0, PGSIZE);
  return page;
}

// Drop one reference to the page; free it when none is left.
void kfree(void *pa)
{
  check_page(pa, "kfree: not a page we hand out");
  acquire(&kmem.lock);
  uint16 *rc = &kmem.refcount[PAGE_INDEX(pa)];
  if (*rc == 0)
    panic("kfree: page is already free");
  *rc -= 1;
  if (*rc == 0) {
    struct run *r = pa;
    r->next = kmem.freelist;
    kmem.freelist = r;
    kmem.nfree_listed++;
  }
  release(&kmem.lock);
}

// One more page table maps this page (copy-on-write sharing).
void krefinc(void *pa)
{
  check_page(pa, "krefinc: not a page we hand out");
  acquire(&kmem.lock);
  if (kmem.refcount[PAGE_INDEX(pa)] == 0)
    panic("krefinc: page is free");
  kmem.refcount[PAGE_INDEX(pa)]++;
  release(&kmem.lock);
}

int krefcount(void *pa)
{
  check_page(pa, "krefcount: not a page we hand out");
  acquire(&kmem.lock);
  int n = kmem.refcount[PAGE_INDEX(pa)];
  release(&kmem.lock);
  return n;
}

uint64 kfreepages(void)
{
  acquire(&kmem.lock);
  uint64 n = kmem.nfree_listed + (ram_end - kmem.fresh) / PGSIZE;
  release(&kmem.lock);
  return n;
}

void kstats_fill(struct kstats *st)
{
  st->fork_eager_pages = stat_fork_eager_pages;
  st->cow_faults = stat_cow_faults;
  st->cow_copies = stat_cow_copies;
  st->free_pages = kfreepages();
  acquire(&kmem.lock);
  st->pages_allocated = kmem.allocated;
  release(&kmem.lock);
}
