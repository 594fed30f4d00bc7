"""Fixtures of the benchmark tests: the benchmark scripts, imported from benchmarks/ by path."""

import importlib.util
import sys

import pytest

from facekit.base.paths import REPO_ROOT

BENCHMARKS = REPO_ROOT / "benchmarks"


def load_benchmark(name: str):
    """The script benchmarks/<name>.py as a module (not a package: loaded by path), with
    benchmarks/ on sys.path as when it runs, for its `import bench_common`."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.append(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(
        f"facekit_benchmark_{name}", BENCHMARKS / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bench_margin_heads():
    """benchmarks/bench_margin_heads.py."""
    return load_benchmark("bench_margin_heads")


@pytest.fixture(scope="session")
def bench_training():
    """benchmarks/bench_training.py."""
    return load_benchmark("bench_training")
