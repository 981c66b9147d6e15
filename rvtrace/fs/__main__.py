"""Look inside an xv6 disk image from the shell.

    python -m rvtrace.fs ls IMG [PATH]      list a directory (like the guest's ls)
    python -m rvtrace.fs cat IMG PATH       print a file's bytes
    python -m rvtrace.fs tree IMG           every path with its type and size
    python -m rvtrace.fs fsck IMG           check consistency; exit 1 on problems
    python -m rvtrace.fs super IMG          the superblock's fields
"""

from __future__ import annotations

import sys

from rvtrace.errors import UserError
from rvtrace.fs.image import DiskImage

USAGE = __doc__.strip().split("\n\n", 1)[1]


def _ls(img: DiskImage, path: str = "/") -> None:
    st = img.stat(path)
    if st.type_name != "dir":
        print(f"{path:14} {st.type_name:6} {st.inum:4} {st.size}")
        return
    for name, inum in img.entries(st.inum):
        child = img.inode(inum)
        print(f"{name:14} {img.stat(path.rstrip('/') + '/' + name).type_name:6} {inum:4} {child.size}")


def _tree(img: DiskImage) -> None:
    for path, st in img.walk():
        print(f"{st.type_name:6} {st.size:8}  {path}")


def _fsck(img: DiskImage) -> int:
    problems = img.fsck()
    for p in problems:
        print(p)
    if not problems:
        print(f"{img.name}: clean")
    return 1 if problems else 0


def _super(img: DiskImage) -> None:
    for field, value in vars(img.superblock).items():
        print(f"{field:10} {value:#x}" if field == "magic" else f"{field:10} {value}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2 or args[0] not in ("ls", "cat", "tree", "fsck", "super"):
        print(USAGE, file=sys.stderr)
        return 2
    cmd, rest = args[0], args[1:]
    try:
        img = DiskImage(rest[0])
        if cmd == "ls":
            _ls(img, *rest[1:2])
        elif cmd == "cat":
            if len(rest) < 2:
                raise UserError("cat needs a path inside the image")
            sys.stdout.buffer.write(img.read_file(rest[1]))
        elif cmd == "tree":
            _tree(img)
        elif cmd == "super":
            _super(img)
        else:
            return _fsck(img)
    except UserError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
