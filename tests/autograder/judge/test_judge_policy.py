"""The imports policy: graded components written by the student, never taken from a library.

The source check resolves aliases; what it cannot see (names built at run time) the worker
catches from the classes of the submodules and the calls made while a case runs.
"""

from pathlib import Path

import nbformat
import pytest

from autograder.judge import grade_notebook
from autograder.judge.policy import violations
from facekit.base.contract import BASIC_BLOCK, BOTTLENECK, CONVNEXT_BLOCK, NETWORK, TRIPLET_LOSS
from facekit.notebook.reference import reference_source

CLASSES = ("BasicBlock", "Bottleneck", "ConvNeXtBlock", "TripletLoss", "Network")
HEADER = "import torch\nimport torchvision\nfrom torch import nn\nimport torch.nn.functional as F\n"
CHEATER = Path(__file__).parents[1] / "batch" / "cheaters" / "wrap_library_components.py"

SOURCES = [
    (
        "subclass through a module alias",
        "import torchvision.models as tvm\nclass BasicBlock(tvm.resnet.BasicBlock):\n    pass\n",
        "BasicBlock",
        "torchvision.models.resnet.BasicBlock",
    ),
    (
        "renamed from-import",
        "from torchvision.models.resnet import BasicBlock as B\n"
        "class BasicBlock(nn.Module):\n    def __init__(self):\n        self.b = B(1, 1)\n",
        "BasicBlock",
        "torchvision.models.resnet.BasicBlock",
    ),
    (
        "module-level alias of a submodule",
        "blocks = torchvision.models.resnet\n"
        "class Bottleneck(nn.Module):\n    def __init__(self):\n"
        "        self.b = blocks.Bottleneck\n",
        "Bottleneck",
        "torchvision.models.resnet.Bottleneck",
    ),
    (
        "getattr with a constant name",
        "class ConvNeXtBlock(nn.Module):\n    def __init__(self):\n"
        "        self.b = getattr(torchvision, 'models').convnext.CNBlock\n",
        "ConvNeXtBlock",
        "torchvision.models.convnext.CNBlock",
    ),
    (
        "through a module-level helper",
        "import importlib\ndef helper():\n    return importlib.import_module('torchvision.ops')\n"
        "class ConvNeXtBlock(nn.Module):\n    def __init__(self):\n        self.sd = helper()\n",
        "ConvNeXtBlock",
        "torchvision.ops",
    ),
    (
        "torch's triplet loss, functional",
        "class TripletLoss(nn.Module):\n    def forward(self, a, p, n):\n"
        "        return F.triplet_margin_loss(a, p, n)\n",
        "TripletLoss",
        "torch.nn.functional.triplet_margin_loss",
    ),
    (
        "torch's triplet loss, module",
        "from torch.nn import TripletMarginLoss as T\nclass TripletLoss(T):\n    pass\n",
        "TripletLoss",
        "torch.nn.TripletMarginLoss",
    ),
    (
        "a Network built from a forbidden block of the student's",
        "class BasicBlock(torchvision.models.resnet.BasicBlock):\n    pass\n"
        "class Network(nn.Module):\n    def __init__(self, num_classes):\n"
        "        self.layer1 = BasicBlock(64, 64)\n",
        "Network",
        "torchvision.models.resnet.BasicBlock",
    ),
]


@pytest.mark.parametrize(
    ("source", "class_name", "used"), [s[1:] for s in SOURCES], ids=[s[0] for s in SOURCES]
)
def test_forbidden_uses_are_found_through_aliases(source, class_name, used):
    """Is each way of reaching a forbidden implementation found, naming what is used?"""
    found = {v.class_name: v.used for v in violations([("cell 1", HEADER + source)], CLASSES)}
    assert used in found.get(class_name, ()), found


@pytest.mark.parametrize(
    "source",
    [
        "class Network(nn.Module):\n    def forward(self, x):\n"
        "        return torchvision.transforms.functional.normalize(x, [0.5], [0.5])\n",
        "import torchvision.models as tvm\nteacher = tvm.resnet18\n"
        "class BasicBlock(nn.Module):\n    pass\n",
        "from torchvision.models.resnet import BasicBlock\n"
        "class BasicBlock(nn.Module):\n    pass\n",
        "def unfinished(:\n",
        "x = " + "(" * 5000 + ")" * 5000 + "\n",
    ],
    ids=["transforms", "unused-alias", "own-class-shadows-import", "syntax-error", "too-deep"],
)
def test_honest_or_unparsable_sources_are_not_flagged(source):
    """Are torchvision's transforms, an unused alias, a class shadowing an import, and cells the
    parser refuses left alone (the worker still checks at run time)?"""
    assert violations([("cell 1", HEADER + source)], CLASSES) == []


def test_reference_follows_the_policy():
    """Does the reference solution itself pass the source check?"""
    assert violations([("reference", reference_source())], CLASSES + ("CenterLoss",)) == []


@pytest.mark.slow
def test_library_components_score_zero_only_where_used(source_notebook, write_notebook, max_points):
    """Do wrappers around torchvision's blocks and torch's triplet loss, hidden from the source
    check, score 0 on their components only, saying what they used?"""
    notebook = nbformat.from_dict(source_notebook)
    notebook = nbformat.reads(nbformat.writes(notebook), as_version=4)
    wrapped = {BASIC_BLOCK, BOTTLENECK, CONVNEXT_BLOCK, TRIPLET_LOSS}
    for cell in notebook.cells:  # in the graded cells, where the grader takes each class from
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") in wrapped:
            cell.source += "\n\n" + CHEATER.read_text()
    report = grade_notebook(write_notebook(notebook))
    # The Network builds its stages from BasicBlock, now the wrapper: it uses torchvision too.
    for component in report.components:
        text = component.feedback()
        if component.id in wrapped | {NETWORK}:
            assert component.points == 0, text
            assert "uses torch" in text and "written by you" in text, text
            assert "policy.forbidden" in component.hint_ids
        else:
            assert component.points == max_points[component.id], text
