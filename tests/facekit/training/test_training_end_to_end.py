"""`facekit train` on the tiny config, end to end: CSVs scoring above chance, safe checkpoints."""

import json

import pytest
import torch

from autograder.scoring import score_submission
from facekit.base.contract import CLASSIFICATION, CLS_TRAIN, SUBMISSION_FILES, VERIFICATION
from facekit.base.paths import REPO_ROOT
from facekit.cli.main import main as facekit
from facekit.sandbox_side.inference import Preprocessing
from facekit.training.trainer import METRICS_COLUMNS

pytestmark = pytest.mark.slow


def test_run_writes_everything(tiny_run):
    """Metrics per epoch, curves, summary, checkpoints and both submissions exist."""
    run = tiny_run.run
    lines = (run / "metrics.csv").read_text().splitlines()
    assert lines[0] == ",".join(METRICS_COLUMNS) and len(lines) == 1 + 4
    assert (run / "curves.png").stat().st_size > 0
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "epoch_001.pt",
        "epoch_002.pt",
        "epoch_003.pt",
        "epoch_004.pt",
        "last.pt",
    ]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 1 and summary["ranks_agree"] is True
    assert 0.0 <= summary["dev_accuracy"] <= 1.0 and 0.0 <= summary["val_auc"] <= 1.0


def test_submissions_score_above_chance(tiny_run, capsys):
    """Does `facekit score` accept both CSVs, and are the scores better than guessing?"""
    submissions = tiny_run.run / "submissions"
    for task in (CLASSIFICATION, VERIFICATION):
        code = facekit(
            ["score", task, str(submissions / f"{task}.csv"), "--keys", str(tiny_run.keys)]
        )
        assert code == 0, capsys.readouterr().err
    num_classes = len(list((tiny_run.comp / CLS_TRAIN).iterdir()))
    accuracy = score_submission(
        CLASSIFICATION, submissions / SUBMISSION_FILES[CLASSIFICATION], tiny_run.keys
    ).overall
    auc = score_submission(
        VERIFICATION, submissions / SUBMISSION_FILES[VERIFICATION], tiny_run.keys
    ).overall
    assert accuracy > 1.0 / num_classes, f"accuracy {accuracy} is at chance (1/{num_classes})"
    assert auc > 0.55, f"verification AUC {auc} is at chance"


def test_checkpoint_opens_with_weights_only(tiny_run):
    """Is the checkpoint tensors and plain data only (torch.load(weights_only=True))?"""
    payload = torch.load(tiny_run.run / "checkpoints" / "last.pt", weights_only=True)
    meta = json.loads(payload["meta"])
    assert meta["epoch"] == 4 and meta["eval_weights"] == "ema"
    assert meta["class_names"] == sorted(meta["class_names"])
    # The evaluation preprocessing is recorded (issue 13): tiny_cpu.toml's size, course statistics.
    assert meta["preprocessing"] == Preprocessing(image_size=32).to_dict()
    assert set(payload) >= {"model", "ema", "objective", "optimizer", "scaler", "meta"}


def train_tiny(data, out, *extra: str) -> int:
    """`facekit train` on the tiny config; returns the exit code."""
    config = REPO_ROOT / "configs" / "tiny_cpu.toml"
    return facekit(
        ["train", "--config", str(config), "--data", str(data), "--out", str(out), *extra]
    )


def test_bad_data_is_a_clear_error(tmp_path, capsys):
    """A directory that is not a competition gives a message naming it, not a traceback."""
    code = train_tiny(tmp_path / "nowhere", tmp_path / "run")
    error = capsys.readouterr().err
    assert code == 2 and "nowhere" in error and "Traceback" not in error


def test_resume_without_checkpoint_is_a_clear_error(tmp_path, capsys):
    """--resume on an empty run directory says there is nothing to resume."""
    code = train_tiny(tmp_path, tmp_path / "run", "--resume")
    assert code == 2 and "nothing to resume" in capsys.readouterr().err
