"""Turn a notebook into an importable module that holds only its definitions.

The source notebook tags every cell that belongs to the module (imports, classes, helper
functions) with the cell tag `export`; training, I/O and self-check cells carry no such tag.
`extract_module` takes the tagged cells whole (the reference, which the kit trusts);
`extract_student_module` takes a submitted notebook as students really write it: definitions
from any cell that the graded classes use, and never a top-level loop, print or training call.
"""

import ast
import builtins
import importlib.util
import json
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from facekit.base.errors import InputError
from facekit.base.untrusted import UntrustedFileError, json_depth, read_untrusted_bytes
from facekit.notebook.notebook_format import nbformat

EXPORT_TAG = "export"
# Bounds on what a submission may be: far above any honest notebook (even with image outputs,
# a few MB; a cell, a few kB; JSON nesting, about 10), far below what hurts the grader.
MAX_NOTEBOOK_BYTES = 64 * 2**20
MAX_NOTEBOOK_DEPTH = 64
MAX_CELL_CHARS = 200_000
MAX_CODE_CHARS = 1_000_000  # all code cells together: parsing costs ~100 bytes per character
MAX_SKIPPED_SHOWN = 3
# nbgrader ids are identifiers; anything else is not an id (and never reaches a report).
_GRADE_ID = re.compile(r"[A-Za-z0-9_.-]{1,100}")

# IPython-only lines (`%matplotlib inline`, `!pip install x`) are not Python: keep them visible
# as comments so line numbers in tracebacks still match the cell.
_IPYTHON_LINE = re.compile(r"^(\s*)([%!].*)$")


class NotebookError(InputError):
    """A notebook cannot be read or lacks what the kit needs. The message names file and cell."""


@dataclass(frozen=True)
class ExtractedModule:
    """Python source built from a notebook's export cells, with where each part came from."""

    source: str
    cell_ids: tuple[str, ...]
    notes: tuple[str, ...] = ()
    # (label, python source) per part, in module order: the worker runs a student's cells one
    # by one so that one broken cell only costs what it defines.
    cells: tuple[tuple[str, str], ...] = ()


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook file, turning every way it can be broken into one clear NotebookError.

    A submission is untrusted: the file is read only when it is a regular file (not a link, a
    FIFO or a device), at most MAX_NOTEBOOK_BYTES, and its JSON may nest at most
    MAX_NOTEBOOK_DEPTH levels, so a hostile file is the student's zero, never a grader fault.
    """
    path = Path(path)
    if not os.path.lexists(path):
        raise NotebookError(f"{path}: no such notebook file")
    directory = Path(os.path.realpath(path.parent))
    try:
        data = read_untrusted_bytes(directory, path.name, MAX_NOTEBOOK_BYTES)
    except UntrustedFileError as error:
        hint = " (clear the outputs and save again)" if "limit" in str(error) else ""
        raise NotebookError(f"{path}: {error}{hint}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        message = f"{path}: not UTF-8 text (byte {error.start}); is it a notebook?"
        raise NotebookError(message) from None
    try:
        raw = json.loads(text)
    except RecursionError:
        raw = None  # deeper than json's own limit; reported below with the bound
    except json.JSONDecodeError as error:
        raise NotebookError(
            f"{path}: not valid notebook JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg})"
        ) from None
    if raw is None or json_depth(raw) > MAX_NOTEBOOK_DEPTH:
        raise NotebookError(
            f"{path}: the notebook's JSON nests deeper than {MAX_NOTEBOOK_DEPTH} levels; a "
            "Jupyter notebook never does"
        )
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotebookError(f"{path}: JSON is not a notebook (expected an object with 'cells')")
    try:
        return nbformat.from_dict(nbformat.reads(text, as_version=4))
    except Exception as error:  # nbformat raises several unrelated types for malformed input
        raise NotebookError(f"{path}: not a valid Jupyter notebook: {error}") from None


def cell_label(index: int, cell: nbformat.NotebookNode) -> str:
    """A human name for a cell: its position, and its nbgrader id where it has one."""
    grade_id = _grade_id(cell)
    return f"cell {index + 1}" + (f" ({grade_id})" if grade_id else "")


def is_export_cell(cell: nbformat.NotebookNode) -> bool:
    """Whether a cell is a code cell tagged for the module."""
    tags = cell.get("metadata", {}).get("tags", [])
    return cell.get("cell_type") == "code" and isinstance(tags, list) and EXPORT_TAG in tags


def python_source(cell_source: str) -> str:
    """A cell's text with IPython magics and shell escapes commented out."""
    return "\n".join(_IPYTHON_LINE.sub(r"\1# \2", line) for line in cell_source.splitlines())


