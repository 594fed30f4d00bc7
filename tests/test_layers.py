"""The layers of issue 10: imports point only down; the sandbox side imports only its allow-list.

`lint-imports` checks the contracts in pyproject.toml ([tool.importlinter]); these tests run it
and check what it cannot express. Both read imports with grimp, which records every `import`
statement of a module, at the top and inside functions alike, so a function-level import cannot
dodge a contract. Neither sees `importlib.import_module("name")` or `__import__`: the sandbox
side's test reads those calls itself and accepts only a literal name from its allow-list (its
other dynamic step, exec-ing the student's own cells, is the point of the sandbox).
"""

import ast
import copy
import importlib.util
import itertools
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
DYNAMIC_IMPORTERS = {"import_module", "__import__"}
# Issue 10's acceptance: no package-level import cycle among these.
CYCLE_FREE = (
    "facekit.base",
    "facekit.notebook",
    "data_tools",
    "autograder",
    "facekit.training",
    "facekit.cli",
)


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


def module_tree(module: str) -> ast.Module:
    """The parsed source of `module`, found without importing it (no side effects)."""
    return ast.parse(Path(importlib.util.find_spec(module).origin).read_text())


def function_level_imports(module: str) -> list[tuple[int, str]]:
    """(line, imported name) of every import statement inside a function of `module`."""
    found = []
    for node in ast.walk(module_tree(module)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    found.extend((inner.lineno, alias.name) for alias in inner.names)
                elif isinstance(inner, ast.ImportFrom) and inner.level == 0:
                    found.append((inner.lineno, inner.module))
    return sorted(set(found))


def sandbox_allowed(module: str, modules: list[str]) -> set[str]:
    """Top-level names `module` of the sandbox side may import, besides its own package."""
    allowed = set(sys.stdlib_module_names) | SANDBOX_ALLOWED | set(SANDBOX_EXTRAS)
    # Its siblings by their bare names: run as a script from its folder, a module imports them so.
    allowed |= {name.rpartition(".")[2] for name in modules}
    if module not in WORKERS:
        allowed |= LAUNCHER_EXTRAS
    return allowed


def dynamic_imports(module: str) -> list[tuple[int, str | None]]:
    """(line, the literal name or None when computed) of each `import_module`/`__import__` call."""
    found = []
    for node in ast.walk(module_tree(module)):
        if isinstance(node, ast.Call):
            function = node.func
            name = (
                function.attr
                if isinstance(function, ast.Attribute)
                else getattr(function, "id", "")
            )
            if name in DYNAMIC_IMPORTERS:
                first = node.args[0] if node.args else None
                literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
                found.append((node.lineno, first.value if literal else None))
    return found


def package_cycles(graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    """Pairs of CYCLE_FREE packages that reach each other through any chain of imports (every
    cycle among them shows as such a pair), leaving out the contracts' ignored imports."""
    graph = copy.deepcopy(graph)
    for contract in CONFIG["contracts"]:
        for ignored in contract.get("ignore_imports", []):
            importer, imported = (part.strip() for part in ignored.split("->"))
            present = importer in graph.modules and imported in graph.modules
            if present and graph.direct_import_exists(importer=importer, imported=imported):
                graph.remove_import(importer=importer, imported=imported)
    return [
        (a, b)
        for a, b in itertools.combinations(CYCLE_FREE, 2)
        if graph.chain_exists(importer=a, imported=b, as_packages=True)
        and graph.chain_exists(importer=b, imported=a, as_packages=True)
    ]


def test_no_package_level_cycle(graph):
    """Is there no import cycle among the bottom layer, data_tools, autograder, training and
    the CLI, and would one upward import make one?"""
    assert package_cycles(graph) == []
    upward = copy.deepcopy(graph)
    upward.add_import(importer="facekit.base.files", imported="autograder.batch")
    assert ("facekit.base", "autograder") in package_cycles(upward)


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
    torchvision, numpy, safetensors, the named extras and its own package (top-level,
    function-level and by `importlib.import_module`)?"""
    modules = sorted(graph.find_descendants(SANDBOX_SIDE) | {SANDBOX_SIDE})
    assert set(modules) >= WORKERS, "a worker left the sandbox side"
    wrong = []
    for module in modules:
        allowed = sandbox_allowed(module, modules)
        for imported in graph.find_modules_directly_imported_by(module):
            own = imported == SANDBOX_SIDE or imported.startswith(f"{SANDBOX_SIDE}.")
            if own or imported.partition(".")[0] in allowed:
                continue
            lines = graph.get_import_details(importer=module, imported=imported)
            wrong.extend(f"{module} l.{line['line_number']}: {imported}" for line in lines)
        for line, name in dynamic_imports(module):
            if name is None or name.partition(".")[0] not in allowed:
                wrong.append(f"{module} l.{line}: dynamic import of {name or 'a computed name'}")
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
