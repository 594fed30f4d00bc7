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

from autograder.judge.worker_main import FORBIDDEN_MODULES, forbidden_name

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


def _top_level(tree: ast.Module) -> dict[str, list[ast.AST]]:
    """Module-level definitions by name: defs, classes and assignments."""
    definitions: dict[str, list[ast.AST]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            definitions.setdefault(node.name, []).append(node)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        definitions.setdefault(name.id, []).append(node)
    return definitions


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
    module-level aliases, or through module-level helpers they use)."""
    tree = _parse(source for _, source in cells)
    try:
        aliases = _imports(tree)
        definitions = _top_level(tree)
        for name, nodes in definitions.items():  # `blocks = torchvision.models.resnet`
            if len(nodes) == 1 and isinstance(nodes[0], ast.Assign) and name not in aliases:
                dotted = _dotted(nodes[0].value, aliases)
                if dotted and _is_forbidden(dotted):
                    aliases[name] = dotted
        direct = {name: _uses(nodes, aliases) for name, nodes in definitions.items()}
    except RecursionError:  # an absurdly nested expression: the worker still checks at run time
        return []
    found = []
    for class_name in class_names:
        used, seen, pending = set(), set(), [class_name]
        while pending:
            name = pending.pop()
            if name in seen or name not in direct:
                continue
            seen.add(name)
            forbidden, referenced = direct[name]
            used |= forbidden
            pending.extend(referenced - seen)
        longest = {a for a in used if not any(b.startswith(a + ".") for b in used)}
        if longest:
            found.append(Violation(class_name, tuple(sorted(longest))))
    return found