def extract_module(notebook: nbformat.NotebookNode, name: str = "notebook") -> ExtractedModule:
    """Concatenate the export-tagged code cells of `notebook` into module source.

    `name` (usually the file path) is used in error messages. Raises NotebookError when no cell
    carries the export tag, which is what a notebook looks like after an editor dropped metadata.
    """
    cells = tuple(
        (cell_label(index, cell), python_source(cell.source))
        for index, cell in enumerate(notebook.cells)
        if is_export_cell(cell)
    )
    if not cells:
        raise NotebookError(
            f"{name}: no code cell is tagged '{EXPORT_TAG}', so there are no definitions to "
            "extract. The cells' metadata was probably lost (some editors drop it); copy your "
            "code into a fresh copy of the handout notebook."
        )
    return _module_from_cells(cells)


def _module_from_cells(cells: tuple[tuple[str, str], ...], notes=()) -> ExtractedModule:
    source = "\n".join(f"# ---- {label} ----\n{text}\n" for label, text in cells)
    return ExtractedModule(
        source=source,
        cell_ids=tuple(label for label, _ in cells),
        notes=tuple(notes),
        cells=cells,
    )


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    grader = cell.get("metadata", {}).get("nbgrader", {})
    grade_id = grader.get("grade_id") if isinstance(grader, Mapping) else None
    return grade_id if isinstance(grade_id, str) and _GRADE_ID.fullmatch(grade_id) else None


@dataclass(frozen=True)
class _Statement:
    """One top-level statement of a code cell: the names it binds when it is a definition."""

    cell: int  # index among the notebook's cells
    first_line: int  # first line, decorators included (1-based, in the cell's python source)
    last_line: int
    node: ast.stmt
    binds: frozenset[str] | None  # None: binds no plain name (a loop, a call, file I/O, ...)
    computed: bool = False  # an assignment whose value calls something: run only when used

    @property
    def is_definition(self) -> bool:
        """Imports, def, class, and assignments of call-free values (constant tables)."""
        return self.binds is not None and not self.computed

    @property
    def uses(self) -> frozenset[str]:
        """The module-level names the statement reads, at once or later from its functions."""
        return _global_reads(self.node)


@dataclass
class _Scope:
    kind: str  # "statement" (module level), "function" or "class"
    parent: "_Scope | None"
    binds: set[str] = field(default_factory=set)
    reads: set[str] = field(default_factory=set)
    declared_global: set[str] = field(default_factory=set)

    def hides(self, name: str) -> bool:
        """Whether `name` read in this scope, or in a function nested in it, is local here."""
        return name in self.binds and name not in self.declared_global


def _arguments(arguments: ast.arguments) -> list[ast.arg]:
    every = arguments.posonlyargs + arguments.args + arguments.kwonlyargs
    return every + [a for a in (arguments.vararg, arguments.kwarg) if a is not None]


