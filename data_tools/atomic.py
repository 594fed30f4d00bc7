"""Write a directory all at once: build it beside the target, then rename it into place.

A failure (bad input found late, Ctrl-C, a full disk) then leaves no half-written output behind.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from data_tools.errors import DataToolsError


def check_target(target: Path, overwrite: bool) -> None:
    """Refuse to replace an existing non-empty `target` unless `overwrite` is set."""
    if target.is_file():
        raise DataToolsError(f"output path {target} is a file; expected a directory to create")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise DataToolsError(
            f"output directory {target} already exists and is not empty; "
            "choose another path or pass --overwrite"
        )


@contextmanager
def staging_dir(target: Path) -> Iterator[Path]:
    """Yield an empty temporary directory on the same filesystem as `target`.

    It is deleted when the block ends; move it into place with `publish` before that.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, target: Path) -> None:
    """Replace `target` (absent, empty, or old output) with the finished `staging` directory."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except OSError:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
