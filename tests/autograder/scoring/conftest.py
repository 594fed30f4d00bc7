"""Fixtures for the scoring tests: the tiny answer keys and golden-file comparison.

Golden files live in `goldens/`; refresh them with FACEKIT_UPDATE_GOLDENS=1 (then review the
diff before committing).
"""

import os
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
GOLDENS = HERE / "goldens"


@pytest.fixture
def keys_dir() -> Path:
    """Keys for 6 classification ids (alice, bob, carol) and 8 verification pairs p1..p8."""
    return HERE / "keys"


@pytest.fixture
def bad_submissions() -> Path:
    """The corpus of defective submission CSVs, one defect per file."""
    return HERE / "bad_submissions"


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """`golden(name, text)`: assert `text` equals goldens/<name> (or rewrite it when asked)."""

    def check(name: str, text: str) -> None:
        path = GOLDENS / name
        if os.environ.get("FACEKIT_UPDATE_GOLDENS") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="")
            return
        assert path.exists(), f"missing golden {path}: run with FACEKIT_UPDATE_GOLDENS=1"
        expected = path.read_bytes().decode("utf-8")
        assert text == expected, f"{name} differs from its golden file:\n{text}"

    return check
