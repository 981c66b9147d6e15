// Compile-time limits of the kernel. Values follow xv6's so that user programs
// and the on-disk format behave the same on both kernels.
#ifndef KERNEL_PARAM_H
#define KERNEL_PARAM_H

#define NPROC        64   // process table size
#define NCPU          8   // harts supported (1..8)
#define NOFILE       16   // open files per process
#define NFILE       100   // open files in the whole system
#define NINODE       50   // in-memory inode cache entries
#define NDEV         10   // device major numbers
#define ROOTDEV       1   // device number of the root file system
#define MAXARG       32   // most arguments exec accepts
#define MAXOPBLOCKS  10   // most blocks one file-system operation writes
#define LOGSIZE      (MAXOPBLOCKS*3)  // blocks in the on-disk log
#define NBUF         (MAXOPBLOCKS*3)  // buffer cache size
#define FSSIZE     2000   // default file system size in blocks
#define MAXPATH     128   // longest path name

#define USERSTACK     1   // pages of user stack (an unmapped guard page sits below)
#define KSTACKPAGES   2   // pages of kernel stack per process
#define BOOTSTACK  4096   // bytes of boot stack per hart (entry.S, start.c)
#define TIMER_INTERVAL 100000  // timer ticks between preemptions (10 ms at 10 MHz)

/* --- storage: extra constants (owned by "storage") --- */

#endif
