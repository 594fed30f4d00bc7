"""Fixtures for the batch tests: the released handout and notebooks built from it."""

from pathlib import Path

import nbformat
import pytest

from facekit.paths import HANDOUT_NOTEBOOK, SOLUTION_NOTEBOOK


@pytest.fixture(scope="session")
def handout_text() -> str:
    """The student handout (stubs only): the committed one, else built from the source."""
    if HANDOUT_NOTEBOOK.is_file():
        return HANDOUT_NOTEBOOK.read_text(encoding="utf-8")
    from facekit.release import build_handout

    return build_handout(SOLUTION_NOTEBOOK)


@pytest.fixture(scope="session")
def handout_with_cell(handout_text: str):
    """`handout_with_cell(code, path)` writes the handout plus one more `export` cell (a
    student's addition) holding `code` to `path`."""

    def write(code: str, path: Path) -> Path:
        notebook = nbformat.reads(handout_text, as_version=4)
        notebook.cells.append(nbformat.v4.new_code_cell(code, metadata={"tags": ["export"]}))
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, path)
        return path

    return write


@pytest.fixture(scope="session")
def judge_available() -> None:
    """Skip, saying why, until the judge's `grade_notebook` exists."""
    try:
        from autograder.judge import grade_notebook  # noqa: F401
    except ImportError as error:
        pytest.skip(f"autograder.judge.grade_notebook is not available yet: {error}")
