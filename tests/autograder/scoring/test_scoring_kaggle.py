"""The Kaggle bundle: solution files with Usage, sample submissions that score."""

import csv
from pathlib import Path

import pytest

from autograder.scoring import KeysError, score_submission
from facekit.base.contract import (
    CLASSIFICATION,
    SAMPLE_SUBMISSIONS,
    SAMPLE_VER,
    VERIFICATION,
)
from facekit.cli.main import main


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as file:
        return list(csv.reader(file))


def test_bundle_from_keys(keys_dir: Path, tmp_path: Path, golden, capsys) -> None:
    """Without a competition dir: solutions (golden) and generated samples that validate."""
    assert main(["kaggle-bundle", "--keys", str(keys_dir), "--out", str(tmp_path)]) == 0
    for task in (CLASSIFICATION, VERIFICATION):
        golden(f"kaggle_{task}_solution.csv", (tmp_path / task / "solution.csv").read_text())
        sample = tmp_path / task / "sample_submission.csv"
        score_submission(task, sample, keys_dir)  # raises if it does not validate
    assert _rows(tmp_path / VERIFICATION / "solution.csv")[1] == ["p1", "1", "Public"]


def test_bundle_copies_the_competition_samples(keys_dir: Path, tmp_path: Path) -> None:
    """A competition's own sample submission is copied byte for byte."""
    comp = tmp_path / "comp"
    (comp / SAMPLE_SUBMISSIONS).mkdir(parents=True)
    sample = b"pair_id,score\n" + b"".join(f"p{i},0\n".encode() for i in range(1, 9))
    (comp / SAMPLE_VER).write_bytes(sample)
    main(["kaggle-bundle", "--keys", str(keys_dir), "--comp", str(comp), "--out", str(tmp_path)])
    assert (tmp_path / VERIFICATION / "sample_submission.csv").read_bytes() == sample


def test_bundle_rejects_a_sample_that_does_not_match(keys_dir: Path, tmp_path: Path) -> None:
    """A sample submission that would not validate is a staff setup error, exit 2."""
    comp = tmp_path / "comp"
    (comp / SAMPLE_SUBMISSIONS).mkdir(parents=True)
    (comp / SAMPLE_VER).write_text("pair_id,score\np1,0\n")
    out = tmp_path / "out"
    args = ["kaggle-bundle", "--keys", str(keys_dir), "--comp", str(comp), "--out", str(out)]
    assert main(args) == 2
    from autograder.scoring.kaggle import write_kaggle_bundle

    with pytest.raises(KeysError, match="7 of 8 ids missing"):
        write_kaggle_bundle(keys_dir, out, comp)
