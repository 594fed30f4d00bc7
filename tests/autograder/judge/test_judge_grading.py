"""End-to-end grading of whole notebooks: reference, handout, mangled and hostile submissions."""

import json

import nbformat
import pytest

from autograder.judge import grade_notebook
from facekit.base.contract import ARCFACE, CENTER_LOSS, NETWORK, TRIPLET_LOSS


@pytest.mark.slow
def test_source_notebook_scores_full_marks(source_notebook, write_notebook, tmp_path):
    """Does the reference notebook score every point, and are both report files written?"""
    report = grade_notebook(write_notebook(source_notebook))
    assert report.total == report.max_total == 100, report.to_markdown()
    assert list(report.component_points()) == [c.id for c in report.components]
    report.write(tmp_path / "out")
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["score"] == 100
    assert results["extra_data"]["seed"] == report.seed
    for test, component in zip(results["tests"], report.components, strict=True):
        keys = {"name", "score", "max_score", "output", "visibility", "extra_data", "tags"}
        assert set(test) == keys
        assert test["tags"] == [component.id]  # the Gradescope bundle sets visibility by id
        assert test["score"] == test["max_score"] and test["extra_data"]["hints"] == []
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "**Total: 100 / 100**" in markdown and f"seed {report.seed}" in markdown


@pytest.mark.slow
def test_handout_scores_zero_with_not_implemented_everywhere(handout_path):
    """Does the unchanged handout score 0, saying 'not implemented' for every component?"""
    report = grade_notebook(handout_path)
    assert report.total == 0
    for component in report.components:
        assert "not implemented" in component.feedback(), component.feedback()


@pytest.mark.slow
def test_mangled_notebook_is_graded_by_name(source_notebook, write_notebook):
    """All metadata lost, cells reordered, a stale duplicate, a broken cell, outputs and widgets
    left in: is the work still found by name, the later duplicate graded, and all of it said?"""
    notebook = nbformat.from_dict(json.loads(json.dumps(source_notebook)))
    for cell in notebook.cells:
        cell.metadata = {}
    cosface = next(cell for cell in notebook.cells if cell.source.startswith("class CosFace"))
    stale = nbformat.v4.new_code_cell(cosface.source.replace("(cos - margin)", "(cos + margin)"))
    notebook.cells.insert(notebook.cells.index(cosface), stale)  # graded: the later, correct one
    notebook.cells.insert(3, nbformat.v4.new_code_cell("def broken(:\n    pass"))
    center = next(cell for cell in notebook.cells if cell.source.startswith("class CenterLoss"))
    notebook.cells.remove(center)
    notebook.cells.insert(4, center)  # moved up, before the imports cell would not matter
    center.outputs = [nbformat.v4.new_output("stream", text="loss 0.12\n")]
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    report = grade_notebook(write_notebook(notebook))
    notes = " ".join(report.notes)
    assert report.total == report.max_total, report.to_markdown()
    assert "definitions were found by name" in notes
    assert "CosFace is defined in cells" in notes and "graded the later one" in notes
    assert "syntax error" in notes


@pytest.mark.slow
def test_duplicated_graded_cell_grades_the_later_copy(source_notebook, write_notebook):
    """With a graded cell duplicated (same nbgrader id), is only the later copy graded?"""
    notebook = nbformat.from_dict(json.loads(json.dumps(source_notebook)))
    cell = next(
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == CENTER_LOSS
    )
    later = nbformat.from_dict(json.loads(json.dumps(cell)))
    later.id = "center_loss_copy"
    later.source = later.source.replace("return 0.5 * ", "return ")
    notebook.cells.insert(notebook.cells.index(cell) + 3, later)
    report = grade_notebook(write_notebook(notebook))
    points = report.component_points()
    assert points[CENTER_LOSS] == 0
    assert "cell center_loss appears 2 times" in " ".join(report.notes)
    assert report.total == report.max_total - 6


@pytest.mark.slow
def test_hostile_module_cannot_stop_the_grading(source_notebook, write_notebook, edit_cell):
    """A hang, a hard exit, sys.exit at import and patched json/safetensors/open: do only the
    sabotaged components lose points, with a clear message each?"""
    notebook = nbformat.from_dict(json.loads(json.dumps(source_notebook)))
    marker = "        ### BEGIN SOLUTION\n        weight = self.weight.to(embeddings.dtype)\n"
    edit_cell(
        notebook,
        ARCFACE,
        [
            (
                marker,
                marker.replace(
                    "\n        weight", "\n        while True:\n            pass\n        weight", 1
                ),
            )
        ],
    )
    edit_cell(
        notebook,
        CENTER_LOSS,
        [
            (
                "centers = self.centers.to(",
                "import os\n        os._exit(0)\n        centers = self.centers.to(",
            )
        ],
    )
    # In a class body: it runs when the module loads (top-level statements would be skipped).
    sabotage = (
        "\n\nclass Sabotage:\n    import builtins, json, sys\n    import safetensors.torch\n"
        "    json.dumps = lambda *args, **kwargs: 'garbage'\n"
        "    safetensors.torch.save_file = lambda *args, **kwargs: None\n"
        "    builtins.print('pwned')\n    sys.exit(3)\n"
    )
    cell = next(
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == TRIPLET_LOSS
    )
    cell.source += sabotage
    report = grade_notebook(write_notebook(notebook))
    points = report.component_points()
    feedback = {component.id: component.feedback() for component in report.components}
    assert points[ARCFACE] == 0 and "timed out: did not finish within" in feedback[ARCFACE]
    assert points[CENTER_LOSS] == 0
    assert "crashed: the worker running case center_loss/random" in feedback[CENTER_LOSS]
    assert "SystemExit" in " ".join(report.notes)
    untouched = set(points) - {ARCFACE, CENTER_LOSS}
    for cid in untouched:
        expected = next(c.max_points for c in report.components if c.id == cid)
        assert points[cid] == expected, f"{cid}:\n{feedback[cid]}"


@pytest.mark.slow
def test_unreadable_notebook_scores_zero_with_the_reason(tmp_path):
    """Does a file that is not a notebook get zero points and a message naming it?"""
    path = tmp_path / "submission.ipynb"
    path.write_text("{ not json", encoding="utf-8")
    report = grade_notebook(path)
    assert report.total == 0
    assert "submission.ipynb: not valid notebook JSON" in report.notes[0]


@pytest.mark.slow
def test_error_after_a_class_keeps_it_graded_and_names_its_grade_id(
    source_notebook, write_notebook
):
    """A cell that raises after defining its class (a failing sanity check): is the class still
    graded in full, the note saying so (never "missing"), and the error tied to its grade_id?"""
    notebook = nbformat.from_dict(json.loads(json.dumps(source_notebook)))
    cell = next(
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == NETWORK
    )
    # A failing sanity check that still runs at load (top-level statements are skipped).
    cell.source += "\n\nclass SanityCheck:\n    raise RuntimeError('sanity check failed')\n"
    report = grade_notebook(write_notebook(notebook))
    network = next(c for c in report.components if c.id == NETWORK)
    assert network.points == network.max_points, network.feedback()
    assert "was defined before the error, so it was graded" in network.feedback()
    assert "missing" not in network.feedback()
    [error] = report.to_gradescope()["extra_data"]["cell_errors"]
    assert error["grade_ids"] == [NETWORK] and error["type"] == "RuntimeError"
