"""Shared pieces of the file-system tests: the bundled guest and fsstress."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def guest():
    """The bundled kernel, programs and disk image (built on demand, cached)."""
    from rvtrace.guest import build
    return build.build_all()


@pytest.fixture(scope="module")
def fsstress(tmp_path_factory) -> Path:
    """tests/fs/guest/fsstress.c, linked with the user library like any program."""
    from rvtrace.guest import build, toolchain
    out = tmp_path_factory.mktemp("fsstress") / "fsstress.elf"
    source = Path(__file__).parent / "guest" / "fsstress.c"
    return toolchain.compile_elf([source] + build.user_lib_sources(), out, build.USER_SRC / "user.ld",
                                 include_dirs=[build.USER_SRC, build.KERNEL_SRC])
