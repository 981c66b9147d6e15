"""mkfs: pack files into an xv6-format disk image.

    make_image("fs.img", {"init": init_elf, "README": b"hello\\n"})

builds the whole image in memory -- boot block, superblock, an empty log,
inodes, bitmap, data -- and then writes it under a temporary name and renames
it, so two builds racing for the same path never leave a half-written image.

Names may contain "/" ("docs/intro.txt"): the directories on the way are
created. The root directory is inode 1 and, like every directory, starts with
"." and "..". Blocks and inodes are handed out in increasing order, the way
xv6's own mkfs does, so an image is a pure function of its inputs.

Command line: `python -m rvtrace.fs.mkfs OUT.img FILE...` (each FILE is put in
the root directory under its base name).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Mapping

from rvtrace.errors import UserError
from rvtrace.fs import layout as L


class ImageBuilder:
    """An xv6 file system being filled in memory."""

    def __init__(self, total_blocks: int, ninodes: int, nlog: int):
        if ninodes < 2 or ninodes > 0xFFFF:
            raise UserError(f"mkfs: {ninodes} inodes is not usable (need 2..65535)")
        self.sb = L.plan_layout(total_blocks, ninodes, nlog)
        if self.sb.nblocks < 1:
            raise UserError(f"mkfs: {total_blocks} blocks leave no room for data; use more blocks")
        self.disk = bytearray(total_blocks * L.BSIZE)
        self.next_inum = L.ROOTINO     # inode 0 is never used
        self.next_block = self.sb.datastart
        self._put_block(1, self.sb.pack())
        self.root = self._new_dir(parent=None)
        assert self.root == L.ROOTINO

    # -- raw blocks -------------------------------------------------------

    def _put_block(self, blockno: int, data: bytes) -> None:
        assert len(data) <= L.BSIZE
        start = blockno * L.BSIZE
        self.disk[start:start + L.BSIZE] = data.ljust(L.BSIZE, b"\0")

    def _block(self, blockno: int) -> bytes:
        return bytes(self.disk[blockno * L.BSIZE:(blockno + 1) * L.BSIZE])

    def _alloc_block(self) -> int:
        if self.next_block >= self.sb.size:
            raise UserError(f"mkfs: the files do not fit in {self.sb.size} blocks; "
                            "pass a larger total_blocks")
        self.next_block += 1
        return self.next_block - 1

    # -- inodes -----------------------------------------------------------

    def _inode_offset(self, inum: int) -> int:
        return self.sb.inode_block(inum) * L.BSIZE + (inum % L.IPB) * L.DINODE_SIZE

    def read_inode(self, inum: int) -> L.Dinode:
        return L.Dinode.unpack(self.disk, self._inode_offset(inum))

    def write_inode(self, inum: int, din: L.Dinode) -> None:
        off = self._inode_offset(inum)
        self.disk[off:off + L.DINODE_SIZE] = din.pack()

    def _alloc_inode(self, itype: int) -> int:
        if self.next_inum >= self.sb.ninodes:
            raise UserError(f"mkfs: more files than the {self.sb.ninodes} inodes; pass a larger ninodes")
        inum = self.next_inum
        self.next_inum += 1
        self.write_inode(inum, L.Dinode(type=itype, nlink=1))
        return inum

    def _block_of(self, din: L.Dinode, index: int) -> int:
        """The disk block holding file block `index`, allocating it if needed."""
        if index < L.NDIRECT:
            if din.addrs[index] == 0:
                din.addrs[index] = self._alloc_block()
            return din.addrs[index]
        index -= L.NDIRECT
        if index >= L.NINDIRECT:
            raise AssertionError("add_file checks the size first")
        if din.addrs[L.NDIRECT] == 0:
            din.addrs[L.NDIRECT] = self._alloc_block()
        table = bytearray(self._block(din.addrs[L.NDIRECT]))
        entry = int.from_bytes(table[4 * index:4 * index + 4], "little")
        if entry == 0:
            entry = self._alloc_block()
            table[4 * index:4 * index + 4] = entry.to_bytes(4, "little")
            self._put_block(din.addrs[L.NDIRECT], bytes(table))
        return entry

    def append(self, inum: int, data: bytes) -> None:
        """Add `data` at the end of inode `inum`."""
        din = self.read_inode(inum)
        pos = 0
        while pos < len(data):
            index, within = divmod(din.size, L.BSIZE)
            blockno = self._block_of(din, index)
            chunk = data[pos:pos + L.BSIZE - within]
            block = bytearray(self._block(blockno))
            block[within:within + len(chunk)] = chunk
            self._put_block(blockno, bytes(block))
            din.size += len(chunk)
            pos += len(chunk)
        self.write_inode(inum, din)

    # -- directories ------------------------------------------------------

    def _new_dir(self, parent: int | None) -> int:
        inum = self._alloc_inode(L.T_DIR)
        self.append(inum, L.pack_dirent(inum, b"."))
        self.append(inum, L.pack_dirent(parent or inum, b".."))
        return inum

    def _entries(self, dir_inum: int) -> dict[bytes, int]:
        din = self.read_inode(dir_inum)
        content = b"".join(self._block(self._block_of(din, i))
                           for i in range((din.size + L.BSIZE - 1) // L.BSIZE))[:din.size]
        found = {}
        for off in range(0, len(content), L.DIRENT_SIZE):
            inum, name = L.unpack_dirent(content, off)
            if inum:
                found[name] = inum
        return found

    def _link(self, dir_inum: int, name: bytes, inum: int) -> None:
        self.append(dir_inum, L.pack_dirent(inum, name))

    def _subdir(self, dir_inum: int, name: bytes) -> int:
        existing = self._entries(dir_inum).get(name)
        if existing is not None:
            if self.read_inode(existing).type != L.T_DIR:
                raise UserError(f"mkfs: {name.decode()!r} is both a file and a directory")
            return existing
        child = self._new_dir(parent=dir_inum)
        self._link(dir_inum, name, child)
        parent = self.read_inode(dir_inum)     # the child's ".." links to us
        parent.nlink += 1
        self.write_inode(dir_inum, parent)
        return child

    def add_file(self, path: str, data: bytes) -> int:
        """Create the regular file `path` (relative to /) holding `data`."""
        parts = [_check_name(p, path) for p in path.strip("/").split("/")]
        if len(data) > L.MAXFILE * L.BSIZE:
            raise UserError(f"mkfs: {path!r} has {len(data)} bytes, more than xv6's "
                            f"maximum file size of {L.MAXFILE * L.BSIZE}")
        dir_inum = self.root
        for part in parts[:-1]:
            dir_inum = self._subdir(dir_inum, part)
        if parts[-1] in self._entries(dir_inum):
            raise UserError(f"mkfs: {path!r} is given twice")
        inum = self._alloc_inode(L.T_FILE)
        self._link(dir_inum, parts[-1], inum)
        self.append(inum, bytes(data))
        return inum

    # -- finishing --------------------------------------------------------

    def finish(self) -> bytes:
        """Mark every block handed out so far as used and return the image."""
        used = self.next_block         # blocks [0, used) are metadata or allocated
        for blockno in range(0, used):
            bit = blockno % L.BPB
            at = self.sb.bitmap_block(blockno) * L.BSIZE + bit // 8
            self.disk[at] |= 1 << (bit % 8)
        return bytes(self.disk)


def _check_name(part: str, whole: str) -> bytes:
    raw = part.encode()
    if not raw or part in (".", ".."):
        raise UserError(f"mkfs: bad file name {whole!r}")
    if len(raw) > L.DIRSIZ:
        raise UserError(f"mkfs: name {part!r} is longer than xv6's {L.DIRSIZ} bytes")
    if b"\0" in raw:
        raise UserError(f"mkfs: name {whole!r} contains a NUL byte")
    return raw


def build_image(files: Mapping[str, bytes], *, total_blocks: int = L.DEFAULT_TOTAL_BLOCKS,
                ninodes: int = L.DEFAULT_NINODES, nlog: int = L.DEFAULT_NLOG) -> bytes:
    """The bytes of an image holding `files` (sorted by name, for determinism)."""
    builder = ImageBuilder(total_blocks, ninodes, nlog)
    for name in sorted(files):
        builder.add_file(name, files[name])
    return builder.finish()


def make_image(path: str | os.PathLike, files: Mapping[str, bytes], *,
               total_blocks: int = L.DEFAULT_TOTAL_BLOCKS, ninodes: int = L.DEFAULT_NINODES,
               nlog: int = L.DEFAULT_NLOG) -> Path:
    """Write an xv6 file system image holding `files` to `path` (atomically)."""
    image = build_image(files, total_blocks=total_blocks, ninodes=ninodes, nlog=nlog)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(image)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 1:
        print("usage: python -m rvtrace.fs.mkfs OUT.img [FILE...]", file=sys.stderr)
        return 2
    try:
        files = {Path(f).name: Path(f).read_bytes() for f in args[1:]}
        print(make_image(args[0], files))
    except OSError as exc:
        print(f"mkfs: {exc}", file=sys.stderr)
        return 1
    except UserError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
