"""The mutant corpus: realistic bugs, each a one-cell edit of the source notebook.

Every mutant must lose points on its own component and nowhere else. Mutants of different
components cannot interfere (each edits one graded cell), so one graded notebook carries one
mutant per component ("a round"): a few sandbox runs cover the whole corpus.
"""

import csv
from dataclasses import dataclass

import nbformat
import pytest

from autograder.judge import grade_notebook
from facekit.base import contract


@dataclass(frozen=True)
class Mutant:
    component: str  # the nbgrader grade_id of the edited cell
    description: str
    edits: tuple[tuple[str, str], ...]  # (old, new) text replacements in that cell
    hint: str = ""  # a phrase the component's feedback must contain
    wrong_hint: str = ""  # a phrase it must not contain (another bug's hint)


MUTANTS = [
    # ------------------------------------------------------------------ BasicBlock
    Mutant(
        contract.BASIC_BLOCK,
        "ReLU before the residual add",
        (
            (
                "out = self.bn2(self.conv2(out))\n        return F.relu(out + identity)",
                "out = F.relu(self.bn2(self.conv2(out)))\n        return out + identity",
            ),
        ),
        hint="BEFORE the residual add",
    ),
    Mutant(
        contract.BASIC_BLOCK,
        "downsample without BatchNorm",
        (
            (
                "nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),\n"
                "                nn.BatchNorm2d(out_channels),",
                "nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),",
            ),
        ),
        hint="missing: downsample.1.",
    ),
    Mutant(
        contract.BASIC_BLOCK,
        "stride on the second conv instead of the first",
        (
            (
                "kernel_size=3, stride=stride, padding=1, bias=False",
                "kernel_size=3, padding=1, bias=False",
            ),
            (
                "nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False)",
                "nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=stride, padding=1, "
                "bias=False)",
            ),
        ),
    ),
    Mutant(
        contract.BASIC_BLOCK,
        "no ReLU after the add",
        (("return F.relu(out + identity)", "return out + identity"),),
        hint="without its final ReLU",
    ),
    # ------------------------------------------------------------------ Bottleneck
    Mutant(
        contract.BOTTLENECK,
        "stride on the first 1x1 conv (ResNet v1) instead of the 3x3",
        (
            (
                "nn.Conv2d(in_channels, mid_channels, kernel_size=1, bias=False)",
                "nn.Conv2d(in_channels, mid_channels, kernel_size=1, stride=stride, bias=False)",
            ),
            ("kernel_size=3, stride=stride, padding=1", "kernel_size=3, padding=1"),
        ),
    ),
    Mutant(
        contract.BOTTLENECK,
        "missing ReLU after bn2",
        (
            (
                "out = F.relu(self.bn2(self.conv2(out)))",
                "out = self.bn2(self.conv2(out))",
            ),
        ),
        hint="without the ReLU after bn2",
    ),
    Mutant(
        contract.BOTTLENECK,
        "ReLU before the residual add",
        (
            (
                "out = self.bn3(self.conv3(out))\n        return F.relu(out + identity)",
                "out = F.relu(self.bn3(self.conv3(out)))\n        return out + identity",
            ),
        ),
    ),
    # ------------------------------------------------------------------ ConvNeXtBlock
    Mutant(
        contract.CONVNEXT_BLOCK,
        "LayerNorm over (H, W, C) instead of over channels",
        (
            (
                "self.pwconv1(self.norm(x))",
                "self.pwconv1(F.layer_norm(x, x.shape[1:], eps=1e-6) * self.norm.weight "
                "+ self.norm.bias)",
            ),
        ),
    ),
    Mutant(
        contract.CONVNEXT_BLOCK,
        "drop path active in eval",
        (("if self.training and self.drop_path > 0.0:", "if self.drop_path > 0.0:"),),
        hint="stochastic depth must be off outside training",
    ),
    Mutant(
        contract.CONVNEXT_BLOCK,
        "GroupNorm(1, C) as its LayerNorm (normalises over C, H, W)",
        (
            (
                "self.norm = nn.LayerNorm(channels, eps=1e-6)",
                "self.norm = nn.GroupNorm(1, channels, eps=1e-6)",
            ),
            ("x = self.dwconv(x)", "x = self.norm(self.dwconv(x))"),
            ("self.pwconv1(self.norm(x))", "self.pwconv1(x)"),
        ),
        hint="(C, H, W)",
        wrong_hint="stochastic depth must be off",
    ),
    Mutant(
        contract.CONVNEXT_BLOCK,
        "drop path: kept samples not rescaled",
        (("mask = mask / keep_prob", "mask = mask"),),
        hint="not rescaled",
    ),
    Mutant(
        contract.CONVNEXT_BLOCK,
        "drop path: keeps with probability p instead of 1 - p",
        ((".bernoulli_(keep_prob)", ".bernoulli_(self.drop_path)"),),
        hint="KEEP with probability 1 − p",
    ),
    Mutant(
        contract.CONVNEXT_BLOCK,
        "drop path: kept samples multiplied by 1 - p",
        (("mask = mask / keep_prob", "mask = mask * keep_prob"),),
    ),
    Mutant(
        contract.CONVNEXT_BLOCK,
        "drop path: one coin per element",
        (("x.new_empty((x.shape[0], 1, 1, 1))", "x.new_empty(x.shape)"),),
        hint="dropped one by one",
    ),
    Mutant(
        contract.CONVNEXT_BLOCK,
        "layer scale gamma never applied",
        (("x = (self.gamma * x).permute(0, 3, 1, 2)", "x = x.permute(0, 3, 1, 2)"),),
        hint="without the layer scale gamma",
    ),
    Mutant(
        contract.CONVNEXT_BLOCK,
        "one drop-path coin for the whole batch",
        (("x.new_empty((x.shape[0], 1, 1, 1))", "x.new_empty((1, 1, 1, 1))"),),
        hint="per sample",
    ),
    # ------------------------------------------------------------------ InvertedResidual
    Mutant(
        contract.INVERTED_RESIDUAL,
        "ReLU instead of ReLU6 after the depthwise conv",
        (
            (
                "out = F.relu6(self.bn2(self.dwconv(out)))",
                "out = F.relu(self.bn2(self.dwconv(out)))",
            ),
        ),
    ),
    Mutant(
        contract.INVERTED_RESIDUAL,
        "activation after the linear projection",
        (
            (
                "out = self.bn3(self.project(out))",
                "out = F.relu6(self.bn3(self.project(out)))",
            ),
        ),
    ),
    Mutant(
        contract.INVERTED_RESIDUAL,
        "residual whenever the channels match, ignoring the stride",
        (
            (
                "self.use_residual = stride == 1 and in_channels == out_channels",
                "self.use_residual = in_channels == out_channels",
            ),
        ),
        hint="the residual and the branch have different shapes",
    ),
    # ------------------------------------------------------------------ ArcFace
    Mutant(
        contract.ARCFACE,
        "class weights not normalised",
        (("F.normalize(weight, dim=1)", "weight"),),
        hint="un-normalised class weights",
    ),
    Mutant(
        contract.ARCFACE,
        "margin applied to every class",
        (
            (
                "return self.s * torch.where(is_target, target, cos)",
                "return self.s * target",
            ),
        ),
        hint="EVERY class",
    ),
    Mutant(
        contract.ARCFACE,
        "margin taken in degrees",
        (
            (
                "cos_plus_m = cos * math.cos(self.m) - sin * math.sin(self.m)",
                "cos_plus_m = cos * math.cos(math.radians(self.m)) - sin * math.sin("
                "math.radians(self.m))",
            ),
        ),
    ),
    Mutant(
        contract.ARCFACE,
        "no fallback where theta + m > pi",
        (
            (
                "target = torch.where(cos > math.cos(math.pi - self.m), cos_plus_m, fallback)",
                "target = cos_plus_m",
            ),
        ),
        hint="fall back",
    ),
    # ------------------------------------------------------------------ CosFace
    Mutant(
        contract.COSFACE,
        "margin subtracted from every class",
        (("return self.s * (cos - margin)", "return self.s * (cos - self.m)"),),
        hint="EVERY class",
    ),
    Mutant(
        contract.COSFACE,
        "margin not scaled by s",
        (("return self.s * (cos - margin)", "return self.s * cos - margin"),),
        hint="inside the scale",
    ),
    Mutant(
        contract.COSFACE,
        "embeddings not normalised",
        (("F.normalize(embeddings, dim=1)", "embeddings"),),
    ),
    # ------------------------------------------------------------------ SphereFace
    Mutant(
        contract.SPHEREFACE,
        "embeddings normalised (no ||x|| factor)",
        (
            (
                "return norm * torch.where(is_target, psi, cos)",
                "return torch.where(is_target, psi, cos)",
            ),
        ),
        hint="‖x‖",
    ),
    Mutant(
        contract.SPHEREFACE,
        "psi without the sign (-1)^k",
        (("psi = (1 - 2 * (k % 2)) * cos_m - 2 * k", "psi = cos_m - 2 * k"),),
    ),
    Mutant(
        contract.SPHEREFACE,
        "psi without the -2k shift",
        (("psi = (1 - 2 * (k % 2)) * cos_m - 2 * k", "psi = (1 - 2 * (k % 2)) * cos_m"),),
    ),
    # ------------------------------------------------------------------ TripletLoss
    Mutant(
        contract.TRIPLET_LOSS,
        "unsquared distances",
        (
            (
                "(anchor - positive).pow(2).sum(dim=1)",
                "(anchor - positive).pow(2).sum(dim=1).sqrt()",
            ),
            (
                "(anchor - negative).pow(2).sum(dim=1)",
                "(anchor - negative).pow(2).sum(dim=1).sqrt()",
            ),
        ),
        hint="unsquared",
    ),
    Mutant(
        contract.TRIPLET_LOSS,
        "sum instead of mean",
        (
            (
                "return F.relu(d_ap - d_an + self.margin).mean()",
                "return F.relu(d_ap - d_an + self.margin).sum()",
            ),
        ),
        hint="SUM",
    ),
    Mutant(
        contract.TRIPLET_LOSS,
        "margin outside the relu",
        (
            (
                "return F.relu(d_ap - d_an + self.margin).mean()",
                "return (F.relu(d_ap - d_an) + self.margin).mean()",
            ),
        ),
    ),
    # ------------------------------------------------------------------ BatchHardTripletLoss
    Mutant(
        contract.BATCH_HARD_TRIPLET_LOSS,
        "unsquared distances",
        ((".pow(2).sum(dim=2)", ".pow(2).sum(dim=2).clamp_min(1e-12).sqrt()"),),
        hint="unsquared",
    ),
    Mutant(
        contract.BATCH_HARD_TRIPLET_LOSS,
        "hardest positive may be the anchor itself",
        (("positive = same & ~itself", "positive = same"),),
        hint="itself",
        wrong_hint="ALL anchors",
    ),
    Mutant(
        contract.BATCH_HARD_TRIPLET_LOSS,
        "mean over all anchors, not only valid ones",
        (
            (
                "losses = F.relu(hardest_positive[valid] - hardest_negative[valid] + self.margin)",
                "losses = F.relu(hardest_positive - hardest_negative + self.margin)",
            ),
        ),
        hint="ALL anchors",
        wrong_hint="itself",
    ),
    Mutant(
        contract.BATCH_HARD_TRIPLET_LOSS,
        "easiest negative (largest distance) instead of the hardest",
        (
            (
                'distances.masked_fill(~negative, float("inf")).amin(dim=1)',
                'distances.masked_fill(~negative, float("-inf")).amax(dim=1)',
            ),
        ),
    ),
    # ------------------------------------------------------------------ CenterLoss
    Mutant(
        contract.CENTER_LOSS,
        "without the factor 0.5",
        (("return 0.5 * (features - centers)", "return (features - centers)"),),
        hint="0.5",
    ),
    Mutant(
        contract.CENTER_LOSS,
        "summed over the batch instead of averaged",
        ((".sum(dim=1).mean()", ".sum(dim=1).sum()"),),
        hint="SUM",
    ),
    Mutant(
        contract.CENTER_LOSS,
        "mean over every element",
        ((".pow(2).sum(dim=1).mean()", ".pow(2).mean()"),),
    ),
    # ------------------------------------------------------------------ Network
    Mutant(
        contract.NETWORK,
        "forward returns a tuple",
        (
            (
                'return {"feats": feats, "out": self.classifier(feats)}',
                "return feats, self.classifier(feats)",
            ),
        ),
        hint="returned tuple",
    ),
    Mutant(
        contract.NETWORK,
        "classifier with one class too many",
        (
            (
                "self.classifier = nn.Linear(embedding_dim, num_classes)",
                "self.classifier = nn.Linear(embedding_dim, num_classes + 1)",
            ),
        ),
    ),
    Mutant(
        contract.NETWORK,
        "outputs detached from the graph",
        (
            (
                'return {"feats": feats, "out": self.classifier(feats)}',
                'return {"feats": feats.detach(), "out": self.classifier(feats).detach()}',
            ),
        ),
        hint="gradient",
    ),
]


