"""One tiny training run shared by the training and grade-model tests (built once per session).

Not a test module: both test folders' conftest.py load it by path. Under pytest-xdist every
worker asks for the run; a file lock in the session's shared temporary directory makes the first
one build it and the others reuse it, so CI trains it once.
"""

from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from facekit.base.paths import REPO_ROOT
from facekit.cli.main import main as facekit

TINY_CONFIG = REPO_ROOT / "configs" / "tiny_cpu.toml"


@dataclass(frozen=True)
class TinyRun:
    """A synthetic competition, its keys, and a finished tiny run on it."""

    comp: Path
    keys: Path
    run: Path


def build_competition(root: Path) -> tuple[Path, Path]:
    """Synthesise 20 identities and build a competition (14 classification, 6 verification)."""
    synth, comp, keys = root / "synth", root / "comp", root / "keys"
    assert (
        facekit(
            [
                "data",
                "synth",
                "--out",
                str(synth),
                "--identities",
                "20",
                "--images-per-identity",
                "24",
                "--size",
                "40",
                "--seed",
                "1",
            ]
        )
        == 0
    )
    assert (
        facekit(
            [
                "data",
                "build",
                "--src",
                str(synth),
                "--out",
                str(comp),
                "--keys",
                str(keys),
                "--seed",
                "3",
                "--ver-identities",
                "6",
                "--val-pairs",
                "300",
                "--test-pairs",
                "300",
            ]
        )
        == 0
    )
    return comp, keys


def shared_root(tmp_path_factory, worker_id: str) -> Path:
    """The session's temporary directory that every xdist worker sees."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


def tiny_run(tmp_path_factory, worker_id: str) -> TinyRun:
    """Build (once per test session) the competition and train configs/tiny_cpu.toml on it."""
    root = shared_root(tmp_path_factory, worker_id) / "facekit-tiny-run"
    root.mkdir(exist_ok=True)
    with FileLock(str(root) + ".lock"):
        done = root / "done"
        if not done.exists():
            comp, keys = build_competition(root)
            code = facekit(
                [
                    "train",
                    "--config",
                    str(TINY_CONFIG),
                    "--data",
                    str(comp),
                    "--out",
                    str(root / "run"),
                ]
            )
            assert code == 0, "the tiny training run failed (see captured stderr)"
            done.touch()
    return TinyRun(comp=root / "comp", keys=root / "keys", run=root / "run")
