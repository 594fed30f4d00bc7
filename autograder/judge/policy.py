"""The imports policy, checked in the student's source (the worker checks it again at run time).

Policy: every graded component (the blocks, the margin heads, the losses and the Network) is
written by the student from torch, torch.nn and torch.nn.functional. It must not subclass, wrap,
build or call a ready-made implementation: anything from torchvision.models or torchvision.ops,
timm, pytorch_metric_learning, facenet_pytorch or insightface, nor torch's own triplet losses
(nn.TripletMarginLoss, nn.TripletMarginWithDistanceLoss, F.triplet_margin_loss,
F.triplet_margin_with_distance_loss, torch.triplet_margin_loss). A component that does scores 0,
with a message naming what it used. Code outside the graded classes (data loading, training)
may use any library.

The source check resolves names through the module's imports and module-level aliases
(`import torchvision.models as tvm`, `from torchvision.models.resnet import BasicBlock as B`,
`blocks = tvm.resnet`, `getattr(torchvision, "models")`, `importlib.import_module("timm")`)
and follows module-level helpers a class uses. What defeats a source check (names built at run
time) is caught by the worker, which checks the classes of every submodule and watches calls.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from facekit.sandbox_side.judge_worker import FORBIDDEN_MODULES, forbidden_name

IMPORT_FUNCTIONS = {"importlib.import_module", "__import__"}


@dataclass(frozen=True)
class Violation:
    """A graded class that uses something the policy forbids, and what (dotted names)."""

    class_name: str
    used: tuple[str, ...]

    def message(self) -> str:
        return (
            f"{self.class_name} uses {', '.join(self.used[:4])}: graded components must be "
            "written by you from torch, torch.nn and torch.nn.functional (see the imports "
            "policy in the handout), so it scores 0"
        )


def _is_forbidden(dotted: str) -> bool:
    module, _, name = dotted.rpartition(".")
    if any(dotted == root or dotted.startswith(root + ".") for root in FORBIDDEN_MODULES):
        return True
    return bool(module) and forbidden_name(module, name) is not None


def _dotted(node: ast.AST, aliases: Mapping[str, str]) -> str | None:
    """`a.b.c` for a Name/Attribute chain (or getattr(chain, "name")), its head resolved."""
    parts = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            parts.append(node.args[1].value)
            node = node.args[0]
        elif isinstance(node, ast.Name):
            parts.append(aliases.get(node.id, node.id))
            return ".".join(reversed(parts))
        else:
            return None


def _bind_imports(node: ast.AST, aliases: dict[str, str]) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                aliases[alias.asname] = alias.name
            else:
                head = alias.name.split(".")[0]
                aliases[head] = head
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
        for alias in node.names:
            aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"


def _imports(tree: ast.Module) -> dict[str, str]:
    """Names the module's imports bind, to the dotted path they stand for. Imports inside
    functions count too; a later module-level def or class of the same name wins."""
    aliases: dict[str, str] = {}
    for statement in tree.body:
        for node in ast.walk(statement):
            _bind_imports(node, aliases)
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            aliases.pop(statement.name, None)
    return aliases


def _defined_names(statement: ast.stmt) -> list[str]:
    """The module-level names a statement binds (defs, classes, assignment targets)."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [statement.name]
    if isinstance(statement, ast.Assign | ast.AnnAssign):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    return []


def _split(statement: ast.stmt) -> tuple[list[ast.AST], list[ast.AST]]:
    """(parts run when the statement runs, parts run later: function bodies)."""
    functions = ast.FunctionDef | ast.AsyncFunctionDef
    if isinstance(statement, functions):
        return [*statement.decorator_list, statement.args], list(statement.body)
    if isinstance(statement, ast.ClassDef):
        now: list[ast.AST] = [*statement.bases, *statement.keywords, *statement.decorator_list]
        later: list[ast.AST] = []
        for item in statement.body:
            if isinstance(item, functions):
                now += [*item.decorator_list, item.args]
                later += item.body
            else:
                now.append(item)
        return now, later
    return [statement], []


def _uses(nodes: Iterable[ast.AST], aliases: Mapping[str, str]) -> tuple[set[str], set[str]]:
    """(forbidden dotted names used, plain names referenced) inside `nodes`."""
    forbidden, names = set(), set()
    for root in nodes:
        for node in ast.walk(root):
            if isinstance(node, ast.Name):
                names.add(node.id)
            if isinstance(node, ast.Attribute | ast.Name | ast.Call):
                dotted = _dotted(node, aliases)
                if dotted and _is_forbidden(dotted):
                    forbidden.add(dotted)
            if isinstance(node, ast.Call):
                function = _dotted(node.func, aliases)
                first = node.args[0] if node.args else None
                if (
                    function in IMPORT_FUNCTIONS
                    and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                    and _is_forbidden(first.value)
                ):
                    forbidden.add(first.value)
    return forbidden, names


def _parse(sources: Iterable[str]) -> ast.Module:
    """One module from the cells that parse; a cell too deep or broken for the parser is left
    to the worker (it fails there, as the student's fault)."""
    body: list[ast.stmt] = []
    for source in sources:
        try:
            body.extend(ast.parse(source).body)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return ast.Module(body=body, type_ignores=[])


def violations(cells: Iterable[tuple[str, str]], class_names: Iterable[str]) -> list[Violation]:
    """The graded classes that, by their source, use what the policy forbids (directly, through
    module-level aliases, or through module-level helpers they use). A name used when a
    statement runs means its latest definition above; one used in a function body, its last."""
    tree = _parse(source for _, source in cells)
    try:
        aliases = _imports(tree)
        statements = tree.body
        for statement in statements:  # `blocks = torchvision.models.resnet`
            names = _defined_names(statement)
            if isinstance(statement, ast.Assign) and len(names) == 1 and names[0] not in aliases:
                dotted = _dotted(statement.value, aliases)
                if dotted and _is_forbidden(dotted):
                    aliases[names[0]] = dotted
        uses = []
        for statement in statements:
            now, later = _split(statement)
            forbidden_now, names_now = _uses(now, aliases)
            forbidden_later, names_later = _uses(later, aliases)
            uses.append((forbidden_now | forbidden_later, names_now, names_later))
    except RecursionError:  # an absurdly nested expression: the worker still checks at run time
        return []
    positions: dict[str, list[int]] = {}
    for index, statement in enumerate(statements):
        for name in _defined_names(statement):
            positions.setdefault(name, []).append(index)

    def latest(name: str, before: int) -> int | None:
        found = [index for index in positions.get(name, []) if index < before]
        return found[-1] if found else None

    found = []
    for class_name in class_names:
        start = latest(class_name, len(statements))
        used, seen, pending = set(), set(), [] if start is None else [start]
        while pending:
            index = pending.pop()
            if index in seen:
                continue
            seen.add(index)
            forbidden, names_now, names_later = uses[index]
            used |= forbidden
            pending += [i for n in names_now if (i := latest(n, index)) is not None]
            pending += [i for n in names_later if (i := latest(n, len(statements))) is not None]
        longest = {a for a in used if not any(b.startswith(a + ".") for b in used)}
        if longest:
            found.append(Violation(class_name, tuple(sorted(longest))))
    return found
