"""Fixtures for the reference-solution tests."""

from types import ModuleType

import pytest

from facekit.reference import load_reference


@pytest.fixture(scope="session")
def reference() -> ModuleType:
    """The reference module extracted from solutions/hw2p2_source.ipynb."""
    return load_reference()
