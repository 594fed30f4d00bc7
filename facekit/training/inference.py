"""Deterministic evaluation: image preprocessing, embeddings, predictions and submission CSVs.

STANDALONE: this file imports only the standard library, torch and torchvision, because the
sandboxed re-scoring worker gets a copy of it (the worker cannot read the repository). Training
and `grade-model` both evaluate through these functions, so a checkpoint re-scored in the sandbox
gives exactly the predictions its training run wrote: same resize, same normalisation, same
batches, float32 without autocast, eval mode.
"""

import csv
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.transforms.v2 import functional as TF

# ImageNet statistics: the usual choice for RGB face crops, and what torchvision models expect.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

CLASSIFICATION_HEADER = ("id", "label")
VERIFICATION_HEADER = ("pair_id", "score")


def read_image(path: Path) -> torch.Tensor:
    """An image file (any format PIL reads: JPEG, PNG, PGM...) as uint8 RGB (3, H, W).

    PIL rather than torchvision.io: torchvision 0.29 deprecates its decoders.
    """
    with Image.open(path) as image:
        return TF.pil_to_tensor(image.convert("RGB"))


def eval_image(path: Path, image_size: int) -> torch.Tensor:
    """Evaluation input of one image: uint8 (3, image_size, image_size), the whole image resized."""
    return TF.resize(read_image(path), [image_size, image_size], antialias=True)


def normalize(images: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
    """uint8 images (N, 3, H, W) to normalised float32 on their device.

    Done after the host-to-device copy so only a quarter of the bytes travel (uint8, not float).
    """
    mean = torch.tensor(MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=images.device).view(1, 3, 1, 1)
    images = (images.float() / 255.0 - mean) / std
    return images.contiguous(memory_format=torch.channels_last) if channels_last else images


@torch.no_grad()
def embed(
    model: torch.nn.Module,
    paths: Sequence[Path],
    image_size: int,
    batch_size: int,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run `model` in eval mode over images; returns (feats (N, D), logits (N, C)), float32 on CPU.

    `model(x)` must return `{"feats": (B, D), "out": (B, C)}` (the Network contract). The caller
    restores train mode if it needs it.
    """
    model.eval()
    feats, logits = [], []
    for start in range(0, len(paths), batch_size):
        batch = torch.stack([eval_image(p, image_size) for p in paths[start : start + batch_size]])
        output = model(normalize(batch.to(device)))
        feats.append(output["feats"].float().cpu())
        logits.append(output["out"].float().cpu())
    if not feats:
        raise ValueError("no images to evaluate")
    return torch.cat(feats), torch.cat(logits)


def cosine_scores(feats_a: torch.Tensor, feats_b: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of matching rows of (N, D) and (N, D): (N,), higher = more alike."""
    return F.cosine_similarity(feats_a, feats_b, dim=1, eps=1e-8)


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file with a header, as dicts of strings."""
    with Path(path).open(newline="") as handle:
        return list(csv.DictReader(handle))


def pair_scores(
    model: torch.nn.Module,
    pairs: Sequence[dict[str, str]],
    images_dir: Path,
    image_size: int,
    batch_size: int,
    device: torch.device | str = "cpu",
) -> list[float]:
    """Verification scores of `pairs` (rows with image_a, image_b), each image embedded once."""
    names = sorted({row["image_a"] for row in pairs} | {row["image_b"] for row in pairs})
    feats, _ = embed(model, [images_dir / n for n in names], image_size, batch_size, device)
    row_of = {name: index for index, name in enumerate(names)}
    index_a = torch.tensor([row_of[row["image_a"]] for row in pairs])
    index_b = torch.tensor([row_of[row["image_b"]] for row in pairs])
    return cosine_scores(feats[index_a], feats[index_b]).tolist()


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Write rows under header with Unix line endings."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_submissions(
    model: torch.nn.Module,
    class_names: Sequence[str],
    test_images_dir: Path,
    test_ids: Sequence[str],
    ver_images_dir: Path,
    test_pairs_csv: Path,
    out_dir: Path,
    image_size: int,
    batch_size: int,
    device: torch.device | str = "cpu",
) -> tuple[Path, Path]:
    """Write `classification.csv` and `verification.csv` into `out_dir`; returns their paths.

    `test_ids` are file names inside `test_images_dir` (the sample submission's `id` column);
    a prediction is the class name at the arg-max of the Network's logits (ImageFolder order).
    """
    _, logits = embed(
        model, [test_images_dir / i for i in test_ids], image_size, batch_size, device
    )
    if logits.shape[1] != len(class_names):
        raise ValueError(
            f"the model has {logits.shape[1]} outputs but there are {len(class_names)} classes"
        )
    labels = [class_names[index] for index in logits.argmax(dim=1).tolist()]
    classification = Path(out_dir) / "classification.csv"
    write_csv(classification, CLASSIFICATION_HEADER, list(zip(test_ids, labels, strict=True)))

    pairs = read_rows(test_pairs_csv)
    scores = pair_scores(model, pairs, ver_images_dir, image_size, batch_size, device)
    verification = Path(out_dir) / "verification.csv"
    rows = [(row["pair_id"], repr(score)) for row, score in zip(pairs, scores, strict=True)]
    write_csv(verification, VERIFICATION_HEADER, rows)
    return classification, verification
