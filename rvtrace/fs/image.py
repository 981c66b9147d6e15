"""Read an xv6-format disk image back: superblock, directories, files, stat.

    img = DiskImage("fs.img")
    img.listdir("/")          # ['README', 'cat', ...]  (no "." / "..")
    img.read_file("/README")  # b'...'
    img.stat("/cat")          # Stat(inum=3, type=2, nlink=1, size=..., ...)
    img.fsck()                # [] when the image is consistent

The reader never changes the image. It is used by the tests, by the build to
check what it packed, and by tools that show the disk inside a trace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rvtrace.errors import UserError
from rvtrace.fs import layout as L

TYPE_NAMES = {L.T_DIR: "dir", L.T_FILE: "file", L.T_DEVICE: "device"}


@dataclass(frozen=True)
class Stat:
    """What xv6's fstat reports, plus the device numbers of a device inode."""
    inum: int
    type: int
    nlink: int
    size: int
    major: int = 0
    minor: int = 0

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, f"type{self.type}")


class DiskImage:
    """An xv6 file system image, read from a path or from bytes."""

    def __init__(self, source: str | os.PathLike | bytes):
        if isinstance(source, (bytes, bytearray)):
            self.name, self.data = "<image>", bytes(source)
        else:
            self.name = str(source)
            try:
                self.data = Path(source).read_bytes()
            except OSError as exc:
                raise UserError(f"cannot read disk image {self.name}: {exc.strerror}") from exc
        if len(self.data) < 2 * L.BSIZE:
            raise UserError(f"{self.name} is too small to be an xv6 disk image")
        self.superblock = L.Superblock.unpack(self.block(1))
        if self.superblock.magic != L.FSMAGIC:
            raise UserError(f"{self.name} is not an xv6 file system image "
                            f"(superblock magic {self.superblock.magic:#x}, expected {L.FSMAGIC:#x})")
        if self.superblock.size * L.BSIZE > len(self.data):
            raise UserError(f"{self.name} is truncated: the superblock says "
                            f"{self.superblock.size} blocks, the file holds {len(self.data) // L.BSIZE}")

    # -- blocks and inodes ------------------------------------------------

    def block(self, blockno: int) -> bytes:
        return self.data[blockno * L.BSIZE:(blockno + 1) * L.BSIZE]

    def inode(self, inum: int) -> L.Dinode:
        if not 0 < inum < self.superblock.ninodes:
            raise UserError(f"{self.name}: inode {inum} is out of range")
        off = self.superblock.inode_block(inum) * L.BSIZE + (inum % L.IPB) * L.DINODE_SIZE
        return L.Dinode.unpack(self.data, off)

    def block_list(self, din: L.Dinode) -> list[int]:
        """The disk blocks holding the inode's contents, in file order."""
        nblocks = (din.size + L.BSIZE - 1) // L.BSIZE
        blocks = list(din.addrs[:L.NDIRECT])
        if nblocks > L.NDIRECT:
            table = self.block(din.addrs[L.NDIRECT])
            blocks += [int.from_bytes(table[4 * i:4 * i + 4], "little") for i in range(L.NINDIRECT)]
        return blocks[:nblocks]

    def inode_data(self, inum: int) -> bytes:
        din = self.inode(inum)
        # A block address of 0 would be a hole; xv6 never makes holes, so read it as zeros.
        raw = b"".join(self.block(b) if b else bytes(L.BSIZE) for b in self.block_list(din))
        return raw[:din.size]

    # -- directories and paths ---------------------------------------------

    def entries(self, inum: int) -> list[tuple[str, int]]:
        """(name, inum) of every used entry of directory `inum`, "." and ".." included."""
        content = self.inode_data(inum)
        found = []
        for off in range(0, len(content) - L.DIRENT_SIZE + 1, L.DIRENT_SIZE):
            child, name = L.unpack_dirent(content, off)
            if child:
                found.append((name.decode(errors="replace"), child))
        return found

    def lookup(self, path: str) -> int:
        """The inode number of `path` (absolute or relative to /)."""
        inum = L.ROOTINO
        for part in (p for p in path.split("/") if p):
            if self.inode(inum).type != L.T_DIR:
                raise UserError(f"{self.name}: {path}: not a directory on the way")
            match = [child for name, child in self.entries(inum) if name == part]
            if not match:
                raise UserError(f"{self.name}: {path}: no such file")
            inum = match[0]
        return inum

    def stat(self, path: str) -> Stat:
        inum = self.lookup(path)
        din = self.inode(inum)
        return Stat(inum, din.type, din.nlink, din.size, din.major, din.minor)

    def listdir(self, path: str = "/") -> list[str]:
        inum = self.lookup(path)
        if self.inode(inum).type != L.T_DIR:
            raise UserError(f"{self.name}: {path} is not a directory")
        return [name for name, _ in self.entries(inum) if name not in (".", "..")]

    def read_file(self, path: str) -> bytes:
        inum = self.lookup(path)
        if self.inode(inum).type == L.T_DIR:
            raise UserError(f"{self.name}: {path} is a directory")
        return self.inode_data(inum)

    def walk(self, path: str = "/"):
        """Yield (path, Stat) for `path` and everything below it, depth first."""
        st = self.stat(path)
        yield path, st
        if st.type == L.T_DIR:
            for name in sorted(self.listdir(path)):
                yield from self.walk(path.rstrip("/") + "/" + name)

    # -- consistency ------------------------------------------------------

    def fsck(self) -> list[str]:
        """Problems found in the image: [] means consistent.

        Checks that every block an inode uses is a data block marked in the
        bitmap and used only once, that every marked data block is used,
        that directories' link counts add up, and that every linked inode
        is allocated.
        """
        from rvtrace.fs.fsck import check   # separate module: one idea each
        return check(self)
