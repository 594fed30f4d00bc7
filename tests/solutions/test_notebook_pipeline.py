"""Does the whole source notebook run end to end, with and without competition data, resume
after a disconnect, and write a checkpoint that `facekit grade-model` reproduces?

The parameters are overridden the way papermill does it: a cell injected right after the cell
tagged `parameters`. The data is a tiny competition directory in DESIGN.md's layout.
"""

import ast
import contextlib
import copy
import csv
import importlib.util
import json
import random
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell
from PIL import Image

from facekit.base import contract
from facekit.base.contract import (
    ARCFACE,
    CLASSIFICATION,
    CLS_DATA,
    CLS_TEST,
    SPHEREFACE,
    SUBMISSION_COLUMNS,
    SUBMISSION_FILES,
    TEST_PAIRS_HEADER,
    VAL_PAIRS_HEADER,
    VER_IMAGES,
    VERIFICATION,
)
from facekit.base.paths import SOLUTION_NOTEBOOK
from facekit.cli.main import main as facekit
from facekit.sandbox_side import inference

IDENTITIES = ("alice", "bob", "carol")
TEST_IMAGES = 5
VAL_PAIRS = 6
TEST_PAIRS = 4


def with_parameters(notebook: nbformat.NotebookNode, **values) -> nbformat.NotebookNode:
    """A copy of `notebook` with a cell setting `values` injected after the parameters cell."""
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    return with_cell_after(notebook, "parameters", source, "injected-parameters")


def with_cell_after(
    notebook: nbformat.NotebookNode, cell_id: str, source: str, new_id: str
) -> nbformat.NotebookNode:
    """A copy of `notebook` with a code cell `source` inserted after the cell `cell_id`."""
    notebook = copy.deepcopy(notebook)
    index = next(i for i, cell in enumerate(notebook.cells) if cell.id == cell_id)
    injected = new_code_cell(source, id=new_id)
    injected.metadata["tags"] = [new_id]
    notebook.cells.insert(index + 1, injected)
    return notebook


def printed(notebook: nbformat.NotebookNode) -> str:
    """Everything the executed notebook's cells printed."""
    return "".join(
        output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", [])
    )


def cell_constants(cell_id: str) -> dict[str, object]:
    """The literal top-level assignments of one cell of the source notebook."""
    notebook = nbformat.read(SOLUTION_NOTEBOOK, as_version=4)
    source = next(cell.source for cell in notebook.cells if cell.id == cell_id)
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            with contextlib.suppress(ValueError):
                found[node.targets[0].id] = ast.literal_eval(node.value)
    return found


