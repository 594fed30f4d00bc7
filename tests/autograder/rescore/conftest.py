"""Fixtures of the grade-model tests: the tiny training run shared with tests/facekit/training."""

import importlib.util
from pathlib import Path

import pytest

HELPER = Path(__file__).resolve().parents[2] / "facekit" / "training" / "tiny_run.py"


def _load_helper():
    spec = importlib.util.spec_from_file_location("facekit_tests_tiny_run", HELPER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, worker_id):
    """A synthetic competition with keys and a finished tiny training run (shared, read-only)."""
    return _load_helper().tiny_run(tmp_path_factory, worker_id)
