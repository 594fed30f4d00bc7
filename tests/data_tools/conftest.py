"""Small synthetic datasets and competitions shared by the data_tools tests."""

import hashlib
import shutil
from pathlib import Path

import pytest

from data_tools.build import BuildConfig, build_competition
from data_tools.synth import generate_identities

SMALL_BUILD = BuildConfig(seed=7, ver_identities=4, val_pairs=20, test_pairs=30)


def _tree_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def tree_hashes():
    """`tree_hashes(root)`: relative path -> sha256 of every file under `root`."""
    return _tree_hashes


@pytest.fixture
def leftovers():
    """`leftovers(folder)`: names of half-written staging directories left in `folder`."""
    return lambda folder: sorted(p.name for p in folder.iterdir() if ".partial-" in p.name)


@pytest.fixture(scope="session")
def synth_source(tmp_path_factory) -> Path:
    """12 synthetic identities x 8 images at 32 px (read-only: copy before changing it)."""
    out = tmp_path_factory.mktemp("synth") / "identities"
    generate_identities(out, identities=12, images_per_identity=8, size=32, seed=3)
    return out


@pytest.fixture(scope="session")
def built_competition(tmp_path_factory, synth_source) -> tuple[Path, Path]:
    """(competition, keys) built from `synth_source` (read-only: use `competition_copy`)."""
    root = tmp_path_factory.mktemp("built")
    build_competition(synth_source, root / "comp", root / "keys", SMALL_BUILD)
    return root / "comp", root / "keys"


@pytest.fixture
def competition_copy(tmp_path, built_competition) -> tuple[Path, Path]:
    """A private copy of `built_competition` that a test may damage."""
    comp, keys = built_competition
    shutil.copytree(comp, tmp_path / "comp")
    shutil.copytree(keys, tmp_path / "keys")
    return tmp_path / "comp", tmp_path / "keys"
