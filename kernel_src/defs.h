// Prototypes shared between the kernel's files, grouped by the file that
// defines them. The core ("kernel") owns this header; the storage and device
// half keeps its own prototypes in the section marked for it at the end.
#ifndef KERNEL_DEFS_H
#define KERNEL_DEFS_H

#include "types.h"

struct buf;
struct context;
struct file;
struct inode;
struct pipe;
struct proc;
struct spinlock;
struct sleeplock;
struct stat;
struct superblock;
struct kstats;

// start.c
extern uint64 boot_fdt;

// fdt.c
const char *fdt_bootargs(uint64 fdt);
uint64 fdt_memory_end(uint64 fdt);

// bootargs.c
extern int boot_cow;          // 1: fork shares pages copy-on-write; 0: copies eagerly
extern int boot_argc;         // number of words in the boot command (0: run the shell)
extern char *boot_argv[];     // the boot command's words
void bootargs_init(const char *line);

// printf.c
extern volatile int panicked;
int printf(const char *fmt, ...);
void panic(const char *msg) __attribute__((noreturn));
void printfinit(void);
void backtrace(void);

// poweroff.c
void poweroff(int status) __attribute__((noreturn));

// string.c
void *memset(void *dst, int c, uint n);
int memcmp(const void *a, const void *b, uint n);
void *memmove(void *dst, const void *src, uint n);
void *memcpy(void *dst, const void *src, uint n);
int strncmp(const char *p, const char *q, uint n);
char *strncpy(char *dst, const char *src, int n);
char *safestrcpy(char *dst, const char *src, int n);
int strlen(const char *s);

// spinlock.c
void initlock(struct spinlock *lk, char *name);
void acquire(struct spinlock *lk);
void release(struct spinlock *lk);
int holding(struct spinlock *lk);
void push_off(void);
void pop_off(void);

// sleeplock.c
void initsleeplock(struct sleeplock *lk, char *name);
void acquiresleep(struct sleeplock *lk);
void releasesleep(struct sleeplock *lk);
int holdingsleep(struct sleeplock *lk);

// kalloc.c
extern uint64 ram_end;
void kinit(uint64 end_of_ram);
void *kalloc(void);
void *kalloc_nozero(void);
void kfree(void *pa);
void krefinc(void *pa);
int krefcount(void *pa);
uint64 kfreepages(void);
void kstats_fill(struct kstats *st);
extern uint64 stat_fork_eager_pages, stat_cow_faults, stat_cow_copies;

// vm.c
void kvminit(void);
void kvminithart(void);
void kvmmap(pagetable_t kpt, uint64 va, uint64 pa, uint64 sz, int perm);
int mappages(pagetable_t pt, uint64 va, uint64 size, uint64 pa, int perm);
pte_t *walk(pagetable_t pt, uint64 va, int alloc);
uint64 walkaddr(pagetable_t pt, uint64 va);
pagetable_t uvmcreate(void);
uint64 uvmalloc(pagetable_t pt, uint64 oldsz, uint64 newsz, int xperm);
uint64 uvmdealloc(pagetable_t pt, uint64 oldsz, uint64 newsz);
int uvmcopy(pagetable_t old, pagetable_t new, uint64 sz);
int uvmcopy_counted(pagetable_t old, pagetable_t new, uint64 sz, uint64 *shared, uint64 *copied);
void uvmfree(pagetable_t pt, uint64 sz);
void uvmunmap(pagetable_t pt, uint64 va, uint64 npages, int do_free);
void uvmclear(pagetable_t pt, uint64 va);
int cow_fault(pagetable_t pt, uint64 va);
int copyout(pagetable_t pt, uint64 dstva, char *src, uint64 len);
int copyin(pagetable_t pt, char *dst, uint64 srcva, uint64 len);
int copyinstr(pagetable_t pt, char *dst, uint64 srcva, uint64 max);

// tracepoints.c
void trace_cow(uint64 va, int copied);
void trace_fork(int pid, uint64 shared, uint64 copied);

