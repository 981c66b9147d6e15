// Virtual memory: the kernel's page table, user page tables, copying between
// them, and copy-on-write fork.
//
// Sv39: a virtual address has three 9-bit indices (levels 2, 1, 0) and a
// 12-bit page offset; each level is one 4096-byte page of 512 PTEs. A PTE
// with any of R/W/X set is a leaf. The kernel maps RAM with 2 MiB leaves at
// level 1 where it can (fewer page-table pages and much faster to build);
// user page tables use only 4 KiB leaves.

#include "types.h"
#include "param.h"
#include "memlayout.h"
#include "riscv.h"
#include "spinlock.h"
#include "proc.h"
#include "defs.h"

#define MEGAPAGE (512UL * PGSIZE)   // a level-1 leaf covers 2 MiB

pagetable_t kernel_pagetable;

extern char etext[];       // end of kernel text (kernel.ld)
extern char trampoline[];  // trampoline.S

// ---- building page tables ----

// The PTE for `va` at level `target` (0: 4 KiB leaf, 1: 2 MiB leaf),
// creating the intermediate page-table pages when `alloc` is set.
static pte_t *walk_level(pagetable_t pt, uint64 va, int target, int alloc)
{
  if (va >= MAXVA)
    panic("walk: virtual address too high");
  for (int level = 2; level > target; level--) {
    pte_t *pte = &pt[PX(level, va)];
    if (*pte & PTE_V) {
      if (*pte & (PTE_R | PTE_W | PTE_X))
        panic("walk: went through a large leaf");
      pt = (pagetable_t)PTE2PA(*pte);
    } else {
      if (!alloc || (pt = (pagetable_t)kalloc()) == 0)
        return 0;
      *pte = PA2PTE(pt) | PTE_V;   // kalloc zeroed the new table
    }
  }
  return &pt[PX(target, va)];
}

// The level-0 PTE for `va`, or 0 when there is none (and !alloc).
pte_t *walk(pagetable_t pt, uint64 va, int alloc)
{
  return walk_level(pt, va, 0, alloc);
}

// Leaf PTE value: valid, the permissions asked for, and A and D set up front
// so that no hardware (or emulator) ever needs to fault to update them.
static pte_t leaf(uint64 pa, int perm)
{
  return PA2PTE(pa) | perm | PTE_V | PTE_A | PTE_D;
}

// Map [va, va+size) to [pa, pa+size) with 4 KiB pages. va, pa and size must
// be page aligned. Returns 0, or -1 if a page-table page could not be had.
int mappages(pagetable_t pt, uint64 va, uint64 size, uint64 pa, int perm)
{
  if ((va | pa | size) % PGSIZE != 0 || size == 0)
    panic("mappages: unaligned or empty");
  for (uint64 off = 0; off < size; off += PGSIZE) {
    pte_t *pte = walk(pt, va + off, 1);
    if (pte == 0)
      return -1;
    if (*pte & PTE_V)
      panic("mappages: address already mapped");
    *pte = leaf(pa + off, perm);
  }
  return 0;
}

// Kernel mapping: like mappages, but 2 MiB leaves wherever va, pa and the
// rest of the range allow. Boot-time only, so failure is a panic.
void kvmmap(pagetable_t kpt, uint64 va, uint64 pa, uint64 sz, int perm)
{
  uint64 end = PGROUNDUP(va + sz);
  va = PGROUNDDOWN(va);
  pa = PGROUNDDOWN(pa);
  while (va < end) {
    int big = (va % MEGAPAGE) == 0 && (pa % MEGAPAGE) == 0 && end - va >= MEGAPAGE;
    pte_t *pte = walk_level(kpt, va, big ? 1 : 0, 1);
    if (pte == 0)
      panic("kvmmap: out of memory");
    if (*pte & PTE_V)
      panic("kvmmap: address already mapped");
    *pte = leaf(pa, perm);
    uint64 step = big ? MEGAPAGE : PGSIZE;
    va += step;
    pa += step;
  }
}

