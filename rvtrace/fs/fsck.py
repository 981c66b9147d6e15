"""A consistency check of an xv6 image (used through DiskImage.fsck()).

After the kernel has written to a disk, this says whether what it left
behind is a well-formed file system: the same facts a student would check by
hand with a hex dump, but for every block and inode.

Link counts follow xv6's rules: a file's nlink counts the directory entries
naming it; a directory's counts the entry in its parent plus the ".." of each
subdirectory ("." is not counted); the root has 1 for itself.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rvtrace.fs import layout as L

if TYPE_CHECKING:
    from rvtrace.fs.image import DiskImage


def _bitmap_marked(img: "DiskImage", blockno: int) -> bool:
    byte = img.block(img.superblock.bitmap_block(blockno))[(blockno % L.BPB) // 8]
    return bool(byte >> (blockno % 8) & 1)


def _blocks_owned(img: "DiskImage", din: L.Dinode) -> list[int]:
    """Every block an inode holds: direct, the indirect table and its entries."""
    owned = [b for b in din.addrs[:L.NDIRECT] if b]
    if din.addrs[L.NDIRECT]:
        owned.append(din.addrs[L.NDIRECT])
        table = img.block(din.addrs[L.NDIRECT])
        owned += [b for b in (int.from_bytes(table[4 * i:4 * i + 4], "little")
                              for i in range(L.NINDIRECT)) if b]
    return owned


def _check_blocks(img: "DiskImage", inodes: dict[int, L.Dinode]) -> list[str]:
    sb = img.superblock
    problems = []
    owner: dict[int, int] = {}
    for inum, din in inodes.items():
        if din.size > L.MAXFILE * L.BSIZE:
            problems.append(f"inode {inum}: size {din.size} exceeds the largest xv6 file")
        for b in _blocks_owned(img, din):
            if not sb.datastart <= b < sb.size:
                problems.append(f"inode {inum}: block {b} is outside the data area")
            elif b in owner:
                problems.append(f"block {b} is used by inodes {owner[b]} and {inum}")
            else:
                owner[b] = inum
                if not _bitmap_marked(img, b):
                    problems.append(f"inode {inum}: block {b} is in use but free in the bitmap")
    for b in range(sb.datastart):
        if not _bitmap_marked(img, b):
            problems.append(f"metadata block {b} is not marked in the bitmap")
    for b in range(sb.datastart, sb.size):
        if b not in owner and _bitmap_marked(img, b):
            problems.append(f"block {b} is marked in the bitmap but used by no inode")
    return problems


def _check_tree(img: "DiskImage", inodes: dict[int, L.Dinode]) -> list[str]:
    problems = []
    links: Counter[int] = Counter({L.ROOTINO: 1})
    seen: set[int] = set()
    todo = [(L.ROOTINO, L.ROOTINO)]           # (directory, its parent)
    while todo:
        dir_inum, parent = todo.pop()
        if dir_inum in seen:
            problems.append(f"directory inode {dir_inum} is reachable twice")
            continue
        seen.add(dir_inum)
        names = dict(img.entries(dir_inum))
        if names.get(".") != dir_inum:
            problems.append(f"directory inode {dir_inum}: '.' is {names.get('.')}")
        if names.get("..") != parent:
            problems.append(f"directory inode {dir_inum}: '..' is {names.get('..')}, expected {parent}")
        for name, child in img.entries(dir_inum):
            if name == ".":
                continue
            if name == "..":
                if dir_inum != L.ROOTINO:
                    links[child] += 1
                continue
            if child not in inodes:
                problems.append(f"directory inode {dir_inum}: {name!r} names free inode {child}")
                continue
            links[child] += 1
            if inodes[child].type == L.T_DIR:
                todo.append((child, dir_inum))
            else:
                seen.add(child)
    for inum, din in inodes.items():
        if inum not in seen:
            problems.append(f"inode {inum} is allocated but not in any directory")
        elif din.nlink != links[inum]:
            problems.append(f"inode {inum}: nlink {din.nlink}, but {links[inum]} links found")
    return problems


def check(img: "DiskImage") -> list[str]:
    inodes = {}
    for inum in range(1, img.superblock.ninodes):
        din = img.inode(inum)
        if din.type not in (0, L.T_DIR, L.T_FILE, L.T_DEVICE):
            return [f"inode {inum} has unknown type {din.type}"]
        if din.type:
            inodes[inum] = din
    if inodes.get(L.ROOTINO) is None or inodes[L.ROOTINO].type != L.T_DIR:
        return ["inode 1 (the root) is not a directory"]
    return _check_blocks(img, inodes) + _check_tree(img, inodes)
