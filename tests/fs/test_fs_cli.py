"""`python -m rvtrace.fs`: look inside an image from the shell."""

from __future__ import annotations

from rvtrace.fs.__main__ import main
from rvtrace.fs.mkfs import make_image


def test_ls_cat_tree_super_fsck(tmp_path, capsys):
    img = str(make_image(tmp_path / "fs.img", {"README": b"hello\n", "d/x": b"12345"}))

    assert main(["ls", img]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in lines] == [
        [".", "dir", "1"], ["..", "dir", "1"], ["README", "file", "2"], ["d", "dir", "3"]]

    assert main(["cat", img, "/README"]) == 0
    assert capsys.readouterr().out == "hello\n"

    assert main(["tree", img]) == 0
    assert capsys.readouterr().out.split() == ["dir", "64", "/", "file", "6", "/README",
                                               "dir", "48", "/d", "file", "5", "/d/x"]

    assert main(["super", img]) == 0
    assert "magic      0x10203040" in capsys.readouterr().out

    assert main(["fsck", img]) == 0
    assert "clean" in capsys.readouterr().out


def test_errors_are_one_line(tmp_path, capsys):
    img = str(make_image(tmp_path / "fs.img", {}))
    assert main(["cat", img, "/missing"]) == 2
    assert capsys.readouterr().err.strip().endswith("/missing: no such file")
    assert main(["ls", str(tmp_path / "nothing.img")]) == 2
    assert "cannot read disk image" in capsys.readouterr().err
    assert main(["frobnicate", img]) == 2
    assert "python -m rvtrace.fs ls IMG" in capsys.readouterr().err
