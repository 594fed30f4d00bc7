"""`facekit gradescope-bundle`: the zip's layout, pins, modes and settings."""

import subprocess
import zipfile

import pytest

from autograder.gradescope.bundle import (
    BUNDLE_NAME,
    CONSTRAINTS_NAME,
    SETTINGS_NAME,
    pinned_requirements,
    released_version,
)
from facekit.cli.main import main as facekit


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> zipfile.ZipFile:
    """The zip built with the kit's default settings."""
    out = tmp_path_factory.mktemp("bundle")
    assert facekit(["gradescope-bundle", "--out", str(out)]) == 0
    with zipfile.ZipFile(out / BUNDLE_NAME) as archive:
        yield archive


def test_holds_what_gradescope_and_grading_need(bundle):
    """Are setup.sh and run_autograder at the root, with the kit and its reference notebook?"""
    names = set(bundle.namelist())
    for name in ("setup.sh", "run_autograder", "README.md", SETTINGS_NAME, CONSTRAINTS_NAME):
        assert name in names
    for name in (
        "kit/pyproject.toml",
        "kit/solutions/hw2p2_source.ipynb",
        "kit/autograder/gradescope/run.py",
        "kit/autograder/judge/rubric.toml",
        "kit/autograder/sandbox.py",
    ):
        assert name in names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


@pytest.mark.parametrize(("name", "mode"), [("setup.sh", 0o755), ("run_autograder", 0o755)])
def test_scripts_are_executable(bundle, name, mode):
    """Do the scripts carry the executable bit in the zip?"""
    assert (bundle.getinfo(name).external_attr >> 16) & 0o777 == mode


def test_setup_pins_cpu_torch_and_the_kit(bundle, tmp_path):
    """Does setup.sh install the tested torch and torchvision from the CPU index, then the kit
    under the constraints, and is it valid bash?"""
    setup = bundle.read("setup.sh").decode()
    assert f'"torch=={released_version("torch")}"' in setup
    assert f'"torchvision=={released_version("torchvision")}"' in setup
    assert '--index-url "https://download.pytorch.org/whl/cpu"' in setup
    assert '--constraint "$source_dir/constraints.txt"' in setup
    assert "@TORCH" not in setup, "a template placeholder was left unfilled"
    (tmp_path / "setup.sh").write_text(setup)
    subprocess.run(["bash", "-n", str(tmp_path / "setup.sh")], check=True)


def test_constraints_pin_every_dependency(bundle):
    """Does constraints.txt pin the kit's dependencies (and only with ==) to what runs here?"""
    lines = bundle.read(CONSTRAINTS_NAME).decode().split()
    assert lines == pinned_requirements()
    names = {line.split("==")[0] for line in lines}
    assert {"torch", "torchvision", "numpy", "nbformat", "safetensors"} <= names
    assert "facekit" not in names and "pytest" not in names  # not the kit, not test extras
    assert all(line.count("==") == 1 for line in lines)


def test_zip_is_reproducible(tmp_path):
    """Do two builds from the same checkout give the same bytes?"""
    for folder in ("a", "b"):
        assert facekit(["gradescope-bundle", "--out", str(tmp_path / folder)]) == 0
    first, second = ((tmp_path / f / BUNDLE_NAME).read_bytes() for f in ("a", "b"))
    assert first == second


def test_settings_travel_in_the_zip(tmp_path):
    """Does the --config's [gradescope] table end up, checked, in the zip?"""
    config = tmp_path / "course.toml"
    config.write_text(
        '[leaderboard]\nx = 1\n[gradescope]\ntest_visibility = "after_due_date"\n'
        '[gradescope.tests]\nnetwork = "hidden"\n'
    )
    assert facekit(["gradescope-bundle", "--out", str(tmp_path), "--config", str(config)]) == 0
    with zipfile.ZipFile(tmp_path / BUNDLE_NAME) as archive:
        copied = archive.read(SETTINGS_NAME).decode()
    assert 'test_visibility = "after_due_date"' in copied and 'network = "hidden"' in copied


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[gradescope]\nvisibility = "soon"\n', "[gradescope] visibility: expected one of"),
        ('[gradescope.tests]\nresnet = "hidden"\n', "no rubric component of that id"),
        ("[gradescope\n", "not valid TOML"),
    ],
)
def test_bad_config_is_exit_2_and_writes_nothing(tmp_path, capsys, text, message):
    """Is a broken settings file a staff error (exit 2) that names the problem, with no zip?"""
    config = tmp_path / "course.toml"
    config.write_text(text)
    code = facekit(["gradescope-bundle", "--out", str(tmp_path / "out"), "--config", str(config)])
    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith("facekit gradescope-bundle: ") and message in error
    assert not (tmp_path / "out" / BUNDLE_NAME).exists()