// ---- the kernel's page table ----

static pagetable_t kvmmake(void)
{
  pagetable_t kpt = kalloc();
  if (kpt == 0)
    panic("kvmmake: out of memory");
  kvmmap(kpt, TESTDEV, TESTDEV, PGSIZE, PTE_R | PTE_W);
  kvmmap(kpt, UART0, UART0, PGSIZE, PTE_R | PTE_W);
  kvmmap(kpt, VIRTIO0, VIRTIO0, PGSIZE, PTE_R | PTE_W);
  kvmmap(kpt, PLIC, PLIC, PLIC_SIZE, PTE_R | PTE_W);
  // Kernel text: readable and executable, not writable.
  kvmmap(kpt, KERNBASE, KERNBASE, (uint64)etext - KERNBASE, PTE_R | PTE_X);
  // Kernel data and every free page: the direct map.
  kvmmap(kpt, (uint64)etext, (uint64)etext, ram_end - (uint64)etext, PTE_R | PTE_W);
  // The trampoline, at the top, where user page tables have it too.
  kvmmap(kpt, TRAMPOLINE, (uint64)trampoline, PGSIZE, PTE_R | PTE_X);
  proc_mapstacks(kpt);
  return kpt;
}

void kvminit(void)
{
  kernel_pagetable = kvmmake();
}

// Turn paging on for this hart.
void kvminithart(void)
{
  sfence_vma();   // earlier stores to the page table are complete
  w_satp(MAKE_SATP(kernel_pagetable));
  sfence_vma();   // no stale translations
}

// ---- user page tables ----

// Physical address of user page `va`, or 0 if it is not mapped for user.
uint64 walkaddr(pagetable_t pt, uint64 va)
{
  if (va >= MAXVA)
    return 0;
  pte_t *pte = walk(pt, va, 0);
  if (pte == 0 || (*pte & PTE_V) == 0 || (*pte & PTE_U) == 0)
    return 0;
  return PTE2PA(*pte);
}

pagetable_t uvmcreate(void)
{
  return (pagetable_t)kalloc();   // zeroed: no mappings
}

// Remove npages mappings from va on; drop our reference to the pages when
// do_free. Holes (pages never mapped) are skipped.
void uvmunmap(pagetable_t pt, uint64 va, uint64 npages, int do_free)
{
  if (va % PGSIZE != 0)
    panic("uvmunmap: unaligned");
  for (uint64 a = va; a < va + npages * PGSIZE; a += PGSIZE) {
    pte_t *pte = walk(pt, a, 0);
    if (pte == 0 || (*pte & PTE_V) == 0)
      continue;
    if (do_free)
      kfree((void *)PTE2PA(*pte));
    *pte = 0;
  }
}

// Grow a process from oldsz to newsz bytes with fresh zeroed pages.
// Returns the new size, or 0 (with nothing changed) when out of memory.
uint64 uvmalloc(pagetable_t pt, uint64 oldsz, uint64 newsz, int xperm)
{
  if (newsz <= oldsz)
    return oldsz;
  for (uint64 a = PGROUNDUP(oldsz); a < newsz; a += PGSIZE) {
    void *mem = kalloc();
    if (mem == 0 || mappages(pt, a, PGSIZE, (uint64)mem, PTE_R | PTE_U | xperm) != 0) {
      if (mem)
        kfree(mem);
      uvmdealloc(pt, a, oldsz);
      return 0;
    }
  }
  return newsz;
}

// Shrink a process from oldsz to newsz bytes. Returns the new size.
uint64 uvmdealloc(pagetable_t pt, uint64 oldsz, uint64 newsz)
{
  if (newsz >= oldsz)
    return oldsz;
  if (PGROUNDUP(newsz) < PGROUNDUP(oldsz)) {
    uint64 npages = (PGROUNDUP(oldsz) - PGROUNDUP(newsz)) / PGSIZE;
    uvmunmap(pt, PGROUNDUP(newsz), npages, 1);
  }
  return newsz;
}

