import pytest

from rvtrace.guest import build


@pytest.fixture(scope="session")
def guest() -> build.GuestBuild:
    """The bundled guest, built (or found in the cache) once per test session."""
    return build.build_all()