def write_image(path: Path, rng: random.Random, shade: int) -> None:
    """A 20x20 RGB image: noise around a per-identity shade."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = bytes(max(0, min(255, shade + rng.randint(-40, 40))) for _ in range(20 * 20 * 3))
    Image.frombytes("RGB", (20, 20), pixels).save(path)


def write_rows(path: Path, header: tuple[str, ...], rows: list[tuple]) -> None:
    """Write a small CSV."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def make_competition(root: Path) -> Path:
    """A tiny competition directory (DESIGN.md layout) with noise images."""
    rng = random.Random(0)
    for number, identity in enumerate(IDENTITIES):
        for split, count in (("train", 4), ("dev", 2)):
            for image in range(count):
                write_image(root / f"{CLS_DATA}/{split}/{identity}/{image}.png", rng, 60 * number)
    for image in range(TEST_IMAGES):
        write_image(root / f"{CLS_TEST}/{image:04d}.png", rng, 40 * image)
    names = [f"v{image}.jpg" for image in range(6)]
    for image, name in enumerate(names):
        write_image(root / VER_IMAGES / name, rng, 40 * image)
    pairs = [(names[i % 6], names[(i * 5 + 1) % 6]) for i in range(VAL_PAIRS + TEST_PAIRS)]
    val = [(f"val{i}", a, b, i % 2) for i, (a, b) in enumerate(pairs[:VAL_PAIRS])]
    test = [(f"pair{i}", a, b) for i, (a, b) in enumerate(pairs[VAL_PAIRS:])]
    write_rows(root / contract.VAL_PAIRS, VAL_PAIRS_HEADER, val)
    write_rows(root / contract.TEST_PAIRS, TEST_PAIRS_HEADER, test)
    return root


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV file."""
    with path.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


TINY = dict(
    EPOCHS=2,
    BATCH_SIZE=4,
    IMAGE_SIZE=24,
    DEVICE="cpu",
    NUM_WORKERS=0,
    DEPTHS=(1, 1, 1, 1),
    WIDTHS=(4, 8, 8, 8),
    EMBEDDING_DIM=8,
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("arch", "block", "margin_head", "schedule"),
    [("resnet", "basic", ARCFACE, "joint"), ("convnext", None, SPHEREFACE, "sequential")],
)
def test_notebook_writes_both_submissions(
    execute_notebook, tmp_path, arch, block, margin_head, schedule
):
    """Do training and evaluation write classification.csv and verification.csv correctly?"""
    data_root = make_competition(tmp_path / "competition")
    out_dir = tmp_path / "out"
    notebook = with_parameters(
        nbformat.read(SOLUTION_NOTEBOOK, as_version=4),
        DATA_ROOT=str(data_root),
        OUT_DIR=str(out_dir),
        ARCH=arch,
        BLOCK=block,
        MARGIN_HEAD=margin_head,
        MARGIN_SCHEDULE=schedule,
        FINETUNE_EPOCHS=1,
        **TINY,
    )
    execute_notebook(notebook, tmp_path)

    header, rows = read_rows(out_dir / SUBMISSION_FILES[CLASSIFICATION])
    assert header == list(SUBMISSION_COLUMNS[CLASSIFICATION])
    assert sorted(row[0] for row in rows) == [f"{i:04d}.png" for i in range(TEST_IMAGES)]
    assert {row[1] for row in rows} <= set(IDENTITIES)
    header, rows = read_rows(out_dir / SUBMISSION_FILES[VERIFICATION])
    assert header == list(SUBMISSION_COLUMNS[VERIFICATION])
    assert [row[0] for row in rows] == [f"pair{i}" for i in range(TEST_PAIRS)]
    assert all(-1.0001 <= float(row[1]) <= 1.0001 for row in rows), rows


@pytest.mark.slow
def test_notebook_runs_without_data(execute_notebook, tmp_path):
    """Without competition data, does every cell run, the pipeline saying it is skipped?"""
    notebook = with_parameters(
        nbformat.read(SOLUTION_NOTEBOOK, as_version=4),
        DATA_ROOT=str(tmp_path / "missing"),
        OUT_DIR=str(tmp_path / "out"),
    )
    executed = execute_notebook(notebook, tmp_path)
    assert "Skipping data loading" in printed(executed)
    assert not (tmp_path / "out").exists()


def test_notebook_preprocessing_defaults_are_facekits():
    """Are the notebook's image size, mean and std the ones facekit train and grade-model use?"""
    assert cell_constants("parameters")["IMAGE_SIZE"] == inference.IMAGE_SIZE
    constants = cell_constants("data-definitions")
    assert tuple(constants["MEAN"]) == inference.MEAN
    assert tuple(constants["STD"]) == inference.STD


DISCONNECT = """
_train_one_epoch, _epochs_trained = train_one_epoch, []


def train_one_epoch(*args, **kwargs):
    if _epochs_trained:
        raise RuntimeError("simulated Colab disconnect")
    _epochs_trained.append(1)
    return _train_one_epoch(*args, **kwargs)
"""


