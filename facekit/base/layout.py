"""The competition directory layout and CSV formats (DESIGN.md, "Competition data layout").

One place for every path and header, shared by the builder, the checker and the statistics.
"""

import csv
import re
from pathlib import Path

CLS_TRAIN = "cls_data/train"
CLS_DEV = "cls_data/dev"
CLS_TEST = "cls_data/test"
VER_IMAGES = "ver_data/images"
VAL_PAIRS = "ver_data/val_pairs.csv"
TEST_PAIRS = "ver_data/test_pairs.csv"
SAMPLE_CLS = "sample_submissions/classification.csv"
SAMPLE_VER = "sample_submissions/verification.csv"
MANIFEST = "manifest.json"

KEYS_CLS = "cls_test.csv"
KEYS_VER = "ver_test.csv"
# Hidden: which identity each verification image shows, so `check` can prove the open set.
KEYS_VER_IMAGES = "ver_images.csv"
KEYS_MANIFEST = "manifest.json"

VAL_PAIRS_HEADER = ("pair_id", "image_a", "image_b", "label")
TEST_PAIRS_HEADER = ("pair_id", "image_a", "image_b")
SAMPLE_CLS_HEADER = ("id", "label")
SAMPLE_VER_HEADER = ("pair_id", "score")
KEYS_CLS_HEADER = ("id", "label", "usage")
KEYS_VER_HEADER = ("pair_id", "label", "usage")
KEYS_VER_IMAGES_HEADER = ("image", "identity")
USAGES = ("Public", "Private")

# Extensions PIL reads and torchvision's ImageFolder accepts.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
# Renamed (test and verification) images: a keyed hash, nothing else.
OPAQUE_NAME_LENGTH = 20
OPAQUE_NAME = re.compile(rf"^[0-9a-f]{{{OPAQUE_NAME_LENGTH}}}\.[a-z]+$")


def is_image_name(name: str) -> bool:
    """Does the file name have an image extension (any case)?"""
    return Path(name).suffix.lower() in IMAGE_EXTENSIONS


def write_csv(path: Path, header: tuple[str, ...], rows: list[tuple]) -> None:
    """Write `rows` under `header` with Unix line endings (stable bytes for checksums)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of a CSV file as strings; blank lines are skipped, short rows padded
    with "" (so a missing field reads as empty, never as an absent key)."""
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        padding = [""] * len(header)
        rows = [dict(zip(header, row + padding, strict=False)) for row in reader if row]
    return header, rows
