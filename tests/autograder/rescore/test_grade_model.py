"""`facekit grade-model`: re-scoring reproduces a run exactly, unsafe checkpoints are refused,
models over the parameter budget are flagged."""

import json
import os
import re
from pathlib import Path

import pytest
import torch

from autograder.rescore.contents import (
    CheckpointContents,
    CheckpointError,
    count_parameters,
    read_checkpoint,
)
from autograder.rescore.grade_model import (
    GradeModelConfig,
    GradeModelReport,
    SubmissionError,
    checked_preprocessing,
    load_grade_model_config,
)
from facekit.base.contract import CLASSIFICATION, SUBMISSION_FILES, VERIFICATION
from facekit.base.errors import ConfigError
from facekit.base.paths import SOLUTION_NOTEBOOK
from facekit.cli.grade_model import DEFAULT_COURSE_CONFIG
from facekit.cli.main import main as facekit
from facekit.sandbox_side.inference import Preprocessing


class TouchOnUnpickle:
    """A pickled payload: unpickling it would create `marker` (it must never run)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize(
    "payload",
    [
        lambda marker: {"model": TouchOnUnpickle(marker)},
        lambda marker: {"state_dict": {"w": torch.zeros(2)}, "hook": os.system},
        lambda marker: TouchOnUnpickle(marker),
    ],
    ids=["reduce-payload", "function", "bare-object"],
)
def test_pickled_payload_is_refused(tmp_path: Path, payload):
    """Is a checkpoint holding pickled objects refused, with nothing of it executed?"""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save(payload(marker), path)
    with pytest.raises(CheckpointError, match="refused: the checkpoint contains pickled Python"):
        read_checkpoint(path)
    assert not marker.exists()


def test_not_a_checkpoint_is_a_clear_error(tmp_path: Path):
    """A text file posing as a checkpoint is named in the error."""
    path = tmp_path / "notes.pt"
    path.write_text("hello")
    with pytest.raises(CheckpointError, match="notes.pt"):
        read_checkpoint(path)


@pytest.mark.parametrize("wrap", [None, "model_state_dict", "state_dict"])
def test_student_style_checkpoints_are_read(tmp_path: Path, wrap):
    """A bare state dict, or one under a common key, is accepted (no facekit metadata)."""
    weights = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2)).state_dict()
    path = tmp_path / "student.pt"
    torch.save(weights if wrap is None else {wrap: weights, "epoch": 3}, path)
    contents = read_checkpoint(path)
    assert contents.preprocessing is None and contents.network_kwargs is None
    assert set(contents.weights) == set(weights)
    # 3*2 + 2 (linear) + 2 + 2 (BN affine); running statistics are not parameters.
    assert count_parameters(contents.weights) == 12


class HiddenWeights(torch.nn.Module):
    """Weights stored as buffers named like BatchNorm statistics, to dodge the budget."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)
        self.register_buffer("stray", torch.zeros(1))
        self.hide = torch.nn.Module()
        self.hide.register_buffer("running_mean", torch.zeros(5000))
        self.hide.register_buffer("running_var", torch.zeros(5000))
        self.hide.register_buffer("num_batches_tracked", torch.zeros((), dtype=torch.long))


def test_buffers_named_like_batchnorm_statistics_still_count():
    """Do 'running statistics' without their BatchNorm's weight count towards the budget?"""
    weights = HiddenWeights().state_dict()
    # Linear 3*2 + 2, the stray buffer 1, the hidden 'statistics' 2 * 5000 (a step counter is
    # one number and never counts).
    assert count_parameters(weights) == 8 + 1 + 10_000


def test_notebook_checkpoint_contract_is_read(tmp_path: Path):
    """Does the notebook's best.pt layout give weights, Network arguments, class names and
    preprocessing (tuples as the lists the worker passes on)?"""
    model = torch.nn.Linear(3, 2)
    record = Preprocessing(image_size=48).to_dict()
    path = tmp_path / "best.pt"
    torch.save(
        {
            "model": model.state_dict(),
            "epoch": 3,
            "network_kwargs": {"depths": (1, 1), "block": None},
            "class_names": ["a", "b"],
            "preprocessing": record,
        },
        path,
    )
    contents = read_checkpoint(path)
    assert set(contents.weights) == {"weight", "bias"}
    assert contents.network_kwargs == {"depths": [1, 1], "block": None}
    assert contents.class_names == ["a", "b"] and contents.preprocessing == Preprocessing(48)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("network_kwargs", [1, 2], "network_kwargs must be a dict"),
        ("network_kwargs", {"depths": torch.zeros(2)}, "network_kwargs must hold plain values"),
        ("network_kwargs", {"x": "y" * 20_000}, "network_kwargs is too large"),
        ("class_names", "abc", "class_names must be a list"),
        ("class_names", [1, 2], "class_names must be a list"),
        ("preprocessing", {"mean": [0.5]}, "mean must be 3 numbers"),
        ("preprocessing", {"channel_order": "RGBA"}, "channel_order must be one of"),
    ],
)
def test_malformed_contract_fields_are_named(tmp_path: Path, field: str, value, message: str):
    """Is each malformed contract field of a student's checkpoint refused, naming the file?"""
    path = tmp_path / "best.pt"
    torch.save({"model": {"w": torch.zeros(1)}, field: value}, path)
    with pytest.raises(CheckpointError, match=message) as error:
        read_checkpoint(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"image_size": 8}, "image_size 8 is outside the allowed 16..512"),
        ({"image_size": 4096}, "image_size 4096 is outside"),
        ({"mean": [0.5, 0.5, 1.5]}, "mean [0.5, 0.5, 1.5] is outside the allowed range [0.0, 1.0]"),
        ({"std": [0.001, 0.5, 0.5]}, "std [0.001, 0.5, 0.5] is outside the allowed range"),
    ],
)
def test_preprocessing_outside_the_course_ranges_is_the_students(record, message: str):
    """Is a recorded preprocessing outside the course's ranges a SubmissionError (exit 1)?"""
    contents = CheckpointContents(weights={}, preprocessing=Preprocessing.from_dict(record))
    with pytest.raises(SubmissionError, match=re.escape(message)) as error:
        checked_preprocessing(contents, GradeModelConfig(), [])
    assert error.value.exit_code == 1


