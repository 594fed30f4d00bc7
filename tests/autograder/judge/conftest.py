"""Fixtures for the judge's tests: the source notebook, edited copies of it, and grading."""

import copy
import functools
from collections.abc import Sequence
from pathlib import Path

import nbformat
import pytest

from autograder.judge.rubric import load_rubric
from facekit.base.paths import HANDOUT_NOTEBOOK, SOLUTION_NOTEBOOK
from facekit.notebook.extract import read_notebook

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@functools.cache
def _read_source() -> nbformat.NotebookNode:
    return read_notebook(SOLUTION_NOTEBOOK)


@pytest.fixture
def source_notebook(needs) -> nbformat.NotebookNode:
    """The reference notebook (solutions/hw2p2_source.ipynb); treat it as read-only."""
    needs(SOLUTION_NOTEBOOK.is_file(), f"source notebook not found at {SOLUTION_NOTEBOOK}")
    return _read_source()


@pytest.fixture(scope="session")
def max_points() -> dict[str, float]:
    return {component.id: component.max_points for component in load_rubric().components}


def _graded_cell(notebook: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    """The (single) code cell with this nbgrader grade_id."""
    cells = [
        cell
        for cell in notebook.cells
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id
    ]
    assert len(cells) == 1, f"expected one cell {grade_id!r}, found {len(cells)}"
    return cells[0]


def _edit_cell(
    notebook: nbformat.NotebookNode, grade_id: str, edits: Sequence[tuple[str, str]]
) -> None:
    """Apply (old, new) text replacements to one graded cell; each `old` must occur once."""
    cell = _graded_cell(notebook, grade_id)
    for old, new in edits:
        count = cell.source.count(old)
        assert count == 1, f"{grade_id}: {old!r} occurs {count} times, expected once"
        cell.source = cell.source.replace(old, new)


def _replace_forward_body(notebook: nbformat.NotebookNode, grade_id: str, body: str) -> None:
    """Replace the LAST solution region of a graded cell (its forward) with `body`."""
    cell = _graded_cell(notebook, grade_id)
    start = cell.source.rindex(BEGIN) + len(BEGIN)
    end = cell.source.rindex(END)
    cell.source = cell.source[:start] + "\n" + body.rstrip() + "\n        " + cell.source[end:]


@pytest.fixture
def write_notebook(tmp_path: Path):
    """Write a notebook node to a fresh file and return its path."""

    def write(notebook: nbformat.NotebookNode, name: str = "submission.ipynb") -> Path:
        path = tmp_path / name
        nbformat.write(notebook, path)
        return path

    return write


@pytest.fixture
def edited_copy(source_notebook):
    """A deep copy of the source notebook to edit."""
    return lambda: copy.deepcopy(source_notebook)


@pytest.fixture(scope="session")
def edit_cell():
    """`edit_cell(notebook, grade_id, [(old, new), ...])`: text edits of one graded cell."""
    return _edit_cell


@pytest.fixture(scope="session")
def replace_forward_body():
    """`replace_forward_body(notebook, grade_id, body)`: swap a cell's last solution region."""
    return _replace_forward_body


@pytest.fixture
def handout_path(tmp_path, needs):
    """The released handout; built from the source with nbgrader when not committed yet."""
    if HANDOUT_NOTEBOOK.is_file():
        return HANDOUT_NOTEBOOK
    from facekit.notebook.release import build_handout

    path = tmp_path / "hw2p2.ipynb"
    path.write_text(build_handout(), encoding="utf-8")
    return path
