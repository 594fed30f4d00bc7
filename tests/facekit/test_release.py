"""The handout release: nbgrader build, sync check, no solution leaks, loud marker errors."""

import subprocess
import sys

import nbformat
import pytest
import torch

from facekit.base.paths import HANDOUT_NOTEBOOK, SOLUTION_NOTEBOOK
from facekit.notebook.extract import extract_module, import_module_from_source, read_notebook
from facekit.notebook.release import (
    BEGIN_SOLUTION,
    END_SOLUTION,
    ReleaseError,
    build_handout,
    check_handout,
    write_handout,
)

SOLUTION_CELL = {"grade": False, "solution": True, "locked": False, "schema_version": 3}


def tiny_source(body: str, nbgrader: dict | None = None) -> nbformat.NotebookNode:
    """A one-cell source notebook whose cell holds `body`."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(body)
    cell.id = "solution-cell"
    cell.metadata = {"tags": ["export"], "nbgrader": {**SOLUTION_CELL, "grade_id": "f"}}
    if nbgrader is not None:
        cell.metadata["nbgrader"] = nbgrader
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


GOOD_BODY = f"def f():\n    {BEGIN_SOLUTION}\n    return 42\n    {END_SOLUTION}\n"


@pytest.fixture
def tiny_source_path(tmp_path):
    path = tmp_path / "source.ipynb"
    nbformat.write(tiny_source(GOOD_BODY), path)
    return path


def solution_lines(notebook: nbformat.NotebookNode) -> set[str]:
    """Code lines that occur only inside solution regions of `notebook`."""
    inside, outside = set(), set()
    for cell in notebook.cells:
        in_region = False
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped in (BEGIN_SOLUTION, END_SOLUTION):
                in_region = stripped == BEGIN_SOLUTION
                continue
            if stripped and not stripped.startswith("#"):
                (inside if in_region else outside).add(stripped)
    return inside - outside


def test_stub_replaces_the_solution(tiny_source_path):
    """Does nbgrader turn the solution region into a NotImplementedError stub?"""
    handout = nbformat.reads(build_handout(tiny_source_path), as_version=4)
    source = handout.cells[0].source
    assert "raise NotImplementedError()" in source
    assert "return 42" not in source
    assert handout.cells[0].metadata["tags"] == ["export"]


def test_release_is_deterministic(tiny_source_path):
    """Do two builds from the same source give byte-identical handouts?"""
    assert build_handout(tiny_source_path) == build_handout(tiny_source_path)


@pytest.mark.parametrize(
    ("body", "nbgrader", "message"),
    [
        (f"def f():\n    {BEGIN_SOLUTION}\n    return 1\n", None, "is never closed"),
        (f"def f():\n    return 1\n    {END_SOLUTION}\n", None, "without a matching begin"),
        (
            f"def f():\n    {BEGIN_SOLUTION}\n    {BEGIN_SOLUTION}\n    {END_SOLUTION}\n",
            None,
            "inside an open solution region",
        ),
        (
            GOOD_BODY,
            {"grade": False, "solution": False, "locked": True},
            "not an nbgrader solution",
        ),
    ],
)
def test_malformed_markers_are_loud(tmp_path, body, nbgrader, message):
    """Is each malformed source rejected with the cell named, instead of leaking or skipping?"""
    path = tmp_path / "source.ipynb"
    nbformat.write(tiny_source(body, nbgrader), path)
    with pytest.raises(ReleaseError, match=message) as error:
        build_handout(path)
    assert "cell 1" in str(error.value)


def test_check_cli_detects_a_stale_handout(tiny_source_path, tmp_path):
    """Does `facekit release --check` exit 0 when in sync and 1 after the handout is edited?"""
    out = tmp_path / "handout.ipynb"
    write_handout(tiny_source_path, out)
    command = [sys.executable, "-m", "facekit", "release", "--check"]
    command += ["--source", str(tiny_source_path), "--out", str(out)]
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0
    out.write_text(out.read_text().replace("YOUR CODE HERE", "edited by hand"))
    stale = subprocess.run(command, capture_output=True, text=True, check=False)
    assert stale.returncode == 1
    assert "edited by hand" in stale.stdout and "run `facekit release`" in stale.stderr


def test_committed_handout_is_in_sync():
    """Is handout/hw2p2.ipynb exactly what a fresh release of the source notebook produces?"""
    result = check_handout(SOLUTION_NOTEBOOK, HANDOUT_NOTEBOOK)
    assert result.in_sync, f"handout is stale; run `facekit release`:\n{result.diff[:3000]}"


def test_handout_holds_no_solution_code():
    """Does no line that exists only inside a solution region appear anywhere in the handout?"""
    secret_lines = solution_lines(read_notebook(SOLUTION_NOTEBOOK))
    assert secret_lines, "the source notebook has no solution code to protect"
    handout = read_notebook(HANDOUT_NOTEBOOK)
    handout_lines = {line.strip() for cell in handout.cells for line in cell.source.splitlines()}
    leaked = sorted(secret_lines & handout_lines)
    assert not leaked, f"solution lines leaked into the handout: {leaked[:10]}"


def exercise_components(module) -> dict[str, object]:
    """Construct and call every contract component of `module`; map its name to the outcome."""
    embeddings, labels = torch.randn(4, 8), torch.tensor([0, 1, 0, 2])
    image = torch.randn(2, 8, 8, 8)
    calls = {
        "BasicBlock": lambda: module.BasicBlock(8, 8)(image),
        "Bottleneck": lambda: module.Bottleneck(8, 2)(image),
        "ConvNeXtBlock": lambda: module.ConvNeXtBlock(8)(image),
        "InvertedResidual": lambda: module.InvertedResidual(8, 8)(image),
        "ArcFace": lambda: module.ArcFace(8, 3)(embeddings, labels),
        "CosFace": lambda: module.CosFace(8, 3)(embeddings, labels),
        "SphereFace": lambda: module.SphereFace(8, 3)(embeddings, labels),
        "TripletLoss": lambda: module.TripletLoss()(embeddings, embeddings, embeddings),
        "BatchHardTripletLoss": lambda: module.BatchHardTripletLoss()(embeddings, labels),
        "CenterLoss": lambda: module.CenterLoss(3, 8)(embeddings, labels),
        "Network": lambda: module.Network(3)(torch.randn(2, 3, 32, 32)),
    }
    outcomes = {}
    for name, call in calls.items():
        try:
            outcomes[name] = call()
        except NotImplementedError as error:
            outcomes[name] = error
    return outcomes


def test_handout_module_imports_and_every_stub_raises():
    """Does the handout's module import, with each component raising NotImplementedError?"""
    handout = read_notebook(HANDOUT_NOTEBOOK)
    module = import_module_from_source(extract_module(handout).source, "handout_stub_module")
    outcomes = exercise_components(module)
    implemented = [name for name, outcome in outcomes.items() if not isinstance(outcome, Exception)]
    assert not implemented, (
        f"these handout components run without the student's code: {implemented}"
    )


def test_reference_implements_every_component():
    """Does the source notebook's module run every component the handout stubs?"""
    module = import_module_from_source(
        extract_module(read_notebook(SOLUTION_NOTEBOOK)).source, "release_reference_module"
    )
    outcomes = exercise_components(module)
    missing = [name for name, outcome in outcomes.items() if isinstance(outcome, Exception)]
    assert not missing, f"the reference raises NotImplementedError in: {missing}"