@pytest.mark.slow
@pytest.mark.parametrize("margin_head", [ARCFACE, SPHEREFACE])
def test_notebook_resumes_after_a_disconnect(execute_notebook, tmp_path, margin_head):
    """Interrupted during epoch 2 and re-run, does the notebook continue after epoch 1 with the
    saved optimiser and schedule, and finish the run?"""
    out_dir = tmp_path / "out"
    notebook = with_parameters(
        nbformat.read(SOLUTION_NOTEBOOK, as_version=4),
        DATA_ROOT=str(make_competition(tmp_path / "competition")),
        OUT_DIR=str(out_dir),
        MARGIN_HEAD=margin_head,
        **{**TINY, "EPOCHS": 3},
    )
    interrupted = with_cell_after(notebook, "training-definitions", DISCONNECT, "disconnect")
    with pytest.raises(CellExecutionError, match="simulated Colab disconnect"):
        execute_notebook(interrupted, tmp_path)
    saved = torch.load(out_dir / "last.pt", weights_only=True)
    steps_per_epoch = saved["scheduler"]["last_epoch"]
    assert saved["epoch"] == 1 and saved["optimizer"]["state"], "epoch 1 was not saved"

    text = printed(execute_notebook(notebook, tmp_path))
    assert "after epoch 1" in text and "epoch 1/3" not in text, text
    assert "epoch 2/3" in text and "epoch 3/3" in text, text
    final = torch.load(out_dir / "last.pt", weights_only=True)
    assert final["epoch"] == 3 and final["scheduler"]["last_epoch"] == 3 * steps_per_epoch


def _tiny_run_helper():
    path = Path(__file__).resolve().parents[1] / "facekit" / "training" / "tiny_run.py"
    spec = importlib.util.spec_from_file_location("facekit_tests_tiny_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tamper(path: Path, column: int, change) -> Path:
    """A copy of the CSV at `path` with the first data row's `column` changed by `change`."""
    header, rows = read_rows(path)
    rows[0][column] = change(rows[0][column], rows)
    tampered = path.with_name(f"tampered_{path.name}")
    write_rows(tampered, tuple(header), rows)
    return tampered


@pytest.mark.slow
def test_notebook_checkpoint_reproduces_in_grade_model(execute_notebook, tmp_path, capsys):
    """Issue 13: the notebook's own pipeline -> best.pt and CSVs -> `facekit grade-model` says
    "reproduces" with nothing guessed by staff; one changed CSV row is flagged."""
    comp, keys = _tiny_run_helper().build_competition(tmp_path / "data")
    out_dir = tmp_path / "out"
    notebook = with_parameters(
        nbformat.read(SOLUTION_NOTEBOOK, as_version=4),
        DATA_ROOT=str(comp),
        OUT_DIR=str(out_dir),
        MARGIN_SCHEDULE="sequential",
        FINETUNE_EPOCHS=1,
        **{**TINY, "BATCH_SIZE": 16, "IMAGE_SIZE": 32, "EPOCHS": 1},
    )
    execute_notebook(notebook, tmp_path)
    best = torch.load(out_dir / "best.pt", weights_only=True)
    assert best["preprocessing"]["mean"] == list(inference.MEAN)

    def grade(classification: Path, verification: Path, name: str) -> tuple[int, dict]:
        code = facekit(
            [
                "grade-model",
                "--notebook", str(SOLUTION_NOTEBOOK),
                "--checkpoint", str(out_dir / "best.pt"),
                "--data", str(comp),
                "--keys", str(keys),
                "--submission", str(classification), str(verification),
                "--out", str(tmp_path / name),
            ]
        )  # fmt: skip
        return code, json.loads((tmp_path / name / "report.json").read_text())

    classification, verification = (
        out_dir / SUBMISSION_FILES[CLASSIFICATION],
        out_dir / SUBMISSION_FILES[VERIFICATION],
    )
    code, report = grade(classification, verification, "honest")
    assert code == 0 and report["status"] == "reproduces", capsys.readouterr().out
    assert report["notes"] == []  # network_kwargs and preprocessing came from the checkpoint

    def other_label(label: str, rows) -> str:
        return next(name for name in best["class_names"] if name != label)

    code, report = grade(_tamper(classification, 1, other_label), verification, "label")
    assert code == 1 and report["status"] == "does not reproduce"
    assert [a["differing_rows"] for a in report["agreements"]] == [1, 0]
    shifted = _tamper(verification, 1, lambda score, rows: repr(float(score) - 0.01))
    code, report = grade(classification, shifted, "score")
    assert code == 1 and [a["differing_rows"] for a in report["agreements"]] == [0, 1]
