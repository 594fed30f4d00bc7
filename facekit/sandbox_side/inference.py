"""Deterministic evaluation: image preprocessing and embeddings.

STANDALONE: this file imports only the standard library, torch and torchvision, because the
sandboxed re-scoring worker gets a copy of it (the worker cannot read the repository). Training
and `grade-model` both evaluate through these functions (and build their CSVs from the results
with `facekit.training.submission_csv`), so a checkpoint re-scored in the sandbox
gives the predictions its training run wrote: same resize, same normalisation, float32 without
autocast, eval mode.

The evaluation preprocessing is a contract recorded in every checkpoint (`Preprocessing`): the
notebook's training cell and `facekit train` both store it, and `grade-model` reads it back. The
defaults below are the course's, stated once; the source notebook's parameters cell repeats them
and a test keeps the two identical.
"""

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.transforms.v2 import functional as TF

# Map pixels to about [-1, 1]. Faces are trained from scratch, so ImageNet statistics buy nothing.
IMAGE_SIZE = 112
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
RESIZE_METHODS = ("bilinear-antialias",)  # the whole image, to a square, uint8, antialiased
CHANNEL_ORDERS = ("RGB", "BGR")


@dataclass(frozen=True)
class Preprocessing:
    """How an image file becomes the Network's evaluation input (3, image_size, image_size).

    Decode to RGB, resize the whole image to image_size x image_size (bilinear, antialiased, on
    uint8), reorder channels, scale to [0, 1], subtract `mean` and divide by `std` per channel.
    """

    image_size: int = IMAGE_SIZE
    mean: tuple[float, float, float] = MEAN
    std: tuple[float, float, float] = STD
    resize: str = RESIZE_METHODS[0]
    channel_order: str = CHANNEL_ORDERS[0]

    def to_dict(self) -> dict[str, Any]:
        """Plain form stored in checkpoints (JSON and `torch.save(weights_only)` safe)."""
        return {**asdict(self), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, raw: Any) -> "Preprocessing":
        """Parse a stored record; raises ValueError naming the field that is wrong."""
        if not isinstance(raw, dict):
            raise ValueError(f"preprocessing must be a dict, got {type(raw).__name__}")
        unknown = sorted(set(raw) - {"image_size", "mean", "std", "resize", "channel_order"})
        if unknown:
            raise ValueError(f"preprocessing has an unknown field {unknown[0]!r}")
        values = {**DEFAULT_PREPROCESSING.to_dict(), **raw}
        size = values["image_size"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"preprocessing image_size must be a positive integer, got {size!r}")
        stats = {}
        for name in ("mean", "std"):
            value = values[name]
            if (
                not isinstance(value, list | tuple)
                or len(value) != 3
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            ):
                raise ValueError(f"preprocessing {name} must be 3 numbers, got {value!r}")
            stats[name] = tuple(float(v) for v in value)
        if min(stats["std"]) <= 0:
            raise ValueError(f"preprocessing std must be positive, got {list(stats['std'])}")
        for name, allowed in (("resize", RESIZE_METHODS), ("channel_order", CHANNEL_ORDERS)):
            if values[name] not in allowed:
                raise ValueError(
                    f"preprocessing {name} must be one of {', '.join(allowed)}, "
                    f"got {values[name]!r}"
                )
        return cls(size, stats["mean"], stats["std"], values["resize"], values["channel_order"])


DEFAULT_PREPROCESSING = Preprocessing()


def read_image(path: Path) -> torch.Tensor:
    """An image file (any format PIL reads: JPEG, PNG, PGM...) as uint8 RGB (3, H, W).

    PIL rather than torchvision.io: torchvision 0.29 deprecates its decoders.
    """
    with Image.open(path) as image:
        return TF.pil_to_tensor(image.convert("RGB"))


def eval_image(path: Path, image_size: int) -> torch.Tensor:
    """Evaluation input of one image: uint8 (3, image_size, image_size), the whole image resized."""
    return TF.resize(read_image(path), [image_size, image_size], antialias=True)


def normalize(
    images: torch.Tensor,
    channels_last: bool = False,
    preprocessing: Preprocessing = DEFAULT_PREPROCESSING,
) -> torch.Tensor:
    """uint8 RGB images (N, 3, H, W) to normalised float32 on their device.

    Done after the host-to-device copy so only a quarter of the bytes travel (uint8, not float).
    The arithmetic is torchvision's `ToDtype(scale=True)` then `Normalize`, so a notebook using
    those transforms gets the same numbers.
    """
    if preprocessing.channel_order == "BGR":
        images = images.flip(1)
    mean = torch.tensor(preprocessing.mean, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(preprocessing.std, device=images.device).view(1, 3, 1, 1)
    images = (images.float().mul_(1.0 / 255) - mean) / std
    return images.contiguous(memory_format=torch.channels_last) if channels_last else images


@torch.no_grad()
def embed_batches(
    model: torch.nn.Module,
    paths: Sequence[Path],
    preprocessing: Preprocessing,
    batch_size: int,
    device: torch.device | str = "cpu",
    channels_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(feats (B, D), logits (B, C)) of consecutive batches of `paths`, float32 on CPU.

    `model(x)` must return `{"feats": (B, D), "out": (B, C)}` (the Network contract); it is put
    in eval mode, and the caller restores train mode if it needs it.
    """
    model.eval()
    for start in range(0, len(paths), batch_size):
        batch = torch.stack(
            [eval_image(p, preprocessing.image_size) for p in paths[start : start + batch_size]]
        )
        output = model(normalize(batch.to(device), channels_last, preprocessing))
        yield output["feats"].float().cpu(), output["out"].float().cpu()


def embed(
    model: torch.nn.Module,
    paths: Sequence[Path],
    preprocessing: Preprocessing,
    batch_size: int,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run `model` in eval mode over images; returns (feats (N, D), logits (N, C)) on CPU."""
    batches = list(embed_batches(model, paths, preprocessing, batch_size, device))
    if not batches:
        raise ValueError("no images to evaluate")
    feats, logits = zip(*batches, strict=True)
    return torch.cat(feats), torch.cat(logits)


def cosine_scores(feats_a: torch.Tensor, feats_b: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of matching rows of (N, D) and (N, D): (N,), higher = more alike."""
    return F.cosine_similarity(feats_a, feats_b, dim=1, eps=1e-8)