def rounds(mutants: list[Mutant]) -> list[list[Mutant]]:
    """Group mutants so that each group holds at most one mutant per component."""
    groups: list[list[Mutant]] = []
    for mutant in mutants:
        for group in groups:
            if all(other.component != mutant.component for other in group):
                group.append(mutant)
                break
        else:
            groups.append([mutant])
    return groups


ROUNDS = rounds(MUTANTS)


def test_corpus_has_three_mutants_per_component(max_points):
    """Does every rubric component have at least three mutants?"""
    counts = {component: 0 for component in max_points}
    for mutant in MUTANTS:
        counts[mutant.component] += 1
    assert min(counts.values()) >= 3, counts


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: f"{m.component}-{m.description}")
def test_mutant_edit_applies(mutant, edited_copy, edit_cell):
    """Does each mutant's text still occur exactly once in its cell of the source notebook?"""
    edit_cell(edited_copy(), mutant.component, mutant.edits)


@pytest.mark.slow
@pytest.mark.parametrize("round_index", range(len(ROUNDS)))
def test_mutants_lose_points_on_their_component_only(
    round_index, edited_copy, edit_cell, write_notebook, max_points
):
    """Does each mutant lose points on its own component, and every other component keep all?"""
    notebook = edited_copy()
    mutants = {mutant.component: mutant for mutant in ROUNDS[round_index]}
    for mutant in mutants.values():
        edit_cell(notebook, mutant.component, mutant.edits)
    report = grade_notebook(write_notebook(notebook))
    points = report.component_points()
    feedback = {component.id: component.feedback() for component in report.components}
    for component, earned in points.items():
        mutant = mutants.get(component)
        if mutant is None:
            assert earned == max_points[component], (
                f"{component} lost points although only {sorted(mutants)} were mutated:\n"
                f"{feedback[component]}"
            )
            continue
        assert earned < max_points[component], (
            f"mutant '{mutant.description}' of {component} was not caught:\n{feedback[component]}"
        )
        assert mutant.hint in feedback[component], (
            f"feedback for '{mutant.description}' lacks {mutant.hint!r}:\n{feedback[component]}"
        )
        assert not mutant.wrong_hint or mutant.wrong_hint not in feedback[component], (
            f"feedback for '{mutant.description}' gives another bug's hint "
            f"{mutant.wrong_hint!r}:\n{feedback[component]}"
        )


