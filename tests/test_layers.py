"""The layers of issue 10: imports point only down; the sandbox side imports only its allow-list.

`lint-imports` checks the contracts in pyproject.toml ([tool.importlinter]); these tests run it
and check what it cannot express. Both read imports with grimp, which records every `import`
statement of a module, at the top and inside functions alike, so a function-level import cannot
dodge a contract. Neither sees `importlib.import_module` with a computed name (the sandbox side
has none: its one dynamic step is exec-ing the student's own cells).
"""

import ast
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
ROOT_PACKAGES = tuple(CONFIG["root_packages"])
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
SANDBOX_SIDE = "facekit.sandbox_side"

# What code next to untrusted student code may import besides the standard library.
SANDBOX_ALLOWED = {"torch", "torchvision", "numpy", "safetensors"}
# Named one by one, each with the reason it is safe there.
SANDBOX_EXTRAS = {
    "PIL": "Pillow, torchvision's own image library (torchvision depends on it): inference.py "
    "decodes image files with it exactly as training did",
    "facekit_inference": "inference.py itself, copied into the sandbox's folder under this name "
    "for the re-scoring worker (the worker cannot read the repository)",
    "student_module": "the student's extracted notebook code, written into the sandbox's folder",
}
# The sandbox launcher's only extra: it installs the system-call filter (libseccomp through
# ctypes) in the child before student code runs. The workers, which run beside student code, may
# not import it.
LAUNCHER_EXTRAS = {"pyseccomp"}
WORKERS = {f"{SANDBOX_SIDE}.{name}" for name in ("judge_worker", "rescore_worker", "inference")}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    """The kit's import graph, external packages squashed to their top-level name."""
    return grimp.build_graph(*ROOT_PACKAGES, include_external_packages=True, cache_dir=None)


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Run the venv's `lint-imports` on the packages and pyproject.toml found in `root`."""
    assert LINT_IMPORTS.is_file(), f"{LINT_IMPORTS} missing: pip install -e '.[test]'"
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def layer_index(module: str) -> int:
    """Position of `module`'s layer in the layers contract, 0 the top."""
    layers = next(c["layers"] for c in CONFIG["contracts"] if c["type"] == "layers")
    for index, layer in enumerate(layers):
        for name in (part.strip() for part in layer.replace(":", "|").split("|")):
            if module == name or module.startswith(f"{name}."):
                return index
    raise AssertionError(f"{module} sits in no layer of the layers contract")


def function_level_imports(module: str) -> list[tuple[int, str]]:
    """(line, imported name) of every import statement inside a function of `module`."""
    path = Path(importlib.util.find_spec(module).origin)  # found, not imported: no side effects
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    found.extend((inner.lineno, alias.name) for alias in inner.names)
                elif isinstance(inner, ast.ImportFrom) and inner.level == 0:
                    found.append((inner.lineno, inner.module))
    return sorted(set(found))


def test_contracts_are_kept():
    """Does `lint-imports` keep every contract of pyproject.toml on the tree as it is?"""
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("path", "added", "contract", "named"),
    [
        (  # the bottom layer reaching up into a domain package
            "facekit/base/files.py",
            "import autograder.batch\n",
            "Layers: imports point only down",
            "facekit.base.files -> autograder.batch",
        ),
        (  # the sandbox side importing the kit, hidden inside a function
            "facekit/sandbox_side/inference.py",
            "\n\ndef _kit():\n    from facekit.base import files\n",
            "Sandbox side imports nothing of the kit",
            "facekit.sandbox_side.inference -> facekit.base.files",
        ),
        (  # two independent siblings: training must not use data_tools
            "facekit/training/data.py",
            "import data_tools.build\n",
            "Layers: imports point only down",
            "facekit.training.data -> data_tools.build",
        ),
        (  # a cycle inside one package: scoring importing the leaderboard that imports it
            "autograder/scoring/score.py",
            "import autograder.leaderboard.store\n",
            "No import cycles between sibling packages",
            "- .scoring -> .leaderboard (1 import)",
        ),
    ],
)
def test_a_wrong_import_breaks_a_contract(tmp_path, path, added, contract, named):
    """Does one wrong import in a copy of the kit make `lint-imports` fail, naming it?"""
    for package in ROOT_PACKAGES:
        shutil.copytree(
            REPO_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / path).open("a") as module:
        module.write(added)
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{contract} BROKEN" in result.stdout, result.stdout
    assert named in result.stdout, result.stdout


def test_sandbox_side_imports_only_its_allow_list(graph):
    """Does every module of the sandbox side import only the standard library, torch,
    torchvision, numpy, safetensors and the named extras (top-level and function-level)?"""
    modules = sorted(graph.find_descendants(SANDBOX_SIDE) | {SANDBOX_SIDE})
    assert set(modules) >= WORKERS, "a worker left the sandbox side"
    wrong = []
    for module in modules:
        allowed = set(sys.stdlib_module_names) | SANDBOX_ALLOWED | set(SANDBOX_EXTRAS)
        if module not in WORKERS:
            allowed |= LAUNCHER_EXTRAS
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.partition(".")[0] in allowed:
                continue
            lines = graph.get_import_details(importer=module, imported=imported)
            wrong.extend(f"{module} l.{line['line_number']}: {imported}" for line in lines)
    assert not wrong, "the sandbox side imports outside its allow-list:\n" + "\n".join(wrong)


@pytest.mark.parametrize("package", ["facekit.base", "facekit.notebook", SANDBOX_SIDE])
def test_function_level_imports_point_down(graph, package):
    """Is every function-level import in the lower layers seen by grimp, and none upward?"""
    for module in sorted(graph.find_descendants(package) | {package}):
        recorded = {
            (line["line_number"], imported)
            for imported in graph.find_modules_directly_imported_by(module)
            for line in graph.get_import_details(importer=module, imported=imported)
        }
        for line, name in function_level_imports(module):
            top = name.partition(".")[0]
            seen = {imported for number, imported in recorded if number == line}
            assert seen, f"grimp missed {module} l.{line}: import {name}"
            if top in ROOT_PACKAGES:
                above = f"{module} l.{line} imports {name}, a layer above it"
                assert layer_index(name) >= layer_index(module), above
