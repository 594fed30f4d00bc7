"""`facekit demo`: the whole pipeline on synthetic data, and the safety of its output folder."""

import json
import subprocess
import sys

import pytest

from facekit.demo import MARKER, DemoError, prepare_output


def test_refuses_a_folder_that_is_not_a_demo(tmp_path):
    """Does the demo refuse to write into (and never delete) a non-empty unrelated folder?"""
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(DemoError, match="holds no earlier demo"):
        prepare_output(tmp_path, overwrite=True)
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_replaces_an_earlier_demo_only_when_asked(tmp_path):
    """Is an earlier demo kept without --overwrite and replaced with it?"""
    prepare_output(tmp_path / "out", overwrite=False)
    (tmp_path / "out" / "old.txt").write_text("old")
    with pytest.raises(DemoError, match="--overwrite"):
        prepare_output(tmp_path / "out", overwrite=False)
    prepare_output(tmp_path / "out", overwrite=True)
    assert not (tmp_path / "out" / "old.txt").exists()


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path):
    """Does the README's main job grade, train and score, with results above chance?"""
    out = tmp_path / "demo"
    completed = subprocess.run(
        [sys.executable, "-m", "facekit", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    summary = json.loads((out / MARKER).read_text())
    assert summary["grades"]["reference"]["total"] == summary["grades"]["reference"]["max_total"]
    assert summary["grades"]["handout"]["total"] == 0
    classes = len(list((out / "comp" / "cls_data" / "train").iterdir()))
    assert summary["scores"]["classification"]["public"] > 1 / classes
    assert (out / "handout" / "hw2p2.ipynb").is_file()
    assert (out / "grades" / "gradebook.csv").is_file()
