"""Fixtures of the training tests: one tiny run per session (see tiny_run.py)."""

import importlib.util
from pathlib import Path

import pytest


def _load_helper():
    path = Path(__file__).with_name("tiny_run.py")
    spec = importlib.util.spec_from_file_location("facekit_tests_tiny_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tiny_run_helper = _load_helper()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, worker_id):
    """A synthetic competition with keys and a finished tiny training run (shared, read-only)."""
    return tiny_run_helper.tiny_run(tmp_path_factory, worker_id)


@pytest.fixture(scope="session")
def tiny_competition(tiny_run):
    """(comp, keys) of the shared tiny run."""
    return tiny_run.comp, tiny_run.keys
