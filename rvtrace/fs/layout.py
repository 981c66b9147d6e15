"""The xv6 on-disk file system format, written down once.

Both the writer (mkfs.py) and the reader (image.py) take every number and
every record layout from here, and so does the test that compares them with
the kernel's C headers (kernel_src/fs.h).

A disk is an array of BSIZE-byte blocks:

    [ boot | super | log header + log blocks | inode blocks | bitmap | data ... ]
      0      1       logstart ...              inodestart     bmapstart

All integers are little-endian (RISC-V is little-endian, and the kernel reads
the structures straight out of its buffer cache).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, fields

BSIZE = 1024                 # bytes per block
FSMAGIC = 0x10203040         # superblock magic
ROOTINO = 1                  # inode number of "/"; inode 0 means "free slot"
NDIRECT = 12                 # direct block addresses in an inode
NINDIRECT = BSIZE // 4       # addresses in the single indirect block
MAXFILE = NDIRECT + NINDIRECT  # largest file, in blocks
DIRSIZ = 14                  # bytes of a name in a directory entry (NUL-padded)

# Inode types (dinode.type); 0 means the on-disk inode is free.
T_DIR = 1
T_FILE = 2
T_DEVICE = 3

# xv6's mkfs defaults.
DEFAULT_TOTAL_BLOCKS = 2000  # FSSIZE
DEFAULT_NINODES = 200
DEFAULT_NLOG = 30            # LOGSIZE = MAXOPBLOCKS * 3

SUPERBLOCK_FMT = "<8I"       # magic size nblocks ninodes nlog logstart inodestart bmapstart
DINODE_FMT = "<4hI13I"       # type major minor nlink size addrs[NDIRECT + 1]
DIRENT_FMT = "<H14s"         # inum name[DIRSIZ]
DINODE_SIZE = struct.calcsize(DINODE_FMT)
DIRENT_SIZE = struct.calcsize(DIRENT_FMT)
IPB = BSIZE // DINODE_SIZE   # inodes per block
BPB = BSIZE * 8              # bitmap bits per block

assert DINODE_SIZE == 64 and DIRENT_SIZE == 16


@dataclass(frozen=True)
class Superblock:
    """Block 1: where each region of the disk starts and how big it is."""
    magic: int
    size: int          # total blocks in the image
    nblocks: int       # data blocks
    ninodes: int
    nlog: int          # log blocks (not counting the log header)
    logstart: int      # block of the log header
    inodestart: int
    bmapstart: int

    def pack(self) -> bytes:
        return struct.pack(SUPERBLOCK_FMT, *(getattr(self, f.name) for f in fields(self)))

    @classmethod
    def unpack(cls, block: bytes) -> "Superblock":
        return cls(*struct.unpack_from(SUPERBLOCK_FMT, block))

    @property
    def datastart(self) -> int:
        """First data block: everything before it is metadata."""
        return self.size - self.nblocks

    def inode_block(self, inum: int) -> int:
        return self.inodestart + inum // IPB

    def bitmap_block(self, blockno: int) -> int:
        return self.bmapstart + blockno // BPB


def plan_layout(total_blocks: int, ninodes: int, nlog: int) -> Superblock:
    """Place the regions the way xv6's mkfs does for the same three sizes.

    The log region is the header block followed by the log blocks, so like
    xv6 it spans `nlog` blocks in total starting at block 2 (the header is
    the first of them).
    """
    ninodeblocks = ninodes // IPB + 1
    nbitmap = total_blocks // BPB + 1
    nmeta = 2 + nlog + ninodeblocks + nbitmap
    return Superblock(
        magic=FSMAGIC,
        size=total_blocks,
        nblocks=total_blocks - nmeta,
        ninodes=ninodes,
        nlog=nlog,
        logstart=2,
        inodestart=2 + nlog,
        bmapstart=2 + nlog + ninodeblocks,
    )


@dataclass
class Dinode:
    """One 64-byte on-disk inode."""
    type: int = 0
    major: int = 0
    minor: int = 0
    nlink: int = 0
    size: int = 0
    addrs: list[int] | None = None   # NDIRECT direct + 1 indirect; 0 = no block

    def __post_init__(self) -> None:
        if self.addrs is None:
            self.addrs = [0] * (NDIRECT + 1)

    def pack(self) -> bytes:
        return struct.pack(DINODE_FMT, self.type, self.major, self.minor,
                           self.nlink, self.size, *self.addrs)

    @classmethod
    def unpack(cls, data: bytes, offset: int = 0) -> "Dinode":
        values = struct.unpack_from(DINODE_FMT, data, offset)
        return cls(*values[:5], addrs=list(values[5:]))


def pack_dirent(inum: int, name: bytes) -> bytes:
    return struct.pack(DIRENT_FMT, inum, name)   # struct pads the name with NULs


def unpack_dirent(data: bytes, offset: int) -> tuple[int, bytes]:
    inum, raw = struct.unpack_from(DIRENT_FMT, data, offset)
    return inum, raw.split(b"\0", 1)[0]
