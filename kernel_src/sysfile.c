// The file-system system calls. Each one checks and fetches its arguments
// (argint/argaddr/argstr from syscall.c), then calls into file.c, fs.c or
// pipe.c. Anything that may change the disk runs inside begin_op()/end_op().
//
// A file descriptor is an index into the process's ofile[] array; the
// struct file it names may be shared with other descriptors and processes.

#include "types.h"
#include "riscv.h"
#include "defs.h"
#include "param.h"
#include "stat.h"
#include "spinlock.h"
#include "proc.h"
#include "fs.h"
#include "sleeplock.h"
#include "file.h"
#include "fcntl.h"

// Fetch argument n as a file descriptor of this process. Returns 0 and
// fills *pfd and *pf (either may be 0), or -1 if it is not an open fd.
static int
argfd(int n, int *pfd, struct file **pf)
{
  int fd;
  struct file *f;

  argint(n, &fd);
  if (fd < 0 || fd >= NOFILE || (f = myproc()->ofile[fd]) == 0)
    return -1;
  if (pfd)
    *pfd = fd;
  if (pf)
    *pf = f;
  return 0;
}

// Give f the lowest free descriptor of this process; -1 if all are in use.
static int
fdalloc(struct file *f)
{
  struct proc *p = myproc();
  for (int fd = 0; fd < NOFILE; fd++) {
    if (p->ofile[fd] == 0) {
      p->ofile[fd] = f;
      return fd;
    }
  }
  return -1;
}

uint64
sys_dup(void)
{
  struct file *f;
  int fd;

  if (argfd(0, 0, &f) < 0)
    return -1;
  if ((fd = fdalloc(f)) < 0)
    return -1;
  filedup(f);
  return fd;
}

uint64
sys_read(void)
{
  struct file *f;
  int n;
  uint64 addr;

  argaddr(1, &addr);
  argint(2, &n);
  if (argfd(0, 0, &f) < 0 || n < 0)
    return -1;
  return fileread(f, addr, n);
}

uint64
sys_write(void)
{
  struct file *f;
  int n;
  uint64 addr;

  argaddr(1, &addr);
  argint(2, &n);
  if (argfd(0, 0, &f) < 0 || n < 0)
    return -1;
  return filewrite(f, addr, n);
}

uint64
sys_close(void)
{
  int fd;
  struct file *f;

  if (argfd(0, &fd, &f) < 0)
    return -1;
  myproc()->ofile[fd] = 0;
  fileclose(f);
  return 0;
}

uint64
sys_fstat(void)
{
  struct file *f;
  uint64 st;   // user address of a struct stat

  argaddr(1, &st);
  if (argfd(0, 0, &f) < 0)
    return -1;
  return filestat(f, st);
}

// link(old, new): give the file `old` the second name `new`.
uint64
sys_link(void)
{
  char name[DIRSIZ], new[MAXPATH], old[MAXPATH];
  struct inode *dp, *ip;

  if (argstr(0, old, MAXPATH) < 0 || argstr(1, new, MAXPATH) < 0)
    return -1;

  begin_op();
  if ((ip = namei(old)) == 0) {
    end_op();
    return -1;
  }

  ilock(ip);
  if (ip->type == T_DIR) {   // links to directories would allow cycles
    iunlockput(ip);
    end_op();
    return -1;
  }
  // Count the link first: if we crash before the entry exists, the file
  // has one link too many (harmless) rather than one too few.
  ip->nlink++;
  iupdate(ip);
  iunlock(ip);

  if ((dp = nameiparent(new, name)) == 0)
    goto undo;
  ilock(dp);
  if (dp->dev != ip->dev || dirlink(dp, name, ip->inum) < 0) {
    iunlockput(dp);
    goto undo;
  }
  iunlockput(dp);
  iput(ip);
  end_op();
  return 0;

undo:
  ilock(ip);
  ip->nlink--;
  iupdate(ip);
  iunlockput(ip);
  end_op();
  return -1;
}