// proc.c
int cpuid(void);
struct cpu *mycpu(void);
struct proc *myproc(void);
void procinit(void);
void proc_mapstacks(pagetable_t kpt);
pagetable_t proc_pagetable(struct proc *p);
void proc_freepagetable(pagetable_t pt, uint64 sz);
void userinit(void);
int growproc(int n);
int fork(void);
void exit(int status) __attribute__((noreturn));
int wait(uint64 addr);
int kill(int pid);
void setkilled(struct proc *p);
int killed(struct proc *p);
void scheduler(void) __attribute__((noreturn));
void sched(void);
void yield(void);
void sleep(void *chan, struct spinlock *lk);
void wakeup(void *chan);
int either_copyout(int user_dst, uint64 dst, void *src, uint64 len);
int either_copyin(void *dst, int user_src, uint64 src, uint64 len);
void procdump(void);

// swtch.S
void swtch(struct context *old, struct context *new);

// trap.c
extern uint ticks;
extern struct spinlock tickslock;
void trapinit(void);
void trapinithart(void);
void usertrapret(void);

// plic.c
void plicinit(void);
void plicinithart(void);
int plic_claim(void);
void plic_complete(int irq);

// syscall.c
void argint(int n, int *ip);
void argaddr(int n, uint64 *ip);
int argstr(int n, char *buf, int max);
int fetchaddr(uint64 addr, uint64 *ip);
int fetchstr(uint64 addr, char *buf, int max);
void syscall(void);

// exec.c
int exec(char *path, char **argv);

// Number of elements in a fixed-size array.
#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

// Provided by the storage half and called by the core (the storage section
// below holds the full list; a repeated identical prototype is harmless).
void consoleinit(void);
void consputc(int c);
void binit(void);
void iinit(void);
void fileinit(void);
void fsinit(int dev);
void virtio_disk_init(void);
void virtio_disk_intr(void);
void uartintr(void);
struct inode *namei(char *path);
struct inode *idup(struct inode *ip);
void ilock(struct inode *ip);
void iunlockput(struct inode *ip);
void iput(struct inode *ip);
int readi(struct inode *ip, int user_dst, uint64 dst, uint off, uint n);
void begin_op(void);
void end_op(void);
struct file *filedup(struct file *f);
void fileclose(struct file *f);

/* --- storage: bio.c log.c fs.c file.c pipe.c sysfile.c virtio_disk.c uart.c console.c (owned by "storage") --- */

// bio.c
void binit(void);
struct buf *bread(uint dev, uint blockno);
void bwrite(struct buf *b);
void brelse(struct buf *b);
void bpin(struct buf *b);
void bunpin(struct buf *b);

// log.c
void initlog(int dev, struct superblock *sb);
void begin_op(void);
void end_op(void);
void log_write(struct buf *b);

// fs.c
void fsinit(int dev);
void iinit(void);
struct inode *ialloc(uint dev, short type);
void iupdate(struct inode *ip);
struct inode *idup(struct inode *ip);
void ilock(struct inode *ip);
void iunlock(struct inode *ip);
void iput(struct inode *ip);
void iunlockput(struct inode *ip);
void itrunc(struct inode *ip);
void stati(struct inode *ip, struct stat *st);
int readi(struct inode *ip, int user_dst, uint64 dst, uint off, uint n);
int writei(struct inode *ip, int user_src, uint64 src, uint off, uint n);
int namecmp(const char *s, const char *t);
struct inode *dirlookup(struct inode *dp, char *name, uint *poff);
int dirlink(struct inode *dp, char *name, uint inum);
struct inode *namei(char *path);
struct inode *nameiparent(char *path, char *name);

// file.c
void fileinit(void);
struct file *filealloc(void);
struct file *filedup(struct file *f);
void fileclose(struct file *f);
int filestat(struct file *f, uint64 addr);
int fileread(struct file *f, uint64 addr, int n);
int filewrite(struct file *f, uint64 addr, int n);

// pipe.c
int pipealloc(struct file **f0, struct file **f1);
void pipeclose(struct pipe *pi, int writable);
int piperead(struct pipe *pi, uint64 addr, int n);
int pipewrite(struct pipe *pi, uint64 addr, int n);

// sysfile.c: the file-system system calls (sys_read ... sys_exec) are
// reached only through syscall.c's table, which declares them itself.

// virtio_disk.c
void virtio_disk_init(void);
void virtio_disk_rw(struct buf *b, int write);
void virtio_disk_intr(void);

// uart.c
void uartinit(void);
void uartintr(void);
void uartputc(int c);
void uartputc_sync(int c);
int uartgetc(void);
void uartrxintr(int on);
void uartflush(void);

// console.c
void consoleinit(void);
void consoleintr(int c);
int consolewantsinput(void);
void consputc(int c);


/* --- end of storage section --- */

#endif
