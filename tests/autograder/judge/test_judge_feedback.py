"""Feedback is not an answer oracle: no expected values, fresh inputs per grading, and an
automated replay of what reports reveal gains nothing."""

import re

import nbformat
import pytest
import torch

from autograder.judge import grade_notebook
from autograder.judge.checks import FALSE_FAILURE_PROBABILITY, kept_count_bounds
from autograder.judge.findings import Pattern, describe_difference
from autograder.judge.hints import HINTS
from autograder.judge.prepare import prepare_cases, prepared_cases
from autograder.judge.rubric import load_rubric
from facekit.base.contract import CENTER_LOSS, CONVNEXT_BLOCK, TRIPLET_LOSS
from facekit.notebook.reference import load_reference

NUMBER = re.compile(r"[-+]?\d*\.?\d+(?:e[-+]?\d+)?")


def _revealed(expected: torch.Tensor, text: str) -> list[float]:
    """Expected values (to 3 significant digits) that appear among the numbers in `text`."""
    numbers = {f"{float(n):.3g}" for n in NUMBER.findall(text)}
    return [v for v in expected.flatten().tolist() if f"{v:.3g}" in numbers and abs(v) > 0.01]


@pytest.mark.parametrize(
    ("transform", "pattern"),
    [
        (lambda e: -e, Pattern.SIGN),
        (lambda e: 2 * e, Pattern.FACTOR),
        (lambda e: e + 0.7, Pattern.OFFSET),
        (lambda e: torch.cat([e[:1] + 1, e[1:]]), Pattern.SOME_ROWS),
        (lambda e: e + torch.linspace(0, 1, e.numel()).reshape(e.shape), None),
        (lambda e: e * (1 + 2e-4), Pattern.NEAR),
    ],
    ids=["sign", "factor", "offset", "one-row", "unstructured", "near"],
)
def test_difference_is_described_without_expected_values(transform, pattern):
    """Is the kind of difference named (sign, factor, offset, rows) and no expected value
    shown?"""
    expected = torch.randn(4, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    finding = describe_difference("output", transform(expected), expected, 1e-8, 1e-6)
    assert finding is not None and finding.pattern == pattern, finding
    assert _revealed(expected, str(finding)) == [], str(finding)


def test_every_grading_draws_fresh_inputs_and_a_seed_reproduces_them():
    """Do two grading seeds give different weights and inputs, and the same seed the same?"""
    first, second = prepared_cases(11), prepared_cases(12)
    again = prepare_cases(load_rubric(), load_reference(), 11)
    for a, b, c in zip(first, second, again, strict=True):
        for key, tensor in a.tensors.items():
            if tensor.is_floating_point() and tensor.numel() > 1:
                assert not torch.equal(tensor, b.tensors[key]), f"{a.case_id} {key}"
            assert torch.equal(tensor, c.tensors[key]), f"{a.case_id} {key}"


@pytest.mark.parametrize(("samples", "keep"), [(1024, 0.7), (1024, 0.5), (64, 0.9)])
def test_kept_fraction_bounds_fail_a_correct_block_below_one_in_a_million(samples, keep):
    """Is the chance that a correct drop path falls outside the bounds below 1e-6, and are the
    bounds the tightest such (one more sample inward would exceed it)?"""
    low, high = kept_count_bounds(samples, keep)
    pmf = torch.distributions.Binomial(samples, torch.tensor(keep, dtype=torch.float64))
    probability = pmf.log_prob(torch.arange(samples + 1, dtype=torch.float64)).exp()
    outside = float(probability[:low].sum() + probability[high + 1 :].sum())
    assert outside < FALSE_FAILURE_PROBABILITY
    assert float(probability[: low + 1].sum()) > FALSE_FAILURE_PROBABILITY / 2
    assert float(probability[high:].sum()) > FALSE_FAILURE_PROBABILITY / 2


def test_rubric_drop_path_bounds_reject_the_swapped_law():
    """With the rubric's case, does a block keeping with probability p (not 1 - p) fall
    outside the bounds by far?"""
    component = next(c for c in load_rubric().components if c.id == CONVNEXT_BLOCK)
    case = next(case for case in component.cases if case.check == "drop_path")
    p, samples = case.ctor["drop_path"], case.inputs[0].shape[0]
    low, high = kept_count_bounds(samples, 1 - p)
    assert p * samples + 6 * (samples * p * (1 - p)) ** 0.5 < low <= (1 - p) * samples <= high


def test_hints_mentioned_by_the_judge_exist():
    """Does every hint id used in the judge's code have words?"""
    from pathlib import Path

    import autograder.judge as package

    used = set()
    for path in Path(package.__file__).parent.glob("*.py"):
        used |= set(
            re.findall(r'"((?:finding|error|component|policy)\.[a-z_0-9]+)"', path.read_text())
        )
    assert used and used <= set(HINTS), used - set(HINTS)


REPLAY_CELL = '''
import torch
from torch import nn

REPLAY = {replay!r}


class TripletLoss(nn.Module):
    """Implements no loss: replays numbers read from earlier reports, keyed by the case's
    margin, batch size and dtype (what the attacker can see of a case)."""

    def __init__(self, margin=0.2):
        super().__init__()
        self.margin = margin

    def forward(self, anchor, positive, negative):
        key = f"{{self.margin}}/{{anchor.shape[0]}}/{{anchor.dtype}}"
        value = REPLAY.get(key, [0.0])[-1]
        return (anchor * 0).sum() + value
'''


@pytest.mark.slow
def test_replaying_revealed_numbers_gains_nothing(handout_path, write_notebook):
    """An attacker grades N times, each time replaying every number the last report showed for
    each case: do the points stay 0, and is no expected value ever among those numbers?"""
    rubric = next(c for c in load_rubric().components if c.id == TRIPLET_LOSS)
    replay: dict[str, list[float]] = {}
    seeds = set()
    for attempt in range(3):
        notebook = nbformat.read(handout_path, as_version=4)
        notebook.cells.append(
            nbformat.v4.new_code_cell(
                REPLAY_CELL.format(replay=replay), metadata={"tags": ["export"]}
            )
        )
        report = grade_notebook(write_notebook(notebook, name=f"attempt{attempt}.ipynb"))
        seeds.add(report.seed)
        triplet = next(c for c in report.components if c.id == TRIPLET_LOSS)
        assert triplet.points == 0, triplet.feedback()
        prepared = {
            p.case.name: p for p in prepared_cases(report.seed) if p.component.id == TRIPLET_LOSS
        }
        for case, result in zip(rubric.cases, triplet.cases, strict=True):
            text = " ".join(result.problems)
            assert _revealed(prepared[case.name].expected["output"], text) == [], text
            margin, batch = float(case.ctor.get("margin", 0.2)), case.inputs[0].shape[0]
            key = f"{margin}/{batch}/torch.{case.dtype}"
            replay.setdefault(key, []).extend(float(n) for n in NUMBER.findall(text))
    assert len(seeds) == 3


@pytest.mark.slow
def test_the_recorded_seed_reproduces_the_grading(source_notebook, write_notebook, edit_cell):
    """Graded again with the seed its report records, is a report identical, word for word?"""
    notebook = nbformat.reads(nbformat.writes(source_notebook), as_version=4)
    edit_cell(notebook, CENTER_LOSS, [(".sum(dim=1).mean()", ".sum(dim=1).sum()")])
    path = write_notebook(notebook)
    first = grade_notebook(path)
    again = grade_notebook(path, seed=first.seed)
    assert first.to_gradescope() == again.to_gradescope()
    assert first.to_markdown() == again.to_markdown()
    assert first.component_points()[CENTER_LOSS] == 0


def test_every_recognised_bug_has_words():
    """Does every known-bug formula and block variant carry an id that hints.py words?"""
    from autograder.judge.feedback import BLOCK_BUGS, KNOWN_BUGS, _reference_block

    ids = {bug for bugs in KNOWN_BUGS.values() for bug in bugs}
    for prepared in prepared_cases(11):
        if prepared.component.id in BLOCK_BUGS and prepared.case.check == "compare":
            module = _reference_block(prepared)
            with torch.no_grad():
                variants = BLOCK_BUGS[prepared.component.id](
                    module, prepared.input("x"), prepared.component.id
                )
            ids |= set(variants)
    ids.add("convnext_block.drop_path_in_eval")
    assert ids <= set(HINTS), ids - set(HINTS)
    assert all(bug.split(".")[0] in KNOWN_BUGS or bug.split(".")[0] in BLOCK_BUGS for bug in ids)


@pytest.mark.parametrize(
    ("kept", "recognised"),
    [
        ((False, True, True), True),  # the coin dropped one sample
        ((True, True, True), True),  # it kept all three (one draw in 8): the rescaling shows
        ((False, False, False), True),
    ],
)
def test_drop_path_left_on_in_eval_is_recognised_whatever_the_coin_drew(kept, recognised):
    """Is stochastic depth left on in eval named for every draw of its coin, including the one
    that keeps every sample (then only the 1/(1 − p) rescaling gives it away)?"""
    from autograder.judge.feedback import recognised_bugs

    prepared = next(
        case for case in prepared_cases(11) if case.case_id.endswith("eval_ignores_drop_path")
    )
    p = prepared.case.ctor["drop_path"]
    x = prepared.input("x")
    branch = prepared.expected["output"] - x
    mask = torch.tensor(kept, dtype=x.dtype).view(-1, 1, 1, 1) / (1 - p)
    bugs = recognised_bugs(prepared, x + branch * mask)
    assert ("convnext_block.drop_path_in_eval" in bugs) == recognised, bugs


def test_a_correct_eval_block_is_not_called_drop_path_in_eval():
    """Is the reference's own output (every branch kept, unscaled) never taken for that bug?"""
    from autograder.judge.feedback import recognised_bugs

    prepared = next(
        case for case in prepared_cases(11) if case.case_id.endswith("eval_ignores_drop_path")
    )
    assert "convnext_block.drop_path_in_eval" not in recognised_bugs(
        prepared, prepared.expected["output"]
    )
