"""`facekit demo`: the whole pipeline on synthetic data, and the safety of its output folder."""

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.batch import GRADED, Outcome
from facekit.base.contract import CLASSIFICATION, CLS_TRAIN
from facekit.base.errors import SetupError
from facekit.base.paths import REPO_ROOT
from facekit.cli.main import main
from facekit.demo import MARKER, prepare_output


def readme_demo_command() -> list[str]:
    """README command 1's demo (`facekit demo ...`, after its install), as the README says it."""
    blocks = re.findall(r"```bash\n(.*?)```", (REPO_ROOT / "README.md").read_text(), re.S)
    commands = [
        c.strip() for block in blocks for line in block.splitlines() for c in line.split("&&")
    ]
    return shlex.split(next(c for c in commands if c.startswith("facekit demo")))


def test_refuses_a_folder_that_is_not_a_demo(tmp_path):
    """Does the demo refuse to write into (and never delete) a non-empty unrelated folder?"""
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(SetupError, match="holds no earlier demo"):
        prepare_output(tmp_path, overwrite=True)
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_replaces_an_earlier_demo_only_when_asked(tmp_path):
    """Is an earlier demo kept without --overwrite and replaced with it?"""
    prepare_output(tmp_path / "out", overwrite=False)
    (tmp_path / "out" / "old.txt").write_text("old")
    with pytest.raises(SetupError, match="--overwrite"):
        prepare_output(tmp_path / "out", overwrite=False)
    prepare_output(tmp_path / "out", overwrite=True)
    assert not (tmp_path / "out" / "old.txt").exists()


def test_failed_demo_says_which_step_and_which_score(tmp_path, monkeypatch, capsys):
    """When the reference does not get full marks, does the demo exit 3 naming the step and the
    score, on screen and in demo.json? (Every step before grading is stubbed.)"""
    import autograder.batch
    import data_tools.build
    import data_tools.check
    import data_tools.synth
    import facekit.notebook.release

    monkeypatch.setattr(data_tools.synth, "generate_identities", lambda *args: None)
    monkeypatch.setattr(data_tools.build, "build_competition", lambda *args: None)
    monkeypatch.setattr(data_tools.check, "check_competition", lambda *args: [])
    monkeypatch.setattr(facekit.notebook.release, "write_handout", lambda out: out)
    outcomes = [
        Outcome("reference", "ref", GRADED, total=40.0, max_total=100.0, reason="boom: no torch"),
        Outcome("handout", "handout", GRADED, total=0.0, max_total=100.0),
    ]
    monkeypatch.setattr(autograder.batch, "grade_batch", lambda *args, **kwargs: outcomes)
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 3
    err = capsys.readouterr().err
    assert err.startswith(
        "facekit demo: failed at step 'autograde the reference and the untouched handout'"
    )
    assert "the reference scored 40.0 / 100.0" in err and "boom: no torch" in err
    summary = json.loads((tmp_path / "demo" / MARKER).read_text())
    assert summary["ok"] is False
    assert summary["failed_step"] == "autograde the reference and the untouched handout"
    assert "40.0 / 100.0" in summary["reason"]


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path):
    """Does README command 1's demo, run by this environment's own `facekit` script, give the
    reference full marks and the handout 0, then train and score above chance?"""
    command = readme_demo_command()
    script = shutil.which("facekit", path=str(Path(sys.executable).parent))
    assert script, f"no facekit command beside {sys.executable}: is the kit installed here?"
    assert "--out" in command, command
    completed = subprocess.run(
        [script, *command[1:]],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = tmp_path / command[command.index("--out") + 1]
    summary = json.loads((out / MARKER).read_text())
    assert summary["ok"] is True
    assert summary["grades"]["reference"]["total"] == summary["grades"]["reference"]["max_total"]
    assert summary["grades"]["handout"]["total"] == 0
    classes = len(list((out / "comp" / CLS_TRAIN).iterdir()))
    assert summary["scores"][CLASSIFICATION]["public"] > 1 / classes
    assert (out / "handout" / "hw2p2.ipynb").is_file()
    assert (out / "grades" / "gradebook.csv").is_file()
