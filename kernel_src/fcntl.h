// Flags for open(), shared by the kernel and user programs (xv6's values).
#ifndef KERNEL_FCNTL_H
#define KERNEL_FCNTL_H

#define O_RDONLY  0x000
#define O_WRONLY  0x001
#define O_RDWR    0x002
#define O_CREATE  0x200   // create the file if it does not exist
#define O_TRUNC   0x400   // cut an existing file to length 0

#endif
