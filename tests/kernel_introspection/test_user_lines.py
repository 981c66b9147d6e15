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


def lines_of_main(img):
    """(file, line) for every 2-byte step through main, where DWARF has one."""
    start, size = img.symbols["main"]
    return [p for p in (img.source_line(pc) for pc in range(start, start + size, 2)) if p]


def test_every_pc_of_main_maps_to_the_program_source(forkexec_image):
    files = {f.rsplit("/", 1)[-1] for f, _ in lines_of_main(forkexec_image)}
    assert files == {"forkexec.c"}


def test_the_exec_call_has_its_line(forkexec_image):
    found = lines_of_main(forkexec_image)
    text = open(found[0][0]).read().splitlines()
    exec_lines = {i + 1 for i, line in enumerate(text) if "exec(" in line}
    assert exec_lines & {line for _, line in found}
