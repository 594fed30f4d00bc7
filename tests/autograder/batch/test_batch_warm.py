"""Do the warm path (each worker a fork of a zygote that imported torch once) and the cold path
(a fresh interpreter per notebook) give every notebook the same verdict? (Issue 15 item 1.)"""

import importlib.util
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from autograder.batch import (
    BATCH_LOG_NAME,
    GRADEBOOK_NAME,
    GRADER_ERROR,
    find_submissions,
    grade_batch,
)
from autograder.sandbox import REQUIRED_PROTECTIONS, isolation_report
from facekit.base.paths import SOLUTION_NOTEBOOK

MUTANTS_FILE = Path(__file__).parents[1] / "judge" / "test_judge_mutants.py"
MUTANT_ROUNDS = 2  # notebooks of mutants (one mutant per component each)
SEED = 20261201


def _mutant_rounds() -> list:
    """The mutant corpus's rounds (tests/autograder/judge/test_judge_mutants.py)."""
    spec = importlib.util.spec_from_file_location("judge_mutants", MUTANTS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ROUNDS


def _write_mutants(folder: Path) -> list[str]:
    """One notebook per round of mutants in `folder`; returns their students."""
    students = []
    for index, mutants in enumerate(_mutant_rounds()[:MUTANT_ROUNDS]):
        notebook = nbformat.read(SOLUTION_NOTEBOOK, as_version=4)
        cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells}
        for mutant in mutants:
            for old, new in mutant.edits:
                assert cells[mutant.component].source.count(old) == 1, mutant.description
                cells[mutant.component].source = cells[mutant.component].source.replace(old, new)
        students.append(f"mutants_round_{index}")
        nbformat.write(notebook, folder / f"{students[-1]}.ipynb")
    return students


@pytest.fixture
def full_sandbox():
    """Skip where grading would stay cold anyway (a required protection is missing)."""
    report = isolation_report()
    missing = [name for name in REQUIRED_PROTECTIONS if not report[name]]
    if missing:
        pytest.skip(f"this machine lacks {', '.join(missing)}: grading stays cold")


@pytest.mark.slow
def test_cheaters_and_mutants_score_the_same_warm_and_cold(
    tmp_path, write_cheat_corpus, cheat_names, corpus_limits, full_sandbox
):
    """Graded with one seed, do the cheat corpus, the broken notebooks, the correct one and
    rounds of mutants get the same points per component warm as cold (cheaters 0, mutants
    short of full marks)?"""
    submissions = write_cheat_corpus(tmp_path)
    mutants = _write_mutants(submissions)
    found = find_submissions([submissions])
    gradebooks = {}
    for path in ("cold", "warm"):
        out = tmp_path / path
        grade_batch(
            found,
            out,
            jobs=2,
            limits=corpus_limits,
            progress=False,
            seed=SEED,
            warm=path == "warm",
        )
        log = pd.read_csv(out / BATCH_LOG_NAME).set_index("student")
        assert not (log["status"] == GRADER_ERROR).any(), log["reason"].to_dict()
        gradebooks[path] = pd.read_csv(out / GRADEBOOK_NAME).set_index("student")
    pd.testing.assert_frame_equal(gradebooks["warm"], gradebooks["cold"])
    totals = gradebooks["warm"]["total"]
    assert totals["correct"] == log.loc["correct", "max_total"] > 0
    assert (totals[cheat_names] == 0).all(), totals[cheat_names].to_dict()
    assert (totals[mutants] < log.loc["correct", "max_total"]).all()


def test_batch_goes_warm_when_every_required_protection_holds(tmp_path, full_sandbox):
    """Does `grade_batch` say it grades warm by default on a machine with the full sandbox, and
    cold when asked to?"""
    notebook = tmp_path / "empty.ipynb"
    notebook.write_bytes(b"")  # unreadable: no worker runs
    for warm, expected in ((None, "grading warm"), (False, "grading cold")):
        lines: list[str] = []
        grade_batch(
            find_submissions([notebook]),
            tmp_path / f"out-{warm}",
            progress=False,
            self_test=False,
            log=lines.append,
            warm=warm,
        )
        assert any(line.startswith(expected) for line in lines), lines
