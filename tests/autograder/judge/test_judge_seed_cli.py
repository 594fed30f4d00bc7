"""`facekit grade --seed`: staff reproduce a grading with the seed its report records."""

import json
import shutil

import pytest

from facekit.base.paths import HANDOUT_NOTEBOOK
from facekit.cli.main import main


@pytest.mark.slow
def test_grade_records_the_seed_it_was_given(tmp_path):
    """Does `facekit grade --seed 5` grade with seed 5 and record it in results.json and
    report.md? (The handout: every case runs in the sandbox and fails fast.)"""
    notebook = tmp_path / "in" / "amy.ipynb"
    notebook.parent.mkdir()
    shutil.copy(HANDOUT_NOTEBOOK, notebook)
    assert main(["grade", str(notebook), "--out", str(tmp_path / "out"), "--seed", "5"]) == 0
    results = json.loads((tmp_path / "out" / "amy" / "results.json").read_text())
    assert results["extra_data"]["seed"] == 5
    assert "seed 5" in (tmp_path / "out" / "amy" / "report.md").read_text()


@pytest.mark.parametrize("seed", ["-1", str(2**31)])
def test_grade_rejects_a_seed_out_of_range(tmp_path, seed, capsys):
    """Is a seed outside [0, 2**31) a usage error (exit code 2) that names --seed?"""
    notebook = tmp_path / "amy.ipynb"
    notebook.write_text("{")
    assert main(["grade", str(notebook), "--out", str(tmp_path / "out"), "--seed", seed]) == 2
    assert "facekit grade: --seed must be between" in capsys.readouterr().err
