"""Fixtures for the batch tests: the released handout and notebooks built from it."""

import ast
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from autograder.batch import find_submissions, grade_batch
from autograder.sandbox import Limits
from facekit.base.contract import ARCFACE, KEYS_CLS, NETWORK
from facekit.base.paths import HANDOUT_NOTEBOOK, SOLUTION_NOTEBOOK


@pytest.fixture(scope="session")
def handout_text() -> str:
    """The student handout (stubs only): the committed one, else built from the source."""
    if HANDOUT_NOTEBOOK.is_file():
        return HANDOUT_NOTEBOOK.read_text(encoding="utf-8")
    from facekit.notebook.release import build_handout

    return build_handout(SOLUTION_NOTEBOOK)


@pytest.fixture(scope="session")
def handout_with_cell(handout_text: str):
    """`handout_with_cell(code, path)` writes the handout with a student's `code` to `path`:
    appended to the graded cell of every graded class it defines (the grader takes a graded class
    from its own cell), or else as one more `export` cell."""
    from autograder.judge.rubric import load_rubric

    cell_of = {component.class_name: component.id for component in load_rubric().components}

    def write(code: str, path: Path) -> Path:
        notebook = nbformat.reads(handout_text, as_version=4)
        classes = {n.name for n in ast.parse(code).body if isinstance(n, ast.ClassDef)}
        grade_ids = {cell_of[name] for name in classes if name in cell_of}
        graded = [
            cell
            for cell in notebook.cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") in grade_ids
        ]
        for cell in graded:
            cell.source += "\n\n" + code
        if not graded:
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


CORPUS_LIMITS = Limits(cpu_seconds=10, wall_seconds=15.0)
KEYS_CANARY = "CANARY-KEY-7f3e9b"


@dataclass(frozen=True)
class GradedCorpus:
    """The outputs of grading the whole corpus in one batch."""

    gradebook: pd.DataFrame  # indexed by student
    log: pd.DataFrame  # batch_log.csv, indexed by student
    out: Path
    submissions: Path
    limits: Limits
    keys_canary: str  # a string only the (world-readable) keys file holds
    fingerprint: str  # of the grader that graded it


def _source_notebook() -> nbformat.NotebookNode:
    return nbformat.read(SOLUTION_NOTEBOOK, as_version=4)


def _cell(notebook: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    """The code cell with this nbgrader grade_id (or, for imports, this cell id)."""
    for cell in notebook.cells:
        if cell.get("id") == grade_id or (
            cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id
        ):
            return cell
    raise KeyError(f"no cell {grade_id!r} in {SOLUTION_NOTEBOOK}")


def _broken_notebooks(folder: Path) -> None:
    """The correct notebook broken in the ways students break notebooks, one way per file."""
    (folder / "broken_invalid_json.ipynb").write_text('{"cells": [', encoding="utf-8")
    (folder / "broken_empty_file.ipynb").write_bytes(b"")
    notebook = _source_notebook()
    _cell(notebook, ARCFACE).source += "\n\ndef unfinished(:\n"
    nbformat.write(notebook, folder / "broken_syntax_error.ipynb")
    notebook = _source_notebook()
    _cell(notebook, "imports").source = (
        "import not_a_real_package_xyz\n" + _cell(notebook, "imports").source
    )
    nbformat.write(notebook, folder / "broken_missing_package.ipynb")
    notebook = _source_notebook()
    notebook.cells.remove(_cell(notebook, NETWORK))
    nbformat.write(notebook, folder / "broken_missing_cell.ipynb")


def write_corpus(root: Path, handout_with_cell, cheat_names: list[str], cheat_cell) -> Path:
    """Write every cheater, the broken notebooks and the correct one into root/submissions
    (the keys the cheaters hunt for into root/keys); returns the submissions folder."""
    out, keys, submissions = root / "out", root / "keys", root / "submissions"
    keys.mkdir(parents=True)
    (keys / KEYS_CLS).write_text(f"id,label,usage\n0001.jpg,{KEYS_CANARY},Private\n")
    (keys / KEYS_CLS).chmod(0o644)  # world-readable: only the sandbox may protect it
    for cheat in cheat_names:
        handout_with_cell(cheat_cell(cheat, out, keys), submissions / f"{cheat}.ipynb")
    _broken_notebooks(submissions)
    shutil.copy(SOLUTION_NOTEBOOK, submissions / "correct.ipynb")
    return submissions


def _grade_corpus(root: Path, write) -> None:
    """Build the corpus under `root` with `write` (write_cheat_corpus) and grade it in one batch
    into root/out."""
    out = root / "out"
    found = find_submissions([write(root)])
    outcomes = grade_batch(found, out, jobs=2, limits=CORPUS_LIMITS, progress=False)
    assert [o.student for o in outcomes] == [s.student for s in found]
    (root / "done").write_text(outcomes[0].fingerprint)


@pytest.fixture(scope="session")
def write_cheat_corpus(handout_with_cell, cheat_names, cheat_cell):
    """`write_cheat_corpus(root)`: the corpus of `graded_corpus`, written, not graded; returns
    its submissions folder."""
    return lambda root: write_corpus(root, handout_with_cell, cheat_names, cheat_cell)


@pytest.fixture(scope="session")
def corpus_limits() -> Limits:
    """The small limits the corpus is graded under."""
    return CORPUS_LIMITS


@pytest.fixture(scope="session")
def graded_corpus(write_cheat_corpus, judge_available, tmp_path_factory) -> GradedCorpus:
    """Grade every cheater, every broken notebook and the correct notebook in ONE batch
    (2 jobs, small limits), as staff would. Treat it as read-only.

    Under pytest-xdist every worker asks for it: the first grades the corpus into a folder the
    workers of this session share, the others wait on the lock and read the result.
    """
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "graded-corpus"
    with FileLock(f"{root}.lock"):
        if not (root / "done").is_file():
            shutil.rmtree(root, ignore_errors=True)  # a failed attempt's leftovers
            _grade_corpus(root, write_cheat_corpus)
    out = root / "out"
    return GradedCorpus(
        gradebook=pd.read_csv(out / "gradebook.csv").set_index("student"),
        log=pd.read_csv(out / "batch_log.csv").set_index("student"),
        out=out,
        submissions=root / "submissions",
        limits=CORPUS_LIMITS,
        keys_canary=KEYS_CANARY,
        fingerprint=(root / "done").read_text(),
    )
