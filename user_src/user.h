// The user-level API: system calls and the small C library in user_src/lib/.
//
// It matches xv6's user.h, so programs written for xv6 compile here too, plus
// two calls of ours: poweroff() and kstats(). Including this one header is
// enough: it brings the kernel's shared types (uint, uint64, ...), struct
// stat, the open() flags and struct kstats with it.
#ifndef USER_H
#define USER_H

#include "types.h"
#include "stat.h"
#include "fcntl.h"
#include "kstats.h"

#define NULL ((void *)0)

// --- system calls (lib/usys.S) -------------------------------------------
int fork(void);
int exit(int status) __attribute__((noreturn));
int wait(int *status);              // status may be 0; returns the child's pid or -1
int pipe(int *fds);                 // fds[0] reads, fds[1] writes
int write(int fd, const void *buf, int n);
int read(int fd, void *buf, int n);
int close(int fd);
int kill(int pid);
int exec(const char *path, char **argv);   // returns only on failure (-1)
int open(const char *path, int flags);
int mknod(const char *path, short major, short minor);
int unlink(const char *path);
int fstat(int fd, struct stat *st);
int link(const char *oldpath, const char *newpath);
int mkdir(const char *path);
int chdir(const char *path);
int dup(int fd);
int getpid(void);
char *sbrk(int n);                  // grows (or with n < 0 shrinks) memory; returns the old end
int sleep(int ticks);
int uptime(void);                   // timer ticks since boot
// ours, beyond xv6's numbers:
void poweroff(int status) __attribute__((noreturn));  // 0: clean, else the machine's exit code
int kstats(struct kstats *ks);      // copy the kernel's counters (kstats.h) into *ks

// --- strings and memory (lib/string.c) --------------------------------------
char *strcpy(char *dst, const char *src);
int strcmp(const char *a, const char *b);
uint strlen(const char *s);
void *memset(void *dst, int c, uint n);
void *memmove(void *dst, const void *src, int n);
int memcmp(const void *a, const void *b, uint n);
void *memcpy(void *dst, const void *src, uint n);
char *strchr(const char *s, char c);
int atoi(const char *s);

// --- input and output (lib/stdio.c) -------------------------------------------
// printf writes ONE CHARACTER PER write() system call, as xv6's does: two
// processes printing at once interleave character by character, which is
// exactly what a trace is meant to show.
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *gets(char *buf, int max);     // one line (with its '\n') from fd 0, NUL-terminated

// --- files (lib/file.c) ---------------------------------------------------------
int stat(const char *path, struct stat *st);

// --- heap (lib/malloc.c) ----------------------------------------------------------
void *malloc(uint nbytes);
void free(void *p);

#endif
