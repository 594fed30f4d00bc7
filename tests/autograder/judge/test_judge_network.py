"""The Network is graded as the handout documents it: `Network(num_classes=7)` with every other
argument at the student's own default, on (N, 3, 112, 112) images."""

import nbformat
import pytest

from autograder.judge import grade_notebook
from autograder.judge.rubric import load_rubric
from facekit.base.contract import NETWORK
from facekit.sandbox_side.judge_worker import Mode

TORCHVISION_STYLE = '''
class Network(nn.Module):
    """A ResNet-18 written like torchvision's: fixed layer1..layer4, no architecture arguments."""

    def __init__(self, num_classes, embedding_dim=256):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.embedding = nn.Linear(512, embedding_dim)
        self.fc = nn.Linear(embedding_dim, num_classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        feats = self.embedding(torch.flatten(self.avgpool(x), 1))
        return {"feats": feats, "out": self.fc(feats)}
'''


def test_grader_passes_only_num_classes_on_112_pixel_images():
    """Does every Network case build Network(num_classes=...) alone, on (N, 3, 112, 112)?"""
    network = next(c for c in load_rubric().components if c.id == NETWORK)
    assert {Mode.TRAIN, Mode.EVAL} == {case.mode for case in network.cases}
    for case in network.cases:
        assert case.ctor == {"num_classes": 7}
        [spec] = case.inputs
        assert spec.shape[1:] == (3, 112, 112) and spec.shape[0] >= 2


@pytest.mark.slow
def test_torchvision_style_network_gets_full_marks(source_notebook, write_notebook, max_points):
    """Does a Network with fixed layer1..layer4 that honours the contract get full marks?"""
    notebook = nbformat.reads(nbformat.writes(source_notebook), as_version=4)
    cell = next(
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == NETWORK
    )
    cell.source = TORCHVISION_STYLE
    report = grade_notebook(write_notebook(notebook))
    network = next(c for c in report.components if c.id == NETWORK)
    assert network.points == max_points[NETWORK], network.feedback()
    assert report.total == report.max_total, report.to_markdown()


def test_network_whose_gradient_reaches_no_parameter_fails_the_train_contract(
    source_notebook, write_notebook
):
    """A Network that detaches its outputs: does the train-mode contract case say no parameter
    received a gradient, while the eval-mode one still passes?"""
    notebook = nbformat.reads(nbformat.writes(source_notebook), as_version=4)
    cell = next(
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == NETWORK
    )
    cell.source = TORCHVISION_STYLE.replace(
        'return {"feats": feats, "out": self.fc(feats)}',
        'return {"feats": feats.detach(), "out": self.fc(feats).detach()}',
    )
    assert cell.source != TORCHVISION_STYLE
    report = grade_notebook(write_notebook(notebook))
    cases = {
        case.name: case for case in next(c for c in report.components if c.id == NETWORK).cases
    }
    assert not cases["train_contract"].passed
    assert "no parameter received a gradient" in " ".join(cases["train_contract"].problems)
    assert cases["eval_contract"].passed, cases["eval_contract"].problems
