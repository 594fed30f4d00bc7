"""Read an identity-folder dataset (`<src>/<identity>/<image>`): list, validate, hash.

Bad files never stop a build silently: unreadable or corrupt images and non-image files are
skipped with a reason (or raise under `strict`), and byte-identical copies are dropped so the
same image can never land in two splits.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from data_tools.errors import DataToolsError
from facekit.base.files import file_sha256, is_image_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceImage:
    """One readable image of an identity."""

    path: Path
    sha256: str


@dataclass(frozen=True)
class Skipped:
    """A file left out of the competition, with the reason a person can act on."""

    path: Path
    reason: str


@dataclass
class SourceDataset:
    """The usable images per identity (sorted by file name) and the files left out."""

    root: Path
    identities: dict[str, list[SourceImage]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)


def list_identities(root: Path) -> dict[str, list[Path]]:
    """Each identity folder under `root` with its files, sorted (top-level files are ignored)."""
    if not root.is_dir():
        raise DataToolsError(f"source directory {root} does not exist or is not a directory")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataToolsError(
            f"source directory {root} has no identity folders; expected <src>/<identity>/<image>"
        )
    return {
        folder.name: sorted(
            p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
        )
        for folder in folders
    }


def _problem_with(path: Path) -> str | None:
    """Why `path` is not a usable image, or None when it decodes."""
    if not is_image_name(path.name):
        return "not an image file (unknown extension)"
    try:
        with Image.open(path) as picture:
            picture.load()
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        return f"unreadable or corrupt image ({error})"
    return None


def read_source(
    root: Path,
    identities: Iterable[str],
    files: dict[str, list[Path]],
    *,
    strict: bool,
    progress: bool = False,
) -> SourceDataset:
    """Decode and hash every file of the chosen `identities`.

    Bad files are skipped with a warning (an error under `strict`); a file whose bytes repeat an
    earlier one (in sorted identity/file order) is dropped, so each image appears once.
    """
    dataset = SourceDataset(root)
    seen: dict[str, Path] = {}
    chosen = list(identities)
    total = sum(len(files[name]) for name in chosen)
    with tqdm(
        total=total, desc="reading images", unit="img", disable=None if progress else True
    ) as bar:
        for name in chosen:
            usable = []
            for path in files[name]:
                bar.update()
                problem = _problem_with(path)
                if problem is None:
                    digest = file_sha256(path)
                    if digest in seen:
                        problem = f"same bytes as {seen[digest]} (duplicate dropped)"
                    else:
                        seen[digest] = path
                        usable.append(SourceImage(path, digest))
                        continue
                if strict and "duplicate" not in problem:
                    raise DataToolsError(f"{path}: {problem} (--strict)")
                dataset.skipped.append(Skipped(path, problem))
                log.warning("skipping %s: %s", path, problem)
            dataset.identities[name] = usable
    return dataset
