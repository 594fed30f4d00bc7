"""Files: writing one so that readers never see it half-written, hashing one, image names."""

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename.

    A crash, Ctrl-C or exception inside the block leaves `path` as it was and removes the
    temporary file. The parent directory is created when missing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes: the identity of a submission, an image or a manifest."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# Extensions PIL reads and torchvision's ImageFolder accepts.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def is_image_name(name: str) -> bool:
    """Does the file name have an image extension (any case)?"""
    return Path(name).suffix.lower() in IMAGE_EXTENSIONS
