"""`facekit audit`: one label per student of a small class, resumable, escaped."""

import csv
import json
import shutil
from pathlib import Path

import nbformat
import pytest
import torch

from autograder.audit.verdict import library_uses
from autograder.rescore.contents import count_parameters, read_checkpoint
from facekit.base.contract import CLASSIFICATION, NETWORK, SUBMISSION_FILES, VERIFICATION
from facekit.base.paths import SOLUTION_NOTEBOOK
from facekit.cli.main import main as facekit

SPARE = 5000  # extra parameters of the over-budget student


def _notebook_with(folder: Path, edit) -> None:
    notebook = nbformat.read(SOLUTION_NOTEBOOK, as_version=4)
    edit(notebook)
    nbformat.write(notebook, folder / "hw2p2.ipynb")


def _network_cell(notebook):
    return next(
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == NETWORK
    )


def _bigger_network(notebook) -> None:
    cell = _network_cell(notebook)
    marker = "        ### END SOLUTION"
    spare = f"        self.spare = nn.Parameter(torch.zeros({SPARE}))  # never used\n"
    cell.source = cell.source.replace(marker, spare + marker, 1)


def _pretrained_backbone(notebook) -> None:
    cell = nbformat.v4.new_code_cell(
        "import torchvision\nbackbone = torchvision.models.resnet18(weights='IMAGENET1K_V1')"
    )
    notebook.cells.append(cell)


def _bigger_checkpoint(source: Path, target: Path) -> None:
    payload = torch.load(source, map_location="cpu", weights_only=True)
    for value in payload.values():
        if isinstance(value, dict) and value and all(torch.is_tensor(t) for t in value.values()):
            value["spare"] = torch.zeros(SPARE)
    torch.save(payload, target)


@pytest.fixture(scope="module")
def audited(tiny_run, tmp_path_factory):
    """A class of five (honest, tampered CSV, over budget, pretrained, no checkpoint), audited."""
    root = tmp_path_factory.mktemp("audit")
    checkpoint = tiny_run.run / "checkpoints" / "last.pt"
    csvs = tiny_run.run / "submissions"
    honest_parameters = count_parameters(read_checkpoint(checkpoint).weights)
    students = {
        "honest": None,
        "tampered": None,
        "over_budget": _bigger_network,
        "pretrained": _pretrained_backbone,
        "no_checkpoint": None,
    }
    for student, edit in students.items():
        folder = root / "class" / student
        folder.mkdir(parents=True)
        _notebook_with(folder, edit or (lambda notebook: None))
        for task in (CLASSIFICATION, VERIFICATION):
            shutil.copy(csvs / f"{task}.csv", folder / f"{task}.csv")
        if student == "over_budget":
            _bigger_checkpoint(checkpoint, folder / "best.pt")
        elif student != "no_checkpoint":
            shutil.copy(checkpoint, folder / "best.pt")
    rows = (root / "class" / "tampered" / SUBMISSION_FILES[VERIFICATION]).read_text().splitlines()
    pair_id, score = rows[1].split(",")
    rows[1] = f"{pair_id},{float(score) + 0.5}"
    (root / "class" / "tampered" / SUBMISSION_FILES[VERIFICATION]).write_text(
        "\n".join(rows) + "\n"
    )
    course = root / "course.toml"
    budget = honest_parameters + SPARE // 2
    course.write_text(f"[grade_model]\nmax_parameters = {budget}\nwall_seconds = 600\n")
    argv = [
        "audit", str(root / "class"), "--data", str(tiny_run.comp), "--keys", str(tiny_run.keys),
        "--out", str(root / "out"), "--course-config", str(course), "--jobs", "2",
    ]  # fmt: skip
    code = facekit(argv)
    return code, root, argv


