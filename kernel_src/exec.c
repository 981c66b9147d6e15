// exec: replace the current process's memory with a program from the file
// system. On success the old image is gone and exec "returns" into the new
// program's entry point; on failure it returns -1 and the caller's memory is
// untouched (the new image is built in a separate page table and swapped in
// only at the very end).

#include "types.h"
#include "param.h"
#include "memlayout.h"
#include "riscv.h"
#include "spinlock.h"
#include "proc.h"
#include "elf.h"
#include "defs.h"

// Page permissions asked for by a segment's ELF flags (always readable).
static int flags2perm(uint32 flags)
{
  int perm = 0;
  if (flags & ELF_PROG_FLAG_EXEC)
    perm |= PTE_X;
  if (flags & ELF_PROG_FLAG_WRITE)
    perm |= PTE_W;
  return perm;
}

// A segment that starts inside a page an earlier segment already mapped
// (e.g. text and data sharing one page) needs that page's permissions too.
static void add_perm(pagetable_t pt, uint64 va, uint64 end, int perm)
{
  for (uint64 a = PGROUNDDOWN(va); a < end; a += PGSIZE) {
    pte_t *pte = walk(pt, a, 0);
    if (pte && (*pte & PTE_V))
      *pte |= perm;
  }
}

// Read n bytes at file offset off into user memory at va (already mapped).
static int loadseg(pagetable_t pt, uint64 va, struct inode *ip, uint off, uint n)
{
  uint done = 0;
  while (done < n) {
    uint64 a = va + done;
    uint64 pa = walkaddr(pt, PGROUNDDOWN(a));
    if (pa == 0)
      panic("loadseg: page not mapped");
    uint chunk = PGSIZE - (a % PGSIZE);
    if (chunk > n - done)
      chunk = n - done;
    if (readi(ip, 0, pa + (a % PGSIZE), off + done, chunk) != chunk)
      return -1;
    done += chunk;
  }
  return 0;
}

// Map and load every PT_LOAD segment of the ELF file ip into pt. *szp
// always holds how much is mapped (so the caller can free it). Returns 0, or
// -1 when the file is bad or memory runs out.
static int load_segments(pagetable_t pt, struct inode *ip, struct elfhdr *elf, uint64 *szp)
{
  uint64 sz = 0;
  *szp = 0;
  for (int i = 0; i < elf->phnum; i++) {
    struct proghdr ph;
    uint off = elf->phoff + i * sizeof(ph);
    if (readi(ip, 0, (uint64)&ph, off, sizeof(ph)) != sizeof(ph))
      return -1;
    if (ph.type != ELF_PROG_LOAD || ph.memsz == 0)
      continue;
    if (ph.memsz < ph.filesz || ph.vaddr + ph.memsz < ph.vaddr ||
        ph.vaddr + ph.memsz > TRAPFRAME)
      return -1;
    int perm = flags2perm(ph.flags);
    if (ph.vaddr < sz)
      add_perm(pt, ph.vaddr, sz, perm);
    uint64 newsz = uvmalloc(pt, sz, ph.vaddr + ph.memsz, perm);
    if (newsz == 0)
      return -1;
    sz = newsz > sz ? newsz : sz;
    *szp = sz;
    if (loadseg(pt, ph.vaddr, ip, ph.off, ph.filesz) < 0)
      return -1;
  }
  return sz > 0 ? 0 : -1;   // a program with nothing to load is no program
}

// Put the argument strings and the argv[] array on the new user stack
// [stackbase, sp). Returns the final sp (argv's address), or 0 on overflow.
static uint64 push_args(pagetable_t pt, uint64 sp, uint64 stackbase, char **argv, int argc)
{
  uint64 ustack[MAXARG + 1];
  for (int i = 0; i < argc; i++) {
    sp -= strlen(argv[i]) + 1;
    sp -= sp % 16;   // RISC-V wants sp 16-byte aligned
    if (sp < stackbase || copyout(pt, sp, argv[i], strlen(argv[i]) + 1) < 0)
      return 0;
    ustack[i] = sp;
  }
  ustack[argc] = 0;
  sp -= (argc + 1) * sizeof(uint64);
  sp -= sp % 16;
  if (sp < stackbase || copyout(pt, sp, (char *)ustack, (argc + 1) * sizeof(uint64)) < 0)
    return 0;
  return sp;
}

// The last component of a path: "/a/b/echo" -> "echo".
static char *basename(char *path)
{
  char *last = path;
  for (char *s = path; *s; s++)
    if (*s == '/')
      last = s + 1;
  return last;
}

// Kernel pointers: path and the NULL-terminated argv. Returns argc (main's
// first argument, placed in a0 by the system call return) or -1.
int exec(char *path, char **argv)
{
  struct proc *p = myproc();
  pagetable_t pt = 0;
  uint64 sz = 0;
  struct elfhdr elf;

  int argc = 0;
  while (argv[argc]) {
    if (++argc > MAXARG)
      return -1;
  }

  begin_op();
  struct inode *ip = namei(path);
  if (ip == 0) {
    end_op();
    return -1;
  }
  ilock(ip);

  if (readi(ip, 0, (uint64)&elf, 0, sizeof(elf)) != sizeof(elf) ||
      elf.magic != ELF_MAGIC || elf.ident[0] != ELFCLASS64 || elf.machine != EM_RISCV)
    goto bad;
  if ((pt = proc_pagetable(p)) == 0)
    goto bad;
  if (load_segments(pt, ip, &elf, &sz) < 0)
    goto bad;
  iunlockput(ip);
  end_op();
  ip = 0;

  // The user stack: USERSTACK pages above an inaccessible guard page, so a
  // stack overflow faults instead of silently overwriting data.
  sz = PGROUNDUP(sz);
  uint64 sz1 = uvmalloc(pt, sz, sz + (USERSTACK + 1) * PGSIZE, PTE_W);
  if (sz1 == 0)
    goto bad;
  sz = sz1;
  uvmclear(pt, sz - (USERSTACK + 1) * PGSIZE);
  uint64 sp = push_args(pt, sz, sz - USERSTACK * PGSIZE, argv, argc);
  if (sp == 0)
    goto bad;

  // Commit: from here on nothing can fail.
  safestrcpy(p->name, basename(path), sizeof(p->name));
  pagetable_t oldpt = p->pagetable;
  uint64 oldsz = p->sz;
  p->pagetable = pt;
  p->sz = sz;
  p->trapframe->epc = elf.entry;
  p->trapframe->sp = sp;
  p->trapframe->a1 = sp;   // main(argc, argv): argv
  proc_freepagetable(oldpt, oldsz);
  return argc;

bad:
  if (pt)
    proc_freepagetable(pt, sz);
  if (ip) {
    iunlockput(ip);
    end_op();
  }
  return -1;
}