// Is directory dp empty apart from "." and ".."?
static int
isdirempty(struct inode *dp)
{
  struct dirent de;

  for (uint off = 2 * sizeof(de); off < dp->size; off += sizeof(de)) {
    if (readi(dp, 0, (uint64)&de, off, sizeof(de)) != sizeof(de))
      panic("isdirempty: cannot read the directory");
    if (de.inum != 0)
      return 0;
  }
  return 1;
}

// unlink(path): remove the directory entry; the file goes when the last
// link and the last open file are gone (iput).
uint64
sys_unlink(void)
{
  struct inode *ip, *dp;
  struct dirent de;
  char name[DIRSIZ], path[MAXPATH];
  uint off;

  if (argstr(0, path, MAXPATH) < 0)
    return -1;

  begin_op();
  if ((dp = nameiparent(path, name)) == 0) {
    end_op();
    return -1;
  }
  ilock(dp);

  // "." and ".." cannot be removed by name.
  if (namecmp(name, ".") == 0 || namecmp(name, "..") == 0)
    goto fail;
  if ((ip = dirlookup(dp, name, &off)) == 0)
    goto fail;
  ilock(ip);

  if (ip->nlink < 1)
    panic("unlink: inode with no links");
  if (ip->type == T_DIR && !isdirempty(ip)) {
    iunlockput(ip);
    goto fail;
  }

  memset(&de, 0, sizeof(de));
  if (writei(dp, 0, (uint64)&de, off, sizeof(de)) != sizeof(de))
    panic("unlink: cannot clear the directory entry");
  if (ip->type == T_DIR) {
    dp->nlink--;   // the removed directory's ".." no longer names dp
    iupdate(dp);
  }
  iunlockput(dp);

  ip->nlink--;
  iupdate(ip);
  iunlockput(ip);

  end_op();
  return 0;

fail:
  iunlockput(dp);
  end_op();
  return -1;
}

// Make a new inode of `type` at `path` and return it locked. If the path
// exists: for open() of a file (type T_FILE) that is fine when it is a file
// or device, and the existing inode is returned; otherwise 0. Caller is
// inside a transaction.
static struct inode *
create(char *path, short type, short major, short minor)
{
  struct inode *ip, *dp;
  char name[DIRSIZ];

  if ((dp = nameiparent(path, name)) == 0)
    return 0;
  ilock(dp);

  if ((ip = dirlookup(dp, name, 0)) != 0) {
    iunlockput(dp);
    ilock(ip);
    if (type == T_FILE && (ip->type == T_FILE || ip->type == T_DEVICE))
      return ip;
    iunlockput(ip);
    return 0;
  }

  if ((ip = ialloc(dp->dev, type)) == 0) {
    iunlockput(dp);
    return 0;
  }
  ilock(ip);
  ip->major = major;
  ip->minor = minor;
  ip->nlink = 1;
  iupdate(ip);

  if (type == T_DIR) {
    // "." names ip itself and is not counted in nlink (that would keep
    // the directory alive forever); ".." names dp and is counted below.
    if (dirlink(ip, ".", ip->inum) < 0 || dirlink(ip, "..", dp->inum) < 0)
      goto undo;
  }
  if (dirlink(dp, name, ip->inum) < 0)
    goto undo;

  if (type == T_DIR) {
    dp->nlink++;   // for the new directory's ".."
    iupdate(dp);
  }
  iunlockput(dp);
  return ip;

undo:
  // Give the inode back: with no links, iput frees it on disk.
  ip->nlink = 0;
  iupdate(ip);
  iunlockput(ip);
  iunlockput(dp);
  return 0;
}

uint64
sys_open(void)
{
  char path[MAXPATH];
  int fd, omode;
  struct file *f;
  struct inode *ip;

  argint(1, &omode);
  if (argstr(0, path, MAXPATH) < 0)
    return -1;

  begin_op();

  if (omode & O_CREATE) {
    if ((ip = create(path, T_FILE, 0, 0)) == 0) {
      end_op();
      return -1;
    }
  } else {
    if ((ip = namei(path)) == 0) {
      end_op();
      return -1;
    }
    ilock(ip);
    if (ip->type == T_DIR && omode != O_RDONLY) {   // directories are read-only
      iunlockput(ip);
      end_op();
      return -1;
    }
  }

  if (ip->type == T_DEVICE && (ip->major < 0 || ip->major >= NDEV)) {
    iunlockput(ip);
    end_op();
    return -1;
  }

  if ((f = filealloc()) == 0 || (fd = fdalloc(f)) < 0) {
    if (f)
      fileclose(f);
    iunlockput(ip);
    end_op();
    return -1;
  }

  if (ip->type == T_DEVICE) {
    f->type = FD_DEVICE;
    f->major = ip->major;
  } else {
    f->type = FD_INODE;
    f->off = 0;
  }
  f->ip = ip;
  f->readable = !(omode & O_WRONLY);
  f->writable = (omode & O_WRONLY) || (omode & O_RDWR);

  if ((omode & O_TRUNC) && ip->type == T_FILE)
    itrunc(ip);

  iunlock(ip);
  end_op();
  return fd;
}

