"""Re-encode hidden-label images so that no published file can be looked up by its bytes.

A competition built from a public dataset (LFW, VGGFace2...) would otherwise hand students the
very files of the published release: a SHA-256 (or a file-name-free byte match) against the
public copy names the identity behind every test and verification image. Each such image is
therefore written afresh: decoded, shifted and rescaled by a random crop of at most
`perturbation` of its side, its brightness and contrast changed by at most `perturbation`, and
saved as a new JPEG without metadata (no EXIF, ICC profile or comment). The changes stay far
inside the augmentations the homework trains with, so models see the same faces.

What remains possible is perceptual matching (a near-duplicate search with a perceptual hash or a
face embedding over the public dataset); the README says how staff can make that harder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

REENCODED_SUFFIX = ".jpg"
_GRAYSCALE_MODES = ("1", "L", "LA", "I", "I;16", "F")


def reencode_image(
    source: Path, target: Path, rng: np.random.Generator, perturbation: float, quality: int
) -> None:
    """Write `source` to `target` as a fresh, metadata-free JPEG, perturbed by `rng`.

    `perturbation` (0 to 0.1) bounds the share of each side cropped away before resizing back,
    and the relative change of brightness and contrast; 0 re-encodes without changing a pixel
    beyond what JPEG compression does. The same `rng` state gives the same bytes.
    """
    with Image.open(source) as original:
        image = original.convert("L" if original.mode in _GRAYSCALE_MODES else "RGB")
    width, height = image.size
    shrink = float(rng.uniform(0.5, 1.0)) * perturbation
    crop_width = max(1, round(width * (1 - shrink)))
    crop_height = max(1, round(height * (1 - shrink)))
    left = int(rng.integers(0, width - crop_width + 1))
    top = int(rng.integers(0, height - crop_height + 1))
    box = (left, top, left + crop_width, top + crop_height)
    image = image.resize((width, height), Image.Resampling.BICUBIC, box=box)
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast):
        image = enhancer(image).enhance(1 + float(rng.uniform(-perturbation, perturbation)))
    # No exif=, icc_profile= or comment=: PIL then writes none; optimize only changes coding.
    image.save(target, format="JPEG", quality=quality, optimize=True)
