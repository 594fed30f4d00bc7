"""Build `autograder.zip` for Gradescope from this checkout.

Layout of the zip (Gradescope unpacks it into /autograder/source):
    setup.sh, run_autograder     from template/, with the pinned torch and torchvision versions
    README.md                    the container settings to choose, and what a TA sees
    gradescope.toml              the checked `[gradescope]` settings (visibility)
    constraints.txt              name==version of every package the kit needs, as installed here
    kit/                         the kit's source tree (packages, reference notebook, pyproject)

The zip is deterministic: the same checkout and settings give the same bytes.
"""

import importlib.metadata
import zipfile
from collections.abc import Iterator
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from autograder.gradescope.settings import GradescopeSettings
from facekit.base.errors import SetupError
from facekit.base.files import replacing
from facekit.base.paths import REPO_ROOT, SOLUTION_NOTEBOOK

BUNDLE_NAME = "autograder.zip"
SETTINGS_NAME = "gradescope.toml"
CONSTRAINTS_NAME = "constraints.txt"
KIT_DIR = "kit"
TEMPLATE_DIR = Path(__file__).with_name("template")
EXECUTABLES = ("setup.sh", "run_autograder")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# What grading needs from a checkout: the packages, the reference notebook, the install metadata.
KIT_PACKAGES = ("facekit", "autograder", "data_tools")
KIT_FILES = ("pyproject.toml", "README.md", SOLUTION_NOTEBOOK.relative_to(REPO_ROOT).as_posix())
_SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold: no build time in the bytes


class BundleError(SetupError):
    """The bundle cannot be built from this installation (staff setup)."""


def released_version(distribution: str) -> str:
    """The installed version of `distribution` without a local label (2.14.1+cu128 -> 2.14.1)."""
    return Version(importlib.metadata.version(distribution)).public


def pinned_requirements(root: str = "facekit") -> list[str]:
    """`name==version` for every distribution `root` needs here, extras and markers applied.

    Walks the installed metadata from `root` (its test extras excluded), so the pins are exactly
    the versions this environment runs and its tests pass with.
    """
    pins: dict[str, str] = {}
    pending: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        name, extras = pending.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # an optional dependency this platform does not install
        canonical = canonicalize_name(distribution.metadata["Name"])
        if canonical != root:
            pins[canonical] = Version(distribution.version).public
        for line in distribution.requires or ():
            requirement = Requirement(line)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            marker = requirement.marker
            if marker is None or any(marker.evaluate(env) for env in environments):
                pending.append((requirement.name, frozenset(requirement.extras)))
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def kit_files(repo_root: Path = REPO_ROOT) -> Iterator[tuple[Path, str]]:
    """(file on disk, path inside kit/) for everything grading needs, in a fixed order."""
    for relative in KIT_FILES:
        path = repo_root / relative
        if not path.is_file():
            raise BundleError(
                f"{path} is missing: build the bundle from a checkout of the course repository"
            )
        yield path, relative
    for package in KIT_PACKAGES:
        for path in sorted((repo_root / package).rglob("*")):
            relative = path.relative_to(repo_root)
            skipped = _SKIPPED_PARTS & set(relative.parts) or path.suffix in {".pyc", ".pyo"}
            if path.is_file() and not skipped:
                yield path, relative.as_posix()


def render_template(name: str) -> str:
    """A template file with the pinned versions filled in."""
    text = (TEMPLATE_DIR / name).read_text(encoding="utf-8")
    values = {
        "@TORCH_VERSION@": released_version("torch"),
        "@TORCHVISION_VERSION@": released_version("torchvision"),
        "@TORCH_INDEX@": TORCH_CPU_INDEX,
    }
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_bundle(out_dir: Path, settings: GradescopeSettings) -> Path:
    """Write `out_dir/autograder.zip` and return its path (written atomically)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    members = list(kit_files())  # fails before anything is written
    target = out_dir / BUNDLE_NAME
    with replacing(target) as partial, zipfile.ZipFile(partial, "w") as archive:
        for name in EXECUTABLES:
            _add(archive, name, render_template(name).encode(), executable=True)
        _add(archive, "README.md", render_template("README.md").encode())
        _add(archive, SETTINGS_NAME, settings.to_toml().encode())
        _add(archive, CONSTRAINTS_NAME, ("\n".join(pinned_requirements()) + "\n").encode())
        for path, relative in members:
            _add(archive, f"{KIT_DIR}/{relative}", path.read_bytes())
    return target