@pytest.mark.slow
def test_class_report_counts_each_planted_bug(edited_copy, edit_cell, tmp_path):
    """Does `facekit grade`'s class report name each planted bug's hint id with the number of
    notebooks it was planted in (round 0 in two notebooks, round 1 in one)?"""
    from autograder.batch import NotebookSubmission, grade_batch
    from autograder.judge.class_report import CSV_NAME
    from autograder.judge.hints import HINTS

    planted = {"ann": ROUNDS[0], "bob": ROUNDS[0], "cy": ROUNDS[1]}
    submissions = []
    for student, mutants in planted.items():
        notebook = edited_copy()
        for mutant in mutants:
            edit_cell(notebook, mutant.component, mutant.edits)
        path = tmp_path / "in" / f"{student}.ipynb"
        path.parent.mkdir(exist_ok=True)
        nbformat.write(notebook, path)
        submissions.append(NotebookSubmission(student, path))
    grade_batch(submissions, tmp_path / "out", progress=False, self_test=False)
    expected: dict[str, int] = {}
    for mutants in planted.values():
        for mutant in mutants:
            ids = [key for key, text in HINTS.items() if mutant.hint and mutant.hint in text]
            if len(ids) == 1:  # a phrase that names one recognised bug
                expected[ids[0]] = expected.get(ids[0], 0) + 1
    assert len(expected) >= 4, expected
    with (tmp_path / "out" / CSV_NAME).open(newline="") as handle:
        counted = {
            r["key"]: int(r["students"]) for r in csv.DictReader(handle) if r["kind"] == "hint"
        }
    for hint_id, count in expected.items():
        assert counted.get(hint_id) == count, (hint_id, count, counted)
