"""Source lines in user programs, which are linked at address 0.

The linker's garbage collection leaves line rows of discarded functions at
address 0, overlapping the real code there: a lookup must pick the right
compilation unit first, or `main` of forkexec reads as string.c.
"""

import pytest

from rvtrace.kernel.image import KernelImage


@pytest.fixture(scope="module")
def forkexec_image():
    from rvtrace.guest.build import build_program
    return KernelImage(build_program("forkexec"))


def test_every_pc_of_main_maps_to_the_program_source(forkexec_image):
    img = forkexec_image
    start, size = img.symbols["main"]
    files = {img.source_line(pc)[0].rsplit("/", 1)[-1]
             for pc in range(start, start + size, 2) if img.source_line(pc)}
    assert files == {"forkexec.c"}


def test_the_exec_call_has_its_line(forkexec_image):
    img = forkexec_image
    start, size = img.symbols["main"]
    source = next(p for p in (img.source_line(pc) for pc in range(start, start + size, 2)) if p)
    lines = open(source[0]).read().splitlines()
    exec_lines = {i + 1 for i, text in enumerate(lines) if "exec(" in text}
    seen = {img.source_line(pc)[1] for pc in range(start, start + size, 2) if img.source_line(pc)}
    assert exec_lines & seen
