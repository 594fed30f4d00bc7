"""The competition contract is defined once: no stray copies of its names anywhere in the tree.

`facekit.base.contract` names the competition's files, headers, tasks and graded components.
Every other tracked Python file (package code, tests, benchmarks) must import those names
instead of spelling them. The tree is read with `ast`, so only string constants count:
docstrings and comments may mention `cls_test.csv` or `arcface` freely. The literal parts of an
f-string count too (`f"cls_data/{split}"` is a copy; `f"{CLS_DATA}/{split}"` is not).
"""

import ast
import json
import subprocess
from pathlib import Path

import pytest

from facekit.base import contract
from facekit.base.paths import HANDOUT_NOTEBOOK, SOLUTION_NOTEBOOK
from facekit.notebook.extract import python_source

ROOT = Path(__file__).resolve().parents[3]

FILE_NAMES = (
    contract.CLS_DATA,
    contract.VER_DATA,
    contract.SAMPLE_SUBMISSIONS,
    Path(contract.VAL_PAIRS).name,
    Path(contract.TEST_PAIRS).name,
    contract.MANIFEST,
    contract.KEYS_VER_IMAGES,
    *contract.KEY_FILES.values(),
    *contract.SUBMISSION_FILES.values(),
)
"""Competition file and folder names: a string constant containing one is a stray copy."""

HEADERS = {
    contract.VAL_PAIRS_HEADER,
    contract.TEST_PAIRS_HEADER,
    contract.KEYS_VER_IMAGES_HEADER,
    *contract.SUBMISSION_COLUMNS.values(),
    *contract.KEY_COLUMNS.values(),
    *contract.KAGGLE_SOLUTION_COLUMNS.values(),
}
"""Headers: a tuple or list of exactly these string constants is a stray copy."""

WORDS = {*contract.TASKS, *contract.COMPONENTS}
"""Task names and component ids: a string constant equal to one is a stray copy."""

EXCEPTIONS = {
    (
        "facekit/sandbox_side/launcher.py",
        contract.NETWORK,
    ): "the Linux network namespace, not the component",
    **{
        ("facekit/training/config.py", head): "a `typing.Literal` choice of the training head "
        "(the typed-config loader reads the literal strings; the values are the margin heads' "
        "component ids, and `facekit/training/objective.py` maps them through the contract)"
        for head in (contract.ARCFACE, contract.COSFACE, contract.SPHEREFACE)
    },
}
"""(file, literal) pairs that are not the contract's name, with the reason."""

SANDBOX_FILES = ("tests/autograder/batch/cheaters/",)
"""Student-side attack scripts: they run inside the sandbox, which never has the kit to import,
and spell the key file's name as an attacker would."""


def python_files() -> list[Path]:
    """Tracked .py files (every .py file outside hidden folders when git is unavailable)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", "*.py"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        paths = [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        paths = [
            path
            for path in ROOT.rglob("*.py")
            if not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
        ]
    return sorted(path for path in paths if path.is_file())


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings or bare expression statements."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }


def stray_literals(source: str) -> list[tuple[int, str]]:
    """(line, literal) of each stray copy of a contract name in `source`."""
    tree = ast.parse(source)
    allowed = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in allowed:
                continue
            if node.value in WORDS:
                found.append((node.lineno, node.value))
            else:
                found += [(node.lineno, name) for name in FILE_NAMES if name in node.value]
        elif isinstance(node, ast.Tuple | ast.List) and all(
            isinstance(item, ast.Constant) and isinstance(item.value, str) for item in node.elts
        ):
            values = tuple(item.value for item in node.elts)
            if values in HEADERS:
                found.append((node.lineno, ",".join(values)))
    return found


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(f'KEYS = "{contract.KEYS_CLS}"\n', [(1, contract.KEYS_CLS)], id="file-name"),
        pytest.param(
            f'path = comp / "{contract.CLS_DATA}" / "train"\n',
            [(1, contract.CLS_DATA)],
            id="folder",
        ),
        pytest.param(
            f"HEADER = {contract.SUBMISSION_COLUMNS[contract.VERIFICATION]!r}\n",
            [(1, ",".join(contract.SUBMISSION_COLUMNS[contract.VERIFICATION]))],
            id="header",
        ),
        pytest.param(
            f'if task == "{contract.CLASSIFICATION}":\n    pass\n',
            [(1, contract.CLASSIFICATION)],
            id="task",
        ),
        pytest.param(f'ID = "{contract.ARCFACE}"\n', [(1, contract.ARCFACE)], id="component"),
        pytest.param(
            f'"""Writes {contract.KEYS_CLS} for {contract.ARCFACE}."""\n'
            f"# {contract.CLASSIFICATION}\n",
            [],
            id="docstring-and-comment",
        ),
        pytest.param('path = f"{KEYS_CLS}"\nname = f"{ARCFACE}_score"\n', [], id="f-string"),
        pytest.param(
            f'path = f"{contract.CLS_DATA}/{{split}}"\n',
            [(1, contract.CLS_DATA)],
            id="f-string-part",
        ),
    ],
)
def test_finder(source, expected):
    """Does the finder flag string constants and header tuples, and only those?"""
    assert stray_literals(source) == expected


def test_no_stray_contract_literals():
    """Are the competition's file names, headers, task names and component ids spelt only in
    `facekit.base.contract`?"""
    strays = []
    files = python_files()
    assert len(files) > 100, "the tree was not found"
    for path in files:
        relative = path.relative_to(ROOT).as_posix()
        if relative == "facekit/base/contract.py" or relative.startswith(SANDBOX_FILES):
            continue
        for line, literal in stray_literals(path.read_text(encoding="utf-8")):
            if (relative, literal) not in EXCEPTIONS:
                strays.append(f"{relative}:{line}: {literal!r}")
    assert not strays, "import these names from facekit.base.contract:\n" + "\n".join(strays)


def notebook_code(notebook: Path) -> ast.Module:
    """The code cells of `notebook` as one module (IPython magics dropped)."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    sources = [python_source("".join(c["source"])) for c in cells if c["cell_type"] == "code"]
    return ast.parse("\n".join(sources))


@pytest.mark.parametrize(
    "notebook", [SOLUTION_NOTEBOOK, HANDOUT_NOTEBOOK], ids=["source", "handout"]
)
def test_notebooks_write_the_contract_files(notebook):
    """Do the source and handout notebooks (which cannot import the kit) write each submission
    under the contract's file name and header, and read the competition's contract paths?"""
    tree = notebook_code(notebook)
    written = {}
    paths = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "write_rows":
            target, header = node.args[:2]
            written[ast.literal_eval(target.right)] = ast.literal_eval(header)
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Div)
            and isinstance(node.right, ast.Constant)
            and isinstance(node.right.value, str)
        ):
            paths.add(node.right.value)
    assert written == {
        contract.SUBMISSION_FILES[task]: contract.SUBMISSION_COLUMNS[task]
        for task in contract.TASKS
    }
    competition_paths = {
        p for p in paths if p.split("/")[0] in (contract.CLS_DATA, contract.VER_DATA)
    }
    assert competition_paths, f"{notebook}: reads no competition path"
    assert competition_paths <= {
        contract.CLS_DATA,
        contract.VER_DATA,
        contract.CLS_TRAIN,
        contract.CLS_DEV,
        contract.CLS_TEST,
        contract.VER_IMAGES,
        contract.VAL_PAIRS,
        contract.TEST_PAIRS,
    }, f"{notebook}: a path the contract does not name"
