"""Fixtures for the Gradescope tests: Gradescope's results.json schema and a checker."""

import json
from pathlib import Path

import jsonschema
import pytest

SCHEMA = json.loads(Path(__file__).with_name("results_schema.json").read_text())


@pytest.fixture(scope="session")
def check_results():
    """`check_results(results)` fails unless `results` follows Gradescope's results.json spec."""

    def check(results: dict) -> None:
        jsonschema.validate(results, SCHEMA)
        scores = [test["score"] for test in results.get("tests", [])]
        assert results["score"] == pytest.approx(sum(scores)), "score is not the sum of tests"

    return check