def _global_reads(statement: ast.stmt) -> frozenset[str]:
    """Names that `statement` reads from the module: the reads of its function bodies less their
    parameters and local variables (Python's scoping, simplified; iterative, so a deep tree
    cannot exhaust the stack)."""
    top = _Scope("statement", None)
    scopes = [top]
    stack: list[tuple[ast.AST, _Scope]] = [(statement, top)]
    while stack:
        node, scope = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            arguments = node.args
            outer = [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
            if not isinstance(node, ast.Lambda):
                scope.binds.add(node.name)
                outer += [*node.decorator_list, *([node.returns] if node.returns else [])]
                outer += [a.annotation for a in _arguments(arguments) if a.annotation]
            inner = _Scope("function", scope, {a.arg for a in _arguments(arguments)})
            scopes.append(inner)
            stack += [(child, scope) for child in outer]
            body = [node.body] if isinstance(node, ast.Lambda) else node.body
            stack += [(child, inner) for child in body]
            continue
        if isinstance(node, ast.ClassDef):
            scope.binds.add(node.name)
            inner = _Scope("class", scope)
            scopes.append(inner)
            outer = [*node.bases, *node.keywords, *node.decorator_list]
            stack += [(child, scope) for child in outer] + [(child, inner) for child in node.body]
            continue
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            inner = _Scope("function", scope)
            scopes.append(inner)
            stack += [(child, inner) for child in ast.iter_child_nodes(node)]
            continue
        if isinstance(node, ast.Name):
            (scope.reads if isinstance(node.ctx, ast.Load) else scope.binds).add(node.id)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            scope.declared_global.update(node.names)
        elif isinstance(node, ast.alias):
            scope.binds.add(node.asname or node.name.partition(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            scope.binds.add(node.name)
        stack += [(child, scope) for child in ast.iter_child_nodes(node)]
    reads = set()
    for scope in scopes:
        for name in scope.reads:
            enclosing, own = scope, True
            while enclosing.kind != "statement":
                # A class body's names are not visible inside its methods.
                if (own or enclosing.kind == "function") and enclosing.hides(name):
                    break
                enclosing, own = enclosing.parent, False
            else:
                reads.add(name)
    return frozenset(reads)


def _calls_outside_lambdas(node: ast.AST) -> bool:
    """Whether evaluating `node` calls anything (a lambda's body is not evaluated)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Call):
            return True
        if not isinstance(item, ast.Lambda):
            stack.extend(ast.iter_child_nodes(item))
    return False


def _assigned_names(target: ast.expr) -> list[str] | None:
    """Names bound by an assignment target; None when it assigns to anything but plain names."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Starred):
        return _assigned_names(target.value)
    if isinstance(target, ast.Tuple | ast.List):
        names = [_assigned_names(element) for element in target.elts]
        return None if None in names else [name for group in names for name in group]
    return None


def _binds(node: ast.stmt) -> frozenset[str] | None:
    """The names a statement binds when it is an import, a def, a class or an assignment to plain
    names; None for every other statement: those are never executed."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return frozenset(
            alias.asname or alias.name.partition(".")[0] for alias in node.names
        )  # a star import binds "*": taken when some name is defined nowhere else
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return frozenset({node.name})
    if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = [_assigned_names(target) for target in targets]
        return None if None in names else frozenset(n for group in names for n in group)
    return None


def _is_inert(node: ast.stmt) -> bool:
    """Statements that do nothing worth reporting: a docstring, `...`, `pass`."""
    if isinstance(node, ast.Pass):
        return True
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def _statements(index: int, tree: ast.Module) -> list[_Statement]:
    statements = []
    for node in tree.body:
        decorators = getattr(node, "decorator_list", [])
        first = min([node.lineno] + [decorator.lineno for decorator in decorators])
        computed = isinstance(node, ast.Assign | ast.AnnAssign) and _calls_outside_lambdas(
            node.value
        )
        binds = _binds(node)
        statements.append(_Statement(index, first, node.end_lineno, node, binds, computed))
    return statements


def _parse_cell(label: str, text: str) -> tuple[ast.Module | None, str | None]:
    """The cell's syntax tree, or None and a note saying why it was skipped."""
    if len(text) > MAX_CELL_CHARS:
        return None, (
            f"{label} holds {len(text):,} characters, more than the {MAX_CELL_CHARS:,} a code "
            "cell may hold, and was skipped"
        )
    try:
        return ast.parse(text), None
    except SyntaxError as error:
        where = f"line {error.lineno}: {error.msg}" if error.lineno else error.msg
        return None, f"{label} has a syntax error ({where}) and was skipped"
    except (RecursionError, MemoryError):
        return None, (
            f"{label} holds an expression nested too deeply for Python to parse (an enormous "
            "expression?) and was skipped"
        )
    except ValueError as error:  # null bytes in the source
        return None, f"{label} cannot be parsed ({error}) and was skipped"


def _describe(text_lines: list[str], statement: _Statement) -> str:
    """`line N `<first line>``: the student's own text, shortened, unable to end the quote."""
    first = "".join(
        c if c.isprintable() and c != "`" else "'"
        for c in text_lines[statement.first_line - 1].strip()
    )
    if len(first) > 60:
        first = first[:57] + "..."
    return f"line {statement.first_line} `{first}`"


def extract_student_module(
    notebook: nbformat.NotebookNode, name: str, contract: Mapping[str, str]
) -> ExtractedModule:
    """The module of a submitted notebook, as students and editors actually write notebooks.

    `contract` maps each graded cell's nbgrader grade_id to the class it must define. The
    module holds the DEFINITIONS (imports, functions, classes, assignments of call-free values)
    of the cells tagged `export` or carrying a graded grade_id, plus, from any other code cell,
    the definitions these use (found by name, transitively). When a name is defined more than
    once, the last definition in the notebook counts, except that a contract class defined in
    its own graded cell is taken from there. A graded grade_id that appears more than once is
    graded from its LAST cell. Every other top-level statement (a loop, a print, a training
    call, file I/O) is left out: a cell's kept statements stay on their own lines, so the
    worker's tracebacks give the student's line numbers. Cells that do not parse are skipped.
    Every decision that changes what runs is recorded in `notes`, for the student's feedback.
    Never raises for content: an empty result just defines nothing.
    """
    code = [(index, cell) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    parse_notes: list[str] = []
    labels, texts, statements = _parse_cells(code, parse_notes)
    notes: list[str] = []
    graded = _graded_cells(code, contract, statements, notes)
    notes += parse_notes
    # Cells the student declared part of the module.
    declared = {
        index
        for index, cell in code
        if index in labels and (is_export_cell(cell) or index in graded.values())
    }
    chosen = _chosen_definitions(statements, graded, contract, declared)
    notes += _found_by_name_notes(contract, chosen, declared, statements, metadata=bool(declared))
    # A cell holding a graded class is a graded cell that lost its metadata: all its
    # definitions belong to the module, as they would with the metadata intact.
    declared |= {chosen[c].cell for c in contract.values() if c in chosen}
    chosen = _chosen_definitions(statements, graded, contract, declared)
    wanted = [s for s in statements if s.cell in declared and s.is_definition]
    needed = set(contract.values()).union(*(s.binds for s in wanted))
    kept = _closure(chosen, needed, statements)
    chunks = []
    for index in sorted({s.cell for s in kept} | declared):
        in_cell = [s for s in statements if s.cell == index]
        kept_here = [s for s in in_cell if s in kept]
        if kept_here:
            chunks.append((labels[index], _kept_source(texts[index], in_cell, kept_here)))
        note = _cell_note(labels[index], texts[index], in_cell, kept_here, index in declared)
        if note:
            notes.append(note)
    return _module_from_cells(tuple(chunks), notes)


def _parse_cells(
    code: list[tuple[int, nbformat.NotebookNode]], notes: list[str]
) -> tuple[dict[int, str], dict[int, str], list[_Statement]]:
    """Label and python text per parsed cell, and every cell's top-level statements. Cells that
    cannot be parsed, and all cells past the bound on code, are left out with a note."""
    labels: dict[int, str] = {}
    texts: dict[int, str] = {}
    statements: list[_Statement] = []
    budget = MAX_CODE_CHARS
    for index, cell in code:
        label = cell_label(index, cell)
        text = python_source(cell.source) if isinstance(cell.source, str) else ""
        budget -= len(text)
        if budget < 0:
            notes.append(
                f"{label} and the code cells after it were skipped: the notebook holds more "
                f"than {MAX_CODE_CHARS:,} characters of code"
            )
            break
        tree, problem = _parse_cell(label, text)
        if tree is None:
            notes.append(problem)
            continue
        labels[index], texts[index] = label, text
        statements += _statements(index, tree)
    return labels, texts, statements


def _graded_cells(
    code: list[tuple[int, nbformat.NotebookNode]],
    contract: Mapping[str, str],
    statements: list[_Statement],
    notes: list[str],
) -> dict[str, int]:
    """grade_id -> the cell graded for it. A grade_id found on several cells (a duplicated
    cell, or its metadata copied onto a scratch cell) is graded from the last copy that defines
    the contract class, else the last copy; the other copies count as ordinary cells."""
    positions: dict[str, list[int]] = {}
    for index, cell in code:
        if _grade_id(cell) in contract:
            positions.setdefault(_grade_id(cell), []).append(index)
    graded = {}
    for grade_id, found in positions.items():
        class_name = contract[grade_id]
        defining = {s.cell for s in statements if class_name in (s.binds or ())}
        graded[grade_id] = ([index for index in found if index in defining] or found)[-1]
        if len(found) > 1:
            cells_text = ", ".join(str(index + 1) for index in found)
            which = (
                "the later one"
                if graded[grade_id] == found[-1]
                else f"the last one that defines {class_name}"
            )
            notes.append(
                f"cell {grade_id} appears {len(found)} times (cells {cells_text}); graded "
                f"{which} (cell {graded[grade_id] + 1})"
            )
    return graded


def _import_target(statement: _Statement, name: str) -> tuple | None:
    """What an import statement binds `name` to (None for any other statement)."""
    node = statement.node
    if not isinstance(node, ast.Import | ast.ImportFrom):
        return None
    for alias in node.names:
        if (alias.asname or alias.name.partition(".")[0]) == name:
            if isinstance(node, ast.Import):
                return ("import", alias.name if alias.asname else name)
            return ("from", node.module, node.level, alias.name)
    return None


def _chosen_definitions(
    statements: list[_Statement],
    graded: dict[str, int],
    contract: Mapping[str, str],
    declared: set[int],
) -> dict[str, _Statement]:
    """Name -> the statement whose definition counts: the last one in the notebook, except a
    contract class defined in its own graded cell, and an import repeated word for word in
    another cell (`import torch` at the top of a training cell), which changes nothing: the
    copy in the student's module cells is kept."""
    chosen: dict[str, _Statement] = {}
    for statement in statements:
        for bound in statement.binds or ():
            earlier = chosen.get(bound)
            if (
                earlier is not None
                and earlier.cell in declared
                and statement.cell not in declared
                and _import_target(earlier, bound) is not None
                and _import_target(earlier, bound) == _import_target(statement, bound)
            ):
                continue
            chosen[bound] = statement
    for grade_id, class_name in contract.items():
        cell = graded.get(grade_id)
        own = [s for s in statements if s.cell == cell and class_name in (s.binds or ())]
        if own:
            chosen[class_name] = own[-1]
    return chosen


def _closure(
    chosen: dict[str, _Statement], needed: set[str], statements: list[_Statement]
) -> set[_Statement]:
    """The chosen definitions of `needed` names and, transitively, of every name they read.

    An assignment that reads a name it rebinds (`BLOCKS = {**BLOCKS, "x": X}`) also needs the
    definition before it; a def or class that reads its own name finds itself when it runs."""

    def resolve(name: str) -> _Statement | None:
        nonlocal unresolved
        found = chosen.get(name)
        unresolved = unresolved or (found is None and not hasattr(builtins, name))
        return found

    unresolved = False
    kept: set[_Statement] = set()
    work = [resolve(name) for name in needed]
    while work:
        statement = work.pop()
        if statement is None or statement in kept:
            continue
        kept.add(statement)
        for name in statement.uses:
            if name not in (statement.binds or ()):
                work.append(resolve(name))
            elif isinstance(statement.node, ast.Assign | ast.AnnAssign):
                position = statements.index(statement)
                earlier = [s for s in statements[:position] if name in (s.binds or ())]
                work.append(earlier[-1] if earlier else resolve(name))
    if unresolved:  # a name defined nowhere may come from `from module import *`
        kept.update(s for s in statements if s.binds is not None and "*" in s.binds)
    return kept


def _found_by_name_notes(
    contract: Mapping[str, str],
    chosen: dict[str, _Statement],
    declared: set[int],
    statements: list[_Statement],
    metadata: bool,
) -> list[str]:
    """Notes on graded classes taken from cells without their metadata."""
    found = {
        class_name: chosen[class_name].cell
        for class_name in contract.values()
        if class_name in chosen and chosen[class_name].cell not in declared
    }
    notes = []
    for class_name, index in found.items():
        cells = sorted({s.cell for s in statements if class_name in (s.binds or ())})
        if len(cells) > 1:
            cells_text = ", ".join(str(cell + 1) for cell in cells)
            notes.append(
                f"{class_name} is defined in cells {cells_text}; graded the later one "
                f"(cell {index + 1})"
            )
    text = ", ".join(f"{name} in cell {index + 1}" for name, index in found.items())
    if not metadata:
        notes.append(
            "no cell carries the 'export' tag or an nbgrader id (an editor probably dropped the "
            "metadata); the definitions were found by name instead"
            + (f": {text}" if text else ", but none of the graded classes was found")
        )
    elif text:
        notes.append(
            "found by name, in cells without their export tag or nbgrader id (metadata lost?): "
            + text
        )
    return notes


def _cell_note(
    label: str, text: str, in_cell: list[_Statement], kept: list[_Statement], declared: bool
) -> str | None:
    """What the student must know about one cell: definitions taken from an untagged cell,
    and the top-level statements of a contributing cell that were not run."""
    lines = text.splitlines()
    skipped = [
        s for s in in_cell if s not in kept and not s.is_definition and not _is_inert(s.node)
    ]
    parts = []
    if not declared:
        names = sorted(set().union(*(s.binds for s in kept)))
        parts.append(
            f"{label} is not tagged 'export', but your graded code uses what it defines "
            f"({', '.join(names)}), so those definitions were taken"
        )
    if skipped:
        shown = ", ".join(_describe(lines, s) for s in skipped[:MAX_SKIPPED_SHOWN])
        more = len(skipped) - MAX_SKIPPED_SHOWN
        shown += f" and {more} more" if more > 0 else ""
        parts.append(
            f"{label}: skipped {len(skipped)} top-level statement(s) that your graded code "
            f"does not need ({shown}); the grader runs only imports, functions, classes, "
            "constants and the values your graded code reads"
            if declared
            else f"its other top-level statements were not run ({shown})"
        )
    return "; ".join(parts) or None


def _kept_source(text: str, in_cell: list[_Statement], kept: list[_Statement]) -> str:
    """The cell's text with only `kept` statements, each on its original lines (others blank)."""
    if len(kept) == len(in_cell):
        return text
    lines = text.splitlines()
    out = [""] * len(lines)
    dropped_lines = {
        line for s in in_cell if s not in kept for line in range(s.first_line, s.last_line + 1)
    }
    for statement in kept:
        span = range(statement.first_line, statement.last_line + 1)
        if not dropped_lines.intersection(span):
            for line in span:
                out[line - 1] = lines[line - 1]
            continue
        # It shares a line with a dropped statement (`x = 1; train()`): take only its own text.
        segment = ast.get_source_segment(text, statement.node) or ""
        for offset, piece in enumerate(segment.splitlines()):
            row = statement.node.lineno - 1 + offset
            out[row] = f"{out[row]}; {piece}" if offset == 0 and out[row].strip() else piece
    return "\n".join(out)


def import_module_from_source(source: str, module_name: str) -> ModuleType:
    """Import trusted `source` as a real module file, registered in sys.modules.

    Only for code the kit trusts (the reference solution). Student code is imported inside the
    sandboxed worker, never in this process. A real file keeps tracebacks and `inspect` working.
    """
    directory = Path(tempfile.mkdtemp(prefix="facekit-module-"))
    path = directory / f"{module_name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module
