"""Does the whole source notebook run end to end, with and without competition data?

The parameters are overridden the way papermill does it: a cell injected right after the cell
tagged `parameters`. The data is a tiny competition directory in DESIGN.md's layout.
"""

import copy
import csv
import random
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell
from PIL import Image

from facekit.paths import SOLUTION_NOTEBOOK

pytestmark = pytest.mark.slow

IDENTITIES = ("alice", "bob", "carol")
TEST_IMAGES = 5
VAL_PAIRS = 6
TEST_PAIRS = 4


def with_parameters(notebook: nbformat.NotebookNode, **values) -> nbformat.NotebookNode:
    """A copy of `notebook` with a cell setting `values` injected after the parameters cell."""
    notebook = copy.deepcopy(notebook)
    index = next(
        i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])
    )
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    injected = new_code_cell(source, id="injected-parameters")
    injected.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(index + 1, injected)
    return notebook


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
                write_image(root / f"cls_data/{split}/{identity}/{image}.png", rng, 60 * number)
    for image in range(TEST_IMAGES):
        write_image(root / f"cls_data/test/{image:04d}.png", rng, 40 * image)
    names = [f"v{image}.jpg" for image in range(6)]
    for image, name in enumerate(names):
        write_image(root / "ver_data/images" / name, rng, 40 * image)
    pairs = [(names[i % 6], names[(i * 5 + 1) % 6]) for i in range(VAL_PAIRS + TEST_PAIRS)]
    val = [(f"val{i}", a, b, i % 2) for i, (a, b) in enumerate(pairs[:VAL_PAIRS])]
    test = [(f"pair{i}", a, b) for i, (a, b) in enumerate(pairs[VAL_PAIRS:])]
    write_rows(root / "ver_data/val_pairs.csv", ("pair_id", "image_a", "image_b", "label"), val)
    write_rows(root / "ver_data/test_pairs.csv", ("pair_id", "image_a", "image_b"), test)
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


@pytest.mark.parametrize(
    ("arch", "block", "margin_head", "schedule"),
    [("resnet", "basic", "arcface", "joint"), ("convnext", None, "sphereface", "sequential")],
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

    header, rows = read_rows(out_dir / "classification.csv")
    assert header == ["id", "label"]
    assert sorted(row[0] for row in rows) == [f"{i:04d}.png" for i in range(TEST_IMAGES)]
    assert {row[1] for row in rows} <= set(IDENTITIES)
    header, rows = read_rows(out_dir / "verification.csv")
    assert header == ["pair_id", "score"]
    assert [row[0] for row in rows] == [f"pair{i}" for i in range(TEST_PAIRS)]
    assert all(-1.0001 <= float(row[1]) <= 1.0001 for row in rows), rows


def test_notebook_runs_without_data(execute_notebook, tmp_path):
    """Without competition data, does every cell run, the pipeline saying it is skipped?"""
    notebook = with_parameters(
        nbformat.read(SOLUTION_NOTEBOOK, as_version=4),
        DATA_ROOT=str(tmp_path / "missing"),
        OUT_DIR=str(tmp_path / "out"),
    )
    executed = execute_notebook(notebook, tmp_path)
    printed = "".join(
        output.get("text", "") for cell in executed.cells for output in cell.get("outputs", [])
    )
    assert "Skipping data loading" in printed
    assert not (tmp_path / "out").exists()
