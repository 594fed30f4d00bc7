"""Fixtures of the similarity tests: the generated corpus of independent students."""

import importlib.util
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def corpus():
    """The `independent` module: writers of independent students and ways to disguise a copy."""
    path = Path(__file__).with_name("independent.py")
    spec = importlib.util.spec_from_file_location("facekit_tests_similarity_corpus", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
