"""Introspection of the bundled kernel (kernel_src/), once it builds."""

import pytest

from rvtrace.errors import UserError
from rvtrace.kernel import KernelImage, ProcessView


@pytest.fixture(scope="module")
def kernel():
    from rvtrace.guest.build import build_kernel
    try:
        return KernelImage(build_kernel())
    except UserError as exc:
        pytest.skip(f"the bundled kernel does not build yet: {str(exc).strip().splitlines()[-1]}")


@pytest.mark.slow
def test_bundled_kernel_follows_the_conventions(kernel):
    proc, cpu = kernel.struct("proc"), kernel.struct("cpu")
    assert proc is not None and cpu is not None
    assert {"pid", "state", "name", "chan", "parent"} <= set(proc.members)
    assert cpu.offset("proc") == 0 and proc.members["name"].size == 16
    assert list(kernel.enum("procstate").values())[:6] == ["UNUSED", "USED", "SLEEPING", "RUNNABLE",
                                                           "RUNNING", "ZOMBIE"]
    assert kernel.size_of_symbol("cpus") == 8 * cpu.size
    for fn in ("swtch", "sleep", "sched", "exec"):
        assert kernel.function_at(kernel.address_of(fn)) == (fn, 0)
    file, _ = kernel.source_line(kernel.address_of("sleep") + 4)
    assert file.endswith("proc.c")


@pytest.mark.slow
def test_process_view_on_an_idle_memory(kernel):
    zeros = lambda addr, size: bytes(size)
    view = ProcessView(kernel, zeros)
    assert view.available, view.reason
    assert [view.current_pid(h) for h in range(8)] == [0] * 8
    assert view.processes() == []