// Free the page-table pages themselves; every leaf must be gone already.
static void freewalk(pagetable_t pt)
{
  for (int i = 0; i < 512; i++) {
    pte_t pte = pt[i];
    if ((pte & PTE_V) == 0)
      continue;
    if (pte & (PTE_R | PTE_W | PTE_X))
      panic("freewalk: a leaf is still mapped");
    freewalk((pagetable_t)PTE2PA(pte));
    pt[i] = 0;
  }
  kfree(pt);
}

// Free a user address space: its pages [0, sz) and then its page table.
void uvmfree(pagetable_t pt, uint64 sz)
{
  if (sz > 0)
    uvmunmap(pt, 0, PGROUNDUP(sz) / PGSIZE, 1);
  freewalk(pt);
}

// Make a page inaccessible to user mode (the guard page under the stack).
void uvmclear(pagetable_t pt, uint64 va)
{
  pte_t *pte = walk(pt, va, 0);
  if (pte == 0)
    panic("uvmclear: no such page");
  *pte &= ~PTE_U;
}

// ---- fork: copying an address space ----

// Share the page copy-on-write: both page tables map it read-only with
// PTE_COW; the first write to it faults and cow_fault() sorts it out.
// Pages that were never writable are simply shared.
static int share_page(pte_t *parent_pte, pagetable_t new, uint64 va)
{
  uint64 pa = PTE2PA(*parent_pte);
  uint64 flags = PTE_FLAGS(*parent_pte);
  if (flags & (PTE_W | PTE_COW)) {
    flags = (flags & ~PTE_W) | PTE_COW;
    *parent_pte = PA2PTE(pa) | flags;
  }
  if (mappages(new, va, PGSIZE, pa, flags) != 0)
    return -1;
  krefinc((void *)pa);
  return 0;
}

// Give the child its own copy of the page right now (cow=0).
static int copy_page(pte_t *parent_pte, pagetable_t new, uint64 va)
{
  char *mem = kalloc_nozero();   // every byte is copied over below
  if (mem == 0)
    return -1;
  memmove(mem, (char *)PTE2PA(*parent_pte), PGSIZE);
  if (mappages(new, va, PGSIZE, (uint64)mem, PTE_FLAGS(*parent_pte)) != 0) {
    kfree(mem);
    return -1;
  }
  __sync_fetch_and_add(&stat_fork_eager_pages, 1);
  return 0;
}

// Copy the user memory [0, sz) of `old` into the (empty) page table `new`,
// copy-on-write unless booted with cow=0. Returns 0, or -1 with `new`
// emptied again when memory runs out. *shared and *copied count the pages
// mapped into both and the pages copied now (fork reports them to tracers).
int uvmcopy_counted(pagetable_t old, pagetable_t new, uint64 sz, uint64 *shared, uint64 *copied)
{
  *shared = *copied = 0;
  for (uint64 va = 0; va < sz; va += PGSIZE) {
    pte_t *pte = walk(old, va, 0);
    if (pte == 0 || (*pte & PTE_V) == 0)
      continue;
    int r = boot_cow ? share_page(pte, new, va) : copy_page(pte, new, va);
    if (r != 0) {
      uvmunmap(new, 0, va / PGSIZE, 1);
      return -1;
    }
    if (boot_cow)
      (*shared)++;
    else
      (*copied)++;
  }
  return 0;
}

// xv6's interface: the same without the counts.
int uvmcopy(pagetable_t old, pagetable_t new, uint64 sz)
{
  uint64 shared, copied;
  return uvmcopy_counted(old, new, sz, &shared, &copied);
}

