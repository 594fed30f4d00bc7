"""Self-checks agree with the grader: every implementation the judge gives full marks passes every
self-check, and the bugs the handout warns about fail their component's self-check, saying why.

The self-check cells run in this process on edited copies of the source notebook (all code here
is the kit's own, trusted): the export cells first, then the helpers and the self-checks.
"""

import copy
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from facekit.base.contract import (
    BOTTLENECK,
    CONVNEXT_BLOCK,
    INVERTED_RESIDUAL,
    NETWORK,
    TRIPLET_LOSS,
)
from facekit.base.paths import SOLUTION_NOTEBOOK
from facekit.notebook.extract import is_export_cell, read_notebook

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
JUDGE_VARIANTS = Path(__file__).parents[1] / "autograder" / "judge" / "test_judge_variants.py"


@dataclass(frozen=True)
class Edit:
    """A one-cell edit of the source notebook: text replacements or a new forward body."""

    component: str  # the nbgrader grade_id of the edited cell
    description: str
    replacements: tuple[tuple[str, str], ...] = ()
    forward_body: str = ""  # replaces the cell's last solution region (its forward)
    cell_source: str = ""  # replaces the whole cell
    message: str = ""  # bugs: a phrase the failing self-check must print


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def edited(edit: Edit | None) -> nbformat.NotebookNode:
    """A copy of the source notebook with `edit` applied to its cell."""
    notebook = copy.deepcopy(read_notebook(SOLUTION_NOTEBOOK))
    return notebook if edit is None else apply(notebook, edit)


def apply(notebook: nbformat.NotebookNode, edit: Edit) -> nbformat.NotebookNode:
    """`notebook` with `edit` applied to its cell (in place)."""
    cell = next(c for c in notebook.cells if grade_id(c) == edit.component)
    cell.source = edit.cell_source or cell.source
    for old, new in edit.replacements:
        assert cell.source.count(old) == 1, f"{edit.description}: {old!r} is not in the cell once"
        cell.source = cell.source.replace(old, new)
    if edit.forward_body:
        start = cell.source.rindex(BEGIN) + len(BEGIN)
        end = cell.source.rindex(END)
        body = "\n" + edit.forward_body.rstrip() + "\n        "
        cell.source = cell.source[:start] + body + cell.source[end:]
    return notebook


