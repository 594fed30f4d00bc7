"""`run_autograder`: the bundle unpacked into a stand-in /autograder grades like Gradescope would.

The current interpreter stands in for the virtual environment setup.sh installs (tests never
pip install); the kit imported is the zip's copy (run_autograder starts Python in kit/).
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.batch import GRADER_ERROR, Outcome
from autograder.gradescope import run
from autograder.gradescope.bundle import BUNDLE_NAME, SETTINGS_NAME
from autograder.gradescope.run import SubmissionError, choose_notebook, with_visibility
from autograder.gradescope.settings import GradescopeSettings
from autograder.judge import CaseResult, ComponentResult, StudentReport
from facekit.base.contract import BASIC_BLOCK, NETWORK
from facekit.base.paths import HANDOUT_NOTEBOOK, SOLUTION_NOTEBOOK
from facekit.cli.main import main as facekit

# The bundle under test hides one component until it is published and the rest until the due date.
SETTINGS = GradescopeSettings("after_due_date", "after_due_date", {NETWORK: "after_published"})


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """The zip, built with SETTINGS."""
    out = tmp_path_factory.mktemp("bundle")
    config = out / "gradescope.toml"
    config.write_text(SETTINGS.to_toml())
    assert facekit(["gradescope-bundle", "--out", str(out), "--config", str(config)]) == 0
    return out / BUNDLE_NAME


@pytest.fixture
def autograder_root(bundle, tmp_path) -> Path:
    """A stand-in /autograder: source/ unpacked from the zip, an empty submission/."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
    (root / "submission").mkdir()
    return root


def run_autograder(root: Path) -> tuple[subprocess.CompletedProcess, dict | None]:
    """Run the bundle's run_autograder as Gradescope does; (process, results.json or None)."""
    environment = {
        **os.environ,
        "FACEKIT_AUTOGRADER_ROOT": str(root),
        "FACEKIT_AUTOGRADER_PYTHON": sys.executable,
    }
    completed = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    results = root / "results" / "results.json"
    return completed, json.loads(results.read_text()) if results.exists() else None


@pytest.mark.slow
@pytest.mark.parametrize(
    ("notebook", "expected"), [(SOLUTION_NOTEBOOK, 100.0), (HANDOUT_NOTEBOOK, 0.0)]
)
def test_reference_scores_100_and_handout_0(autograder_root, check_results, notebook, expected):
    """Does the unpacked bundle give the reference full marks and the handout zero, in
    Gradescope's schema, with the bundle's visibility, graded by the zip's own kit?"""
    shutil.copy(notebook, autograder_root / "submission" / "hw2p2.ipynb")
    completed, results = run_autograder(autograder_root)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert f"kit at {autograder_root / 'source' / 'kit'}" in completed.stdout
    assert results is not None
    check_results(results)
    assert results["score"] == expected
    assert sum(test["max_score"] for test in results["tests"]) == 100
    assert results["visibility"] == "after_due_date"
    shown = {test["tags"][0]: test["visibility"] for test in results["tests"]}
    assert shown.pop(NETWORK) == "after_published"
    assert set(shown.values()) == {"after_due_date"}
    assert results["test_output_format"] == "text"


def test_link_to_the_reference_is_not_graded(autograder_root, check_results):
    """Is a notebook that links to the reference refused (a zero), never graded as the
    student's work?"""
    reference = autograder_root / "source" / "kit" / "solutions" / "hw2p2_source.ipynb"
    (autograder_root / "submission" / "hw2p2.ipynb").symlink_to(reference)
    completed, results = run_autograder(autograder_root)
    assert completed.returncode == 0, completed.stdout[-3000:]
    check_results(results)
    assert results["score"] == 0
    assert "not plain files" in results["output"] and "hw2p2.ipynb" in results["output"]


@pytest.fixture
def in_process_root(tmp_path, monkeypatch) -> Path:
    """A stand-in /autograder for `run.main()` in this process: settings and submission/."""
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "source" / SETTINGS_NAME).write_text(SETTINGS.to_toml())
    (root / "submission").mkdir()
    monkeypatch.setenv(run.ROOT_ENVIRONMENT, str(root))
    return root


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no Jupyter notebook"),
        ({"notes.txt": "hello"}, "no Jupyter notebook"),
        (
            {"a.ipynb": "{}", "b.ipynb": "{}"},
            "2 notebooks in your submission ('a.ipynb', 'b.ipynb')",
        ),
        ({"hw2p2.ipynb/inner.txt": "x"}, "no Jupyter notebook"),  # a folder named like one
    ],
)
def test_no_single_notebook_is_a_zero_with_the_reason(
    in_process_root, check_results, files, message
):
    """Does a submission without exactly one notebook score 0 and say why?"""
    for name, text in files.items():
        path = in_process_root / "submission" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert run.main() == 0
    results = json.loads((in_process_root / "results" / "results.json").read_text())
    check_results(results)
    assert results["score"] == 0 and message in results["output"]


def test_fifo_notebook_is_a_zero_not_a_hang(in_process_root):
    """Is a FIFO named like a notebook refused without blocking the grader?"""
    os.mkfifo(in_process_root / "submission" / "hw2p2.ipynb")
    assert run.main() == 0
    results = json.loads((in_process_root / "results" / "results.json").read_text())
    assert results["score"] == 0 and "not plain files" in results["output"]


def test_grader_fault_writes_no_results_and_exits_3(in_process_root, monkeypatch, capsys):
    """Is a grader fault never the student's zero: exit 3, no results.json, a stale one gone?"""
    (in_process_root / "submission" / "hw2p2.ipynb").write_text("{}")
    (in_process_root / "results").mkdir()
    (in_process_root / "results" / "results.json").write_text('{"score": 0}')

    def broken_batch(submissions, out_dir, **options):
        return [Outcome("submission", "x", GRADER_ERROR, reason="grader fault: no torch")]

    monkeypatch.setattr("autograder.batch.grade_batch", broken_batch)
    assert run.main() == 3
    assert not (in_process_root / "results" / "results.json").exists()
    assert "GRADER failed (not the student's fault)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("notebooks", "chosen"),
    [
        (["mine.ipynb"], "mine.ipynb"),
        (["sub/hw2p2.ipynb"], "sub/hw2p2.ipynb"),
        (["draft.ipynb", "final/hw2p2.ipynb"], "final/hw2p2.ipynb"),
    ],
)
def test_choose_notebook(notebooks, chosen):
    """Is the only notebook, or among several the one named like the handout, chosen?"""
    assert choose_notebook(notebooks, []) == chosen


def test_choose_notebook_refuses_ambiguity():
    """Are two notebooks named like the handout refused rather than one picked at random?"""
    with pytest.raises(SubmissionError, match="2 notebooks"):
        choose_notebook(["a/hw2p2.ipynb", "b/hw2p2.ipynb"], [])


def test_visibility_applies_per_component(check_results):
    """Does every test get its component's visibility, and the result plain-text rendering?"""
    case = CaseResult("case", 1.0, 2.0, "ran <b>it</b>", ("differed",))
    report = StudentReport(
        "nb.ipynb",
        (
            ComponentResult(BASIC_BLOCK, "BasicBlock", (case,)),
            ComponentResult(NETWORK, "Network", (case,)),
        ),
    )
    results = with_visibility(report.to_gradescope(), SETTINGS)
    check_results(results)
    assert [test["visibility"] for test in results["tests"]] == [
        "after_due_date",
        "after_published",
    ]
    assert (results["visibility"], results["output_format"]) == ("after_due_date", "text")
