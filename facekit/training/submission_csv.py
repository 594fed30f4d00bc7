"""Submission CSVs from a Network's outputs: the rows, and the two files a run writes.

Trusted side of evaluation (the sandbox side, `facekit.sandbox_side.inference`, only embeds
images). Training, the demo and `grade-model` build their CSVs with these same row functions and
the contract's file names and headers, so a re-scored checkpoint's CSVs match its training run's.
"""

from collections.abc import Sequence
from pathlib import Path

import torch

from facekit.base.contract import CLASSIFICATION, SUBMISSION_COLUMNS, SUBMISSION_FILES, VERIFICATION
from facekit.base.csv_files import read_rows, write_csv
from facekit.sandbox_side.inference import Preprocessing, cosine_scores, embed


def pair_image_names(pairs: Sequence[dict[str, str]]) -> list[str]:
    """Every image named by `pairs` (rows with image_a, image_b), once, sorted."""
    return sorted({row["image_a"] for row in pairs} | {row["image_b"] for row in pairs})


def verification_rows(
    pairs: Sequence[dict[str, str]], names: Sequence[str], feats: torch.Tensor
) -> list[tuple[str, str]]:
    """(pair_id, score) rows: cosine of the two images' rows of feats (N, D), in `names` order."""
    row_of = {name: index for index, name in enumerate(names)}
    index_a = torch.tensor([row_of[row["image_a"]] for row in pairs], dtype=torch.long)
    index_b = torch.tensor([row_of[row["image_b"]] for row in pairs], dtype=torch.long)
    scores = cosine_scores(feats[index_a], feats[index_b]).tolist()
    return [(row["pair_id"], repr(score)) for row, score in zip(pairs, scores, strict=True)]


def classification_rows(
    test_ids: Sequence[str], predicted: torch.Tensor, class_names: Sequence[str]
) -> list[tuple[str, str]]:
    """(id, label) rows: `predicted` (N,) holds class indices (ImageFolder order)."""
    return [(i, class_names[c]) for i, c in zip(test_ids, predicted.tolist(), strict=True)]


def pair_scores(
    model: torch.nn.Module,
    pairs: Sequence[dict[str, str]],
    images_dir: Path,
    preprocessing: Preprocessing,
    batch_size: int,
    device: torch.device | str = "cpu",
) -> list[float]:
    """Verification scores of `pairs` (rows with image_a, image_b), each image embedded once."""
    names = pair_image_names(pairs)
    feats, _ = embed(model, [images_dir / n for n in names], preprocessing, batch_size, device)
    return [float(score) for _, score in verification_rows(pairs, names, feats)]


def write_submissions(
    model: torch.nn.Module,
    class_names: Sequence[str],
    test_images_dir: Path,
    test_ids: Sequence[str],
    ver_images_dir: Path,
    test_pairs_csv: Path,
    out_dir: Path,
    preprocessing: Preprocessing,
    batch_size: int,
    device: torch.device | str = "cpu",
) -> tuple[Path, Path]:
    """Write `classification.csv` and `verification.csv` into `out_dir`; returns their paths.

    `test_ids` are file names inside `test_images_dir` (the sample submission's `id` column);
    a prediction is the class name at the arg-max of the Network's logits (ImageFolder order).
    """
    _, logits = embed(
        model, [test_images_dir / i for i in test_ids], preprocessing, batch_size, device
    )
    if logits.shape[1] != len(class_names):
        raise ValueError(
            f"the model has {logits.shape[1]} outputs but there are {len(class_names)} classes"
        )
    classification = Path(out_dir) / SUBMISSION_FILES[CLASSIFICATION]
    rows = classification_rows(test_ids, logits.argmax(dim=1), class_names)
    write_csv(classification, SUBMISSION_COLUMNS[CLASSIFICATION], rows)

    pairs = read_rows(test_pairs_csv)
    names = pair_image_names(pairs)
    feats, _ = embed(model, [ver_images_dir / n for n in names], preprocessing, batch_size, device)
    verification = Path(out_dir) / SUBMISSION_FILES[VERIFICATION]
    rows = verification_rows(pairs, names, feats)
    write_csv(verification, SUBMISSION_COLUMNS[VERIFICATION], rows)
    return classification, verification
