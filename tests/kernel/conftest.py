import pytest

from rvtrace.errors import UserError
from rvtrace.guest import build


@pytest.fixture(scope="session")
def guest() -> build.GuestBuild:
    """Kernel, programs and disk image, built (or found in the cache) once."""
    try:
        return build.build_all()
    except UserError as exc:   # say why instead of a wall of errors per test
        pytest.fail(f"the bundled guest does not build: {exc}")


@pytest.fixture(scope="session")
def kernel_src():
    return build.KERNEL_SRC
