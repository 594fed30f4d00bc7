"""Shared test configuration.

Tests that need something outside Python (the real images in ../shared/data, a PostgreSQL
server, headless Chromium, a GPU) use the `needs` fixture: on a developer's machine a missing piece
skips the test with the reason; under CI (FACEKIT_REQUIRE_ALL=1, set by .ci/run) it fails,
so a missing install step can never hide behind a skip. GPU tests always skip without a GPU.
"""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def require(available: bool, reason: str) -> None:
    """Skip (or, under FACEKIT_REQUIRE_ALL=1, fail) the calling test when `available` is false."""
    if available:
        return
    if os.environ.get("FACEKIT_REQUIRE_ALL") == "1":
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real face images beside the checkout (../shared/data)."""
    require(SHARED_DATA.is_dir(), f"real face images not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def needs():
    """The `require(available, reason)` check, as a fixture so any test module can use it."""
    return require