def self_check_failures(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> error text of every self-check cell that fails (none: all passed)."""
    namespace: dict = {"__name__": "notebook"}
    for cell in notebook.cells:
        if is_export_cell(cell):
            exec(compile(cell.source, grade_id(cell) or "imports", "exec"), namespace)
    failures = {}
    for cell in notebook.cells:
        if "self-check" not in cell.metadata.get("tags", []):
            continue
        try:
            exec(compile(cell.source, grade_id(cell), "exec"), namespace)
        except Exception as error:  # a self-check fails with whatever the code raised
            failures[grade_id(cell)] = f"{type(error).__name__}: {error}"
    return failures


def _judge_variants_module():
    """tests/autograder/judge/test_judge_variants.py: its corpus and its `rounds` grouping."""
    spec = importlib.util.spec_from_file_location("judge_variants_corpus", JUDGE_VARIANTS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


JUDGE = _judge_variants_module()


def judge_variants() -> list[Edit]:
    """The judge's corpus of correct, differently written components (full marks there)."""
    return [
        Edit(variant.component, variant.description, forward_body=variant.forward_body)
        for variant in JUDGE.VARIANTS
    ]


# Correct implementations beyond the judge's corpus, each one the issue saw fail a self-check
# or pass one wrongly. The judge gives each full marks.
MORE_CORRECT = [
    Edit(
        NETWORK,
        "an unused BatchNorm1d",
        (
            (
                "self.classifier = nn.Linear(embedding_dim, num_classes)",
                "self.classifier = nn.Linear(embedding_dim, num_classes)\n"
                "        self.spare_norm = nn.BatchNorm1d(embedding_dim)  # never used",
            ),
        ),
    ),
    Edit(
        NETWORK,
        "torchvision-style fixed layer1..layer4 that ignores depths and widths",
        replacements=(
            (
                "depths = tuple(DEFAULT_DEPTHS[arch] if depths is None else depths)",
                "depths = DEFAULT_DEPTHS[arch]  # fixed: layer1..layer4",
            ),
            (
                "widths = tuple(DEFAULT_WIDTHS[arch] if widths is None else widths)",
                "widths = (16, 32, 64, 128)  # fixed",
            ),
        ),
    ),
    Edit(
        CONVNEXT_BLOCK,
        "LayerNorm written by hand over the channels of a channels-first tensor",
        (
            (
                "x = x.permute(0, 2, 3, 1)  # (N, H, W, C): LayerNorm and Linear act on the last "
                "dimension\n        x = self.pwconv2(F.gelu(self.pwconv1(self.norm(x))))",
                "mean = x.mean(dim=1, keepdim=True)\n"
                "        var = x.var(dim=1, keepdim=True, unbiased=False)\n"
                "        x = ((x - mean) / torch.sqrt(var + self.norm.eps)).permute(0, 2, 3, 1)\n"
                "        x = x * self.norm.weight + self.norm.bias\n"
                "        x = self.pwconv2(F.gelu(self.pwconv1(x)))",
            ),
        ),
    ),
    Edit(
        INVERTED_RESIDUAL,
        "residual decided in forward from the shapes",
        (
            (
                "self.use_residual = stride == 1 and in_channels == out_channels",
                "self.stride = stride",
            ),
            (
                "return x + out if self.use_residual else out",
                "return x + out if self.stride == 1 and x.shape == out.shape else out",
            ),
        ),
    ),
]

# A torchvision-style Network with fixed layer1..layer4 and only the arguments it needs: the
# handout's contract (Network(num_classes=K), everything else at its defaults) allows it.
LAYERED_NETWORK = Edit(
    NETWORK,
    "torchvision-style layer1..layer4 accepting only num_classes and embedding_dim",
    cell_source="""
class Network(nn.Module):
    def __init__(self, num_classes: int, embedding_dim: int = 64) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()
        )
        self.layer1 = BasicBlock(16, 16)
        self.layer2 = BasicBlock(16, 32, stride=2)
        self.layer3 = BasicBlock(32, 64, stride=2)
        self.layer4 = BasicBlock(64, 64, stride=2)
        self.embedding = nn.Linear(64, embedding_dim)
        self.classifier = nn.Linear(embedding_dim, num_classes)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        feats = self.embedding(x.mean(dim=(2, 3)))
        return {"feats": feats, "out": self.classifier(feats)}
""",
)

# The pitfalls the handout names: each must fail its own self-check with a pointed message.
BUGS = [
    Edit(
        BOTTLENECK,
        "no downsample on a channel change at stride 1",
        (("if stride != 1 or in_channels != out_channels:", "if stride != 1:"),),
        message="the shortcut needs a downsample even at stride 1",
    ),
    Edit(
        CONVNEXT_BLOCK,
        "LayerNorm over (C, H, W)",
        (
            (
                "x = x.permute(0, 2, 3, 1)  # (N, H, W, C): LayerNorm and Linear act on the last "
                "dimension\n        x = self.pwconv2(F.gelu(self.pwconv1(self.norm(x))))",
                "x = F.layer_norm(x, x.shape[1:], eps=1e-6)  # over (C, H, W)\n"
                "        x = x.permute(0, 2, 3, 1) * self.norm.weight + self.norm.bias\n"
                "        x = self.pwconv2(F.gelu(self.pwconv1(x)))",
            ),
        ),
        message="normalise over the channels of each pixel",
    ),
    Edit(
        CONVNEXT_BLOCK,
        "GroupNorm(1, C) as its LayerNorm",
        (
            (
                "self.norm = nn.LayerNorm(channels, eps=1e-6)",
                "self.norm = nn.GroupNorm(1, channels, eps=1e-6)",
            ),
            (
                "x = x.permute(0, 2, 3, 1)  # (N, H, W, C): LayerNorm and Linear act on the last "
                "dimension\n        x = self.pwconv2(F.gelu(self.pwconv1(self.norm(x))))",
                "x = self.norm(x).permute(0, 2, 3, 1)\n"
                "        x = self.pwconv2(F.gelu(self.pwconv1(x)))",
            ),
        ),
        message="normalise over the channels of each pixel",
    ),
    Edit(
        INVERTED_RESIDUAL,
        "ReLU6 after the projection",
        (("out = self.bn3(self.project(out))", "out = F.relu6(self.bn3(self.project(out)))"),),
        message="no activation after the projection",
    ),
    Edit(
        INVERTED_RESIDUAL,
        "residual whenever the stride is 1",
        (
            (
                "self.use_residual = stride == 1 and in_channels == out_channels",
                "self.use_residual = stride == 1",
            ),
        ),
        message="only when stride == 1 and in_channels == out_channels",
    ),
    Edit(
        INVERTED_RESIDUAL,
        "residual whenever the channels match",
        (
            (
                "self.use_residual = stride == 1 and in_channels == out_channels",
                "self.use_residual = in_channels == out_channels",
            ),
        ),
        message="only when stride == 1 and in_channels == out_channels",
    ),
    Edit(
        TRIPLET_LOSS,
        "unsquared distances",
        (
            (
                "d_ap = (anchor - positive).pow(2).sum(dim=1)",
                "d_ap = (anchor - positive).norm(dim=1)",
            ),
            (
                "d_an = (anchor - negative).pow(2).sum(dim=1)",
                "d_an = (anchor - negative).norm(dim=1)",
            ),
        ),
        message="squared",
    ),
]

CORRECT = [None, *judge_variants(), *MORE_CORRECT, LAYERED_NETWORK]


@pytest.mark.slow
@pytest.mark.parametrize(
    "edit", CORRECT, ids=lambda e: "reference" if e is None else f"{e.component}-{e.description}"
)
def test_correct_implementation_passes_every_self_check(edit):
    """Does every implementation the judge gives full marks pass every self-check?"""
    failures = self_check_failures(edited(edit))
    assert not failures, "\n".join(f"{cell}: {text}" for cell, text in failures.items())


@pytest.mark.slow
@pytest.mark.parametrize("bug", BUGS, ids=lambda e: f"{e.component}-{e.description}")
def test_named_pitfall_fails_its_self_check(bug):
    """Does each bug the handout warns about fail its component's self-check, saying why?"""
    failures = self_check_failures(edited(bug))
    check = f"check_{bug.component}"
    assert check in failures, f"{bug.description} passes {check}"
    assert bug.message in failures[check], failures[check]
    others = {cell for cell in failures if cell != check and cell != "check_network"}
    assert not others, f"{bug.description} also fails {sorted(others)}"


@pytest.mark.slow
@pytest.mark.parametrize(
    "group", JUDGE.rounds(MORE_CORRECT), ids=lambda g: "+".join(e.description for e in g)
)
def test_more_correct_implementations_get_full_marks(group, tmp_path):
    """Does the judge give full marks to the correct implementations added here?"""
    from autograder.judge import grade_notebook

    notebook = edited(None)
    for edit in group:
        notebook = apply(notebook, edit)
    path = tmp_path / "submission.ipynb"
    nbformat.write(notebook, path)
    report = grade_notebook(path)
    lost = [c.feedback() for c in report.components if c.points != c.max_points]
    assert report.total == report.max_total, "\n\n".join(lost)


@pytest.mark.slow
def test_layered_network_gets_full_marks(tmp_path):
    """Does a fixed layer1..layer4 Network that honours the documented contract get 14/14?"""
    from autograder.judge import grade_notebook

    path = tmp_path / "submission.ipynb"
    nbformat.write(edited(LAYERED_NETWORK), path)
    network = next(c for c in grade_notebook(path).components if c.id == NETWORK)
    assert network.points == network.max_points, network.feedback()
