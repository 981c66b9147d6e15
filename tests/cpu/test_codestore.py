"""The on-disk store of compiled block code."""

from rvtrace.cpu import codestore


def test_compiled_code_is_stored_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("RVTRACE_CODE_CACHE", str(tmp_path))
    monkeypatch.setattr(codestore, "_dir", False)
    src = "def f(a):\n    return a + 41\n"
    code = codestore.compile_cached(src, "<t>")
    files = list(tmp_path.rglob("*.code"))
    assert len(files) == 1
    scope = {}
    exec(codestore.compile_cached(src, "<t>"), scope)       # now read back from disk
    assert scope["f"](1) == 42
    files[0].write_bytes(b"garbage")                         # a broken file is recompiled
    exec(codestore.compile_cached(src, "<t>"), scope)
    assert scope["f"](2) == 43 and code.co_filename == "<t>"


def test_off_switch(tmp_path, monkeypatch):
    monkeypatch.setenv("RVTRACE_CODE_CACHE", "off")
    monkeypatch.setattr(codestore, "_dir", False)
    codestore.compile_cached("x = 1\n", "<t>")
    assert codestore._cache_dir() is None
    monkeypatch.setattr(codestore, "_dir", False)            # let later tests look again