@pytest.mark.slow
def test_each_student_gets_the_right_label(audited):
    """Honest reproduces; tampered, over budget, pretrained and checkpoint-less are flagged."""
    code, root, _ = audited
    with (root / "out" / "audit.csv").open(newline="") as handle:
        labels = {row["student"]: row["label"] for row in csv.DictReader(handle)}
    assert labels == {
        "honest": "reproduces",
        "tampered": "does not reproduce",
        "over_budget": "over budget",
        "pretrained": "uses library modules",
        "no_checkpoint": "could not run",
    }
    assert code == 1
    page = (root / "out" / "audit.html").read_text()
    assert "1 reproduces" in page and "IMAGENET1K_V1" in page


@pytest.mark.slow
def test_an_unchanged_class_is_resumed_and_a_changed_student_redone(audited, capsys):
    """Does a second run reuse every result, and redo only the student whose files changed?"""
    _, root, argv = audited
    capsys.readouterr()
    assert facekit(argv) == 1
    assert (
        "5 students audited (5 unchanged since the last run); use --force"
        in capsys.readouterr().out
    )
    shutil.copy(
        root / "class" / "honest" / SUBMISSION_FILES[VERIFICATION],
        root / "class" / "tampered" / SUBMISSION_FILES[VERIFICATION],
    )
    assert facekit(argv) == 1
    out = capsys.readouterr().out
    assert "(4 unchanged since the last run)" in out and "tampered: reproduces" in out
    saved = json.loads((root / "out" / "tampered" / "audit.json").read_text())
    assert saved["verdict"]["label"] == "reproduces"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "import torchvision.models as tvm\nnet = tvm.resnet50(pretrained=True)",
            "pretrained=True",
        ),
        (
            "from torch.hub import load_state_dict_from_url\nw = load_state_dict_from_url(URL)",
            "load_state_dict_from_url",
        ),
        ("m = torch.hub.load('pytorch/vision', 'resnet18')", "torch.hub.load"),
        (
            "from torchvision.models import ResNet18_Weights\n"
            "m = f(weights=ResNet18_Weights.DEFAULT)",
            "weights=ResNet18_Weights.DEFAULT",
        ),
    ],
)
def test_pretrained_weights_are_found(tmp_path, code, expected):
    """Is each common way of loading pretrained weights named?"""

    def add(notebook):
        notebook.cells.append(nbformat.v4.new_code_cell(code))

    _notebook_with(tmp_path, add)
    assert any(expected in reason for reason in library_uses(tmp_path / "hw2p2.ipynb"))


@pytest.mark.parametrize(
    "code",
    [
        "sampler = WeightedRandomSampler(weights=sample_weights, num_samples=10)",
        "state = torch.load('best.pt', weights_only=True)",
        "m = torchvision.models.resnet18(weights=None)",
    ],
)
def test_ordinary_code_is_not_flagged(tmp_path, code):
    """Are sampler weights, safe checkpoint loading and weights=None left alone?"""

    def add(notebook):
        notebook.cells.append(nbformat.v4.new_code_cell(code))

    _notebook_with(tmp_path, add)
    assert library_uses(tmp_path / "hw2p2.ipynb") == []


def test_a_network_built_from_torchvision_is_flagged(tmp_path):
    """Does a Network wrapping torchvision's resnet break the imports policy for the audit?"""

    def wrap(notebook):
        _network_cell(notebook).source += (
            "\n\nimport torchvision\n\nclass Network(nn.Module):\n"
            "    def __init__(self, num_classes):\n        super().__init__()\n"
            "        self.body = torchvision.models.resnet18(num_classes=num_classes)\n"
        )

    _notebook_with(tmp_path, wrap)
    assert any("Network uses" in reason for reason in library_uses(tmp_path / "hw2p2.ipynb"))


def test_missing_class_folder_is_staff_error(tmp_path, capsys):
    """Does a class folder that does not exist exit 2 with the path named?"""
    argv = ["audit", str(tmp_path / "none"), "--data", str(tmp_path), "--keys", str(tmp_path),
            "--out", str(tmp_path / "o")]  # fmt: skip
    assert facekit(argv) == 2
    assert "facekit audit:" in capsys.readouterr().err