uint64
sys_mkdir(void)
{
  char path[MAXPATH];
  struct inode *ip;

  begin_op();
  if (argstr(0, path, MAXPATH) < 0 || (ip = create(path, T_DIR, 0, 0)) == 0) {
    end_op();
    return -1;
  }
  iunlockput(ip);
  end_op();
  return 0;
}

uint64
sys_mknod(void)
{
  struct inode *ip;
  char path[MAXPATH];
  int major, minor;

  argint(1, &major);
  argint(2, &minor);
  begin_op();
  if (argstr(0, path, MAXPATH) < 0 ||
      (ip = create(path, T_DEVICE, major, minor)) == 0) {
    end_op();
    return -1;
  }
  iunlockput(ip);
  end_op();
  return 0;
}

uint64
sys_chdir(void)
{
  char path[MAXPATH];
  struct inode *ip;
  struct proc *p = myproc();

  begin_op();
  if (argstr(0, path, MAXPATH) < 0 || (ip = namei(path)) == 0) {
    end_op();
    return -1;
  }
  ilock(ip);
  if (ip->type != T_DIR) {
    iunlockput(ip);
    end_op();
    return -1;
  }
  iunlock(ip);
  iput(p->cwd);
  end_op();
  p->cwd = ip;
  return 0;
}

// exec(path, argv): copy the path and every argument string into kernel
// pages (one page each), then let exec.c replace the process's memory.
uint64
sys_exec(void)
{
  char path[MAXPATH];
  char *argv[MAXARG];
  uint64 uargv, uarg;
  int i, ret = -1;

  argaddr(1, &uargv);
  if (argstr(0, path, MAXPATH) < 0)
    return -1;

  memset(argv, 0, sizeof(argv));
  for (i = 0; ; i++) {
    if (i >= MAXARG)
      goto out;                 // too many arguments
    if (fetchaddr(uargv + sizeof(uint64) * i, &uarg) < 0)
      goto out;
    if (uarg == 0)
      break;                    // argv[i] == 0: end of the list
    if ((argv[i] = kalloc()) == 0)
      goto out;
    if (fetchstr(uarg, argv[i], PGSIZE) < 0)
      goto out;
  }

  ret = exec(path, argv);

out:
  for (i = 0; i < MAXARG && argv[i] != 0; i++)
    kfree(argv[i]);
  return ret;
}

// pipe(fds): fds[0] reads, fds[1] writes.
uint64
sys_pipe(void)
{
  uint64 fdarray;   // user address of int[2]
  struct file *rf, *wf;
  int fd0, fd1;
  struct proc *p = myproc();

  argaddr(0, &fdarray);
  if (pipealloc(&rf, &wf) < 0)
    return -1;
  fd0 = -1;
  if ((fd0 = fdalloc(rf)) < 0 || (fd1 = fdalloc(wf)) < 0) {
    if (fd0 >= 0)
      p->ofile[fd0] = 0;
    fileclose(rf);
    fileclose(wf);
    return -1;
  }
  if (copyout(p->pagetable, fdarray, (char *)&fd0, sizeof(fd0)) < 0 ||
      copyout(p->pagetable, fdarray + sizeof(fd0), (char *)&fd1, sizeof(fd1)) < 0) {
    p->ofile[fd0] = 0;
    p->ofile[fd1] = 0;
    fileclose(rf);
    fileclose(wf);
    return -1;
  }
  return 0;
}