// A write hit page `va`. If it is a copy-on-write page, make it writable for
// this address space: copy it when others still share it, otherwise just
// take it over. Returns 0 when handled, -1 when this was not a COW page (a
// genuine fault) or memory ran out.
int cow_fault(pagetable_t pt, uint64 va)
{
  if (va >= MAXVA)
    return -1;
  pte_t *pte = walk(pt, PGROUNDDOWN(va), 0);
  if (pte == 0 || (*pte & (PTE_V | PTE_U | PTE_COW)) != (PTE_V | PTE_U | PTE_COW))
    return -1;
  uint64 pa = PTE2PA(*pte);
  uint64 flags = (PTE_FLAGS(*pte) & ~PTE_COW) | PTE_W;
  __sync_fetch_and_add(&stat_cow_faults, 1);
  int copied = 0;
  if (krefcount((void *)pa) == 1) {
    // Everyone else has copied or exited: the page is ours alone.
    *pte = PA2PTE(pa) | flags;
  } else {
    char *mem = kalloc_nozero();   // every byte is copied over below
    if (mem == 0)
      return -1;
    memmove(mem, (char *)pa, PGSIZE);
    *pte = PA2PTE(mem) | flags;
    kfree((void *)pa);   // drop our share of the old page
    __sync_fetch_and_add(&stat_cow_copies, 1);
    copied = 1;
  }
  sfence_vma();
  trace_cow(PGROUNDDOWN(va), copied);
  return 0;
}

// ---- copying between kernel and user memory ----
// The kernel runs on its own page table, so it translates user addresses
// itself, page by page.

// Copy len bytes from kernel src to user dstva. Returns 0 or -1.
int copyout(pagetable_t pt, uint64 dstva, char *src, uint64 len)
{
  while (len > 0) {
    uint64 va0 = PGROUNDDOWN(dstva);
    if (va0 >= MAXVA)
      return -1;
    pte_t *pte = walk(pt, va0, 0);
    if (pte == 0 || (*pte & (PTE_V | PTE_U)) != (PTE_V | PTE_U))
      return -1;
    if ((*pte & PTE_W) == 0) {
      // Writing into a COW page from the kernel counts as a write fault.
      if ((*pte & PTE_COW) == 0 || cow_fault(pt, va0) != 0)
        return -1;
    }
    uint64 n = PGSIZE - (dstva - va0);
    if (n > len)
      n = len;
    memmove((void *)(PTE2PA(*pte) + (dstva - va0)), src, n);
    len -= n;
    src += n;
    dstva = va0 + PGSIZE;
  }
  return 0;
}

// Copy len bytes from user srcva to kernel dst. Returns 0 or -1.
int copyin(pagetable_t pt, char *dst, uint64 srcva, uint64 len)
{
  while (len > 0) {
    uint64 va0 = PGROUNDDOWN(srcva);
    uint64 pa0 = walkaddr(pt, va0);
    if (pa0 == 0)
      return -1;
    uint64 n = PGSIZE - (srcva - va0);
    if (n > len)
      n = len;
    memmove(dst, (void *)(pa0 + (srcva - va0)), n);
    len -= n;
    dst += n;
    srcva = va0 + PGSIZE;
  }
  return 0;
}

// Copy a NUL-terminated string of at most max bytes (terminator included)
// from user srcva to kernel dst. Returns 0, or -1 if there was no NUL.
int copyinstr(pagetable_t pt, char *dst, uint64 srcva, uint64 max)
{
  while (max > 0) {
    uint64 va0 = PGROUNDDOWN(srcva);
    uint64 pa0 = walkaddr(pt, va0);
    if (pa0 == 0)
      return -1;
    char *p = (char *)(pa0 + (srcva - va0));
    uint64 n = PGSIZE - (srcva - va0);
    if (n > max)
      n = max;
    for (uint64 i = 0; i < n; i++) {
      *dst = p[i];
      if (p[i] == 0)
        return 0;
      dst++;
    }
    max -= n;
    srcva = va0 + PGSIZE;
  }
  return -1;
}
