"""Every error class the kit raises on purpose is of exactly one kind (input, setup, kit fault)."""

import importlib
import inspect
import pkgutil

import pytest

import autograder
import data_tools
import facekit
from facekit.base.errors import ERROR_KINDS, FacekitError

# Outside the taxonomy on purpose: the sandbox side never imports the kit (its exceptions steer
# the worker's own control flow).
OUTSIDE = {
    "facekit.sandbox_side.judge_worker.CaseTimeout",
    "facekit.sandbox_side.judge_worker.CaseFailure",
}
SKIPPED_MODULES = ("autograder.leaderboard.migrations.env",)  # runs only under Alembic


def _error_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in the kit's packages, by dotted name."""
    found = {}
    for package in (facekit, autograder, data_tools):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if info.name.endswith("__main__") or info.name in SKIPPED_MODULES:
                continue
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if (
                    inspect.isclass(value)
                    and issubclass(value, BaseException)
                    and value.__module__ == info.name
                ):
                    found[f"{info.name}.{name}"] = value
    return found


ERROR_CLASSES = _error_classes()
KIND_NAMES = {f"{kind.__module__}.{kind.__name__}" for kind in ERROR_KINDS}
ROOT_NAME = f"{FacekitError.__module__}.{FacekitError.__name__}"


@pytest.mark.parametrize("name", sorted(set(ERROR_CLASSES) - OUTSIDE - KIND_NAMES - {ROOT_NAME}))
def test_each_error_class_has_exactly_one_kind(name):
    """Does the class derive from exactly one of InputError, SetupError and KitFault?"""
    kinds = [kind for kind in ERROR_KINDS if issubclass(ERROR_CLASSES[name], kind)]
    assert len(kinds) == 1, f"{name}: kinds {kinds}"


def test_the_exceptions_outside_still_exist():
    """Is every class exempted above still defined (no stale exemptions)?"""
    assert set(ERROR_CLASSES) >= OUTSIDE