def test_missing_preprocessing_takes_the_course_default_with_a_note():
    """Is a checkpoint without a record fed at the course's size and statistics, and said so?"""
    notes: list[str] = []
    course = GradeModelConfig(image_size=64)
    chosen = checked_preprocessing(CheckpointContents(weights={}), course, notes)
    assert chosen == Preprocessing(image_size=64) and "records no preprocessing" in notes[0]


def test_report_flags_over_budget():
    """Over the budget is flagged even when everything reproduces."""
    report = GradeModelReport(
        scores={}, parameters=101, max_parameters=100, agreements=[], problems=[]
    )
    assert report.over_budget and not report.ok and "OVER BUDGET" in report.summary()


@pytest.fixture(scope="module")
def graded(tiny_run, tmp_path_factory):
    """`facekit grade-model` on the tiny run's checkpoint, within and over a parameter budget."""
    out = tmp_path_factory.mktemp("grade_model")
    submissions = tiny_run.run / "submissions"
    tight = out / "tight_course.toml"
    tight.write_text("[grade_model]\nmax_parameters = 1000\nwall_seconds = 600\n")
    code = facekit(
        [
            "grade-model",
            "--notebook", str(SOLUTION_NOTEBOOK),
            "--checkpoint", str(tiny_run.run / "checkpoints" / "last.pt"),
            "--data", str(tiny_run.comp),
            "--keys", str(tiny_run.keys),
            "--submission", str(submissions / SUBMISSION_FILES[CLASSIFICATION]),
            str(submissions / SUBMISSION_FILES[VERIFICATION]),
            "--course-config", str(tight),
            "--out", str(out / "tight"),
        ]
    )  # fmt: skip
    return code, json.loads((out / "tight" / "report.json").read_text()), out / "tight"


@pytest.mark.slow
def test_grade_model_reproduces_the_run_exactly(graded, tiny_run):
    """Recomputed CSVs are byte-identical to the run's, and every score agrees exactly."""
    _, report, out = graded
    for task in (CLASSIFICATION, VERIFICATION):
        recomputed = (out / f"{task}.csv").read_bytes()
        assert recomputed == (tiny_run.run / "submissions" / f"{task}.csv").read_bytes(), task
    agreements = {a["task"]: a for a in report["agreements"]}
    assert agreements[CLASSIFICATION]["label_agreement"] == 1.0
    assert agreements[VERIFICATION]["max_abs_diff"] == 0.0
    assert all(a["reproduces"] for a in agreements.values())
    assert report["status"] == "does not reproduce"  # only because it is over the tight budget
    for task, agreement in agreements.items():
        assert report["scores"][task]["overall"] == agreement["submitted_overall"]
    # The preprocessing came from the checkpoint (tiny_cpu.toml's 32 px), not a course guess.
    assert report["preprocessing"] == Preprocessing(image_size=32).to_dict()
    assert report["notes"] == []


@pytest.mark.slow
def test_grade_model_flags_over_budget(graded):
    """A model over max_parameters is flagged in the report and by exit status 1."""
    code, report, _ = graded
    assert report["over_budget"] is True and report["parameters"] > report["max_parameters"]
    assert report["ok"] is False and code == 1


def test_missing_notebook_is_a_clear_error(tiny_run, tmp_path: Path, capsys):
    """A wrong notebook path is reported by name with exit status 2."""
    code = facekit(
        [
            "grade-model",
            "--notebook", str(tmp_path / "missing.ipynb"),
            "--checkpoint", str(tiny_run.run / "checkpoints" / "last.pt"),
            "--data", str(tiny_run.comp),
            "--keys", str(tiny_run.keys),
        ]
    )  # fmt: skip
    assert code == 2 and "missing.ipynb" in capsys.readouterr().err


def test_shipped_grade_model_config_parses():
    """configs/grade_model.toml loads, with a budget that fits the reference ResNet-18."""
    config = load_grade_model_config(DEFAULT_COURSE_CONFIG)
    assert config.max_parameters >= 11_000_000


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[grade_model]\nmax_params = 5\n", "[grade_model] unknown key 'max_params'"),
        ("[grading]\nmax_parameters = 5\n", "unknown table [grading]"),
        ("[metrics]\n", "missing table [grade_model]"),
        (
            "[grade_model]\nmax_parameters = 'many'\n",
            "[grade_model] max_parameters: expected an integer",
        ),
    ],
)
def test_bad_grade_model_config_is_named(tmp_path: Path, text: str, expected: str):
    """A typo or wrong type in the course TOML names the file and the key."""
    path = tmp_path / "course.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_grade_model_config(path)
    assert str(path) in str(error.value) and expected in str(error.value)
