"""mkfs writes xv6's on-disk format; image.py reads it back."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings, strategies as st

from rvtrace.errors import UserError
from rvtrace.fs import layout as L
from rvtrace.fs.image import DiskImage
from rvtrace.fs.mkfs import build_image, main, make_image


def image_of(files, **kw) -> DiskImage:
    return DiskImage(build_image(files, **kw))


# -- xv6 format facts, written as raw numbers on purpose (not taken from layout.py) --

def test_default_superblock_matches_xv6_mkfs():
    raw = build_image({})
    assert len(raw) == 2000 * 1024
    magic, size, nblocks, ninodes, nlog, logstart, inodestart, bmapstart = \
        struct.unpack_from("<8I", raw, 1024)
    assert magic == 0x10203040
    assert (size, nblocks, ninodes, nlog) == (2000, 1954, 200, 30)
    assert (logstart, inodestart, bmapstart) == (2, 32, 45)


def test_root_inode_and_its_directory_on_raw_bytes():
    raw = build_image({"a": b"hello"})
    # inode 1 is the second 64-byte dinode of the first inode block (32)
    typ, major, minor, nlink, size = struct.unpack_from("<4hI", raw, 32 * 1024 + 64)
    assert (typ, nlink, size) == (1, 1, 3 * 16)       # dir: ".", "..", "a"
    first_data = struct.unpack_from("<I", raw, 32 * 1024 + 64 + 12)[0]
    assert first_data == 46                             # first block after the metadata
    entries = [struct.unpack_from("<H14s", raw, 46 * 1024 + 16 * i) for i in range(3)]
    assert entries == [(1, b".".ljust(14, b"\0")), (1, b"..".ljust(14, b"\0")),
                       (2, b"a".ljust(14, b"\0"))]
    # the file "a": inode 2, type file, 5 bytes in block 47
    typ, _, _, nlink, size = struct.unpack_from("<4hI", raw, 32 * 1024 + 128)
    assert (typ, nlink, size) == (2, 1, 5)
    assert raw[47 * 1024:47 * 1024 + 5] == b"hello"


def test_bitmap_marks_exactly_the_used_blocks():
    raw = build_image({"a": b"x" * 3000})            # 3 data blocks + root dir block
    bitmap = raw[45 * 1024:46 * 1024]
    used = [b for b in range(2000) if bitmap[b // 8] >> (b % 8) & 1]
    assert used == list(range(46 + 4))


def test_layout_constants():
    assert (L.BSIZE, L.NDIRECT, L.NINDIRECT, L.MAXFILE) == (1024, 12, 256, 268)
    assert (L.DINODE_SIZE, L.DIRENT_SIZE, L.IPB, L.DIRSIZ) == (64, 16, 16, 14)
    assert (L.T_DIR, L.T_FILE, L.T_DEVICE, L.ROOTINO) == (1, 2, 3, 1)


def test_options_change_the_layout():
    sb = image_of({}, total_blocks=10000, ninodes=1000, nlog=60).superblock
    assert (sb.size, sb.ninodes, sb.nlog) == (10000, 1000, 60)
    assert sb.inodestart == 62 and sb.bmapstart == 62 + 1000 // 16 + 1
    assert sb.nblocks == 10000 - (sb.bmapstart + 2)   # 10000 blocks need 2 bitmap blocks


# -- round trips --

SIZES = [0, 1, 1023, 1024, 1025, 12 * 1024, 12 * 1024 + 1, 100_000, 268 * 1024]


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_sizes_across_the_indirect_block(size):
    data = bytes((i * 7 + size) % 251 for i in range(size))
    img = image_of({"f": data})
    assert img.read_file("/f") == data
    st_ = img.stat("/f")
    assert (st_.type, st_.size, st_.nlink) == (L.T_FILE, size, 1)
    uses_indirect = size > 12 * 1024
    assert (img.inode(st_.inum).addrs[12] != 0) == uses_indirect
    assert img.fsck() == []


def test_listing_stat_and_subdirectories(tmp_path):
    path = make_image(tmp_path / "fs.img", {"README": b"read me\n", "echo": b"\x7fELF",
                                            "docs/intro": b"hi", "docs/more/x": b"y"})
    img = DiskImage(path)
    assert sorted(img.listdir()) == ["README", "docs", "echo"]
    assert img.listdir("/docs") == ["intro", "more"]
    assert img.read_file("docs/more/x") == b"y"
    assert img.stat("/").inum == 1 and img.stat("/").type_name == "dir"
    assert img.stat("/docs").nlink == 2        # its entry in / and the ".." of docs/more
    assert dict(img.entries(img.stat("/docs/more").inum))[".."] == img.stat("/docs").inum
    assert img.fsck() == []
    assert [p for p, _ in img.walk()] == ["/", "/README", "/docs", "/docs/intro", "/docs/more",
                                          "/docs/more/x", "/echo"]


def test_same_input_same_bytes():
    files = {"b": b"2" * 5000, "a": b"1"}
    assert build_image(files) == build_image(dict(reversed(list(files.items()))))


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.text("abcdefgh_.0123", min_size=1, max_size=14).filter(lambda n: n not in (".", "..")),
                       st.binary(max_size=20_000), max_size=12))
def test_round_trip_property(files):
    img = image_of(files)
    assert sorted(img.listdir()) == sorted(files)
    for name, data in files.items():
        assert img.read_file(name) == data
    assert img.fsck() == []


# -- errors people can act on --

@pytest.mark.parametrize("files, words", [
    ({"x" * 15: b""}, "longer than"),
    ({"big": bytes(268 * 1024 + 1)}, "maximum file size"),
    ({"": b""}, "bad file name"),
    ({"a": b"", "a/b": b""}, "both a file and a directory"),
])
def test_bad_inputs(files, words):
    with pytest.raises(UserError, match=words):
        build_image(files)


def test_out_of_inodes_and_blocks():
    with pytest.raises(UserError, match="inodes"):
        build_image({f"f{i}": b"" for i in range(10)}, ninodes=10)
    with pytest.raises(UserError, match="do not fit"):
        build_image({"f": bytes(200 * 1024)}, total_blocks=200)


def test_reader_rejects_what_is_not_an_image(tmp_path):
    junk = tmp_path / "junk.img"
    junk.write_bytes(bytes(4096))
    with pytest.raises(UserError, match="not an xv6 file system"):
        DiskImage(junk)
    with pytest.raises(UserError, match="cannot read"):
        DiskImage(tmp_path / "missing.img")
    img = image_of({"a": b""})
    with pytest.raises(UserError, match="no such file"):
        img.read_file("/nope")


def test_fsck_finds_damage():
    raw = bytearray(build_image({"a": b"x" * 2000}))
    raw[45 * 1024 + 47 // 8] &= ~(1 << (47 % 8))            # free a block "a" uses
    struct.pack_into("<h", raw, 32 * 1024 + 128 + 6, 3)    # "a" claims 3 links
    problems = DiskImage(bytes(raw)).fsck()
    assert any("block 47 is in use but free" in p for p in problems)
    assert any("inode 2: nlink 3, but 1 links found" in p for p in problems)


def test_command_line(tmp_path, capsys):
    (tmp_path / "hello").write_bytes(b"hello\n")
    assert main([str(tmp_path / "o.img"), str(tmp_path / "hello")]) == 0
    assert DiskImage(tmp_path / "o.img").read_file("hello") == b"hello\n"
    assert main([str(tmp_path / "o.img"), str(tmp_path / "missing")]) == 1
    assert "missing" in capsys.readouterr().err
