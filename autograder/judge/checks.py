"""The checks that are not a plain comparison with the reference: drop path's law and the
Network's contract. Each returns (check name, problems) pairs, every pair worth an equal share of
the case's points, plus hint ids keyed to what was found.
"""

from __future__ import annotations

import functools
import math

import torch

from autograder.judge.findings import check_finite, describe_difference
from autograder.judge.prepare import PreparedCase
from autograder.judge.rubric import Tolerance
from autograder.judge.runner import Answer
from facekit.sandbox_side.judge_worker import EVAL_REPEATS, Objective

# A correct block fails the kept-fraction test with probability below this (both tails together).
FALSE_FAILURE_PROBABILITY = 1e-6
MAX_SAMPLES_LISTED = 4

Checks = list[tuple[str, list]]


@functools.cache
def kept_count_bounds(samples: int, keep: float) -> tuple[int, int]:
    """The smallest interval [low, high] of kept-sample counts that a correct drop path
    (Binomial(samples, keep)) leaves with probability below FALSE_FAILURE_PROBABILITY / 2 on
    each side."""
    log_pmf = [
        math.lgamma(samples + 1)
        - math.lgamma(k + 1)
        - math.lgamma(samples - k + 1)
        + (k * math.log(keep) if k else 0.0)
        + ((samples - k) * math.log1p(-keep) if samples - k else 0.0)
        for k in range(samples + 1)
    ]
    pmf = [math.exp(value) for value in log_pmf]
    tail = FALSE_FAILURE_PROBABILITY / 2
    low, below = 0, 0.0
    while below + pmf[low] <= tail:
        below += pmf[low]
        low += 1
    high, above = samples, 0.0
    while above + pmf[high] <= tail:
        above += pmf[high]
        high -= 1
    return low, high


def _per_sample_close(a: torch.Tensor, b: torch.Tensor, tolerance: Tolerance) -> torch.Tensor:
    return torch.isclose(a, b, atol=tolerance.atol, rtol=tolerance.rtol).flatten(1).all(1)


def _listed(indices: torch.Tensor) -> str:
    shown = indices.flatten().tolist()
    more = "" if len(shown) <= MAX_SAMPLES_LISTED else ", ..."
    return ", ".join(map(str, shown[:MAX_SAMPLES_LISTED])) + more


def _train_law(prepared: PreparedCase, got: torch.Tensor | None, tolerance: Tolerance):
    """Problems and hint ids for the train-mode output: per sample exactly the shortcut or
    shortcut + branch / (1 − p), kept on a fraction of samples that matches 1 − p."""
    x = prepared.input("x").double()
    if got is None or tuple(got.shape) != tuple(x.shape):
        shape = None if got is None else tuple(got.shape)
        return [f"train-mode output has shape {shape}, expected {tuple(x.shape)}"], []
    got = got.double()
    p = float(prepared.case.ctor["drop_path"])
    keep = 1.0 - p
    branch = prepared.expected["eval/0"].double() - x
    dropped = _per_sample_close(got, x, tolerance)
    kept = _per_sample_close(got, x + branch / keep, tolerance) & ~dropped
    neither = ~(dropped | kept)
    if neither.any():
        unscaled = _per_sample_close(got, x + branch, tolerance)
        elementwise = torch.isclose(got, x, atol=tolerance.atol, rtol=tolerance.rtol) | (
            torch.isclose(got, x + branch / keep, atol=tolerance.atol, rtol=tolerance.rtol)
        )
        problem = (
            f"in train mode (drop_path={p:g}) samples {_listed(neither.nonzero())} "
            f"({int(neither.sum())} of {len(x)}) are neither exactly the shortcut (branch "
            "dropped) nor shortcut + branch / (1 − drop_path) (branch kept)"
        )
        if bool((unscaled | dropped).all()):
            return [problem + ": the kept branches are not rescaled"], [
                "finding.drop_path_unscaled"
            ]
        if bool(elementwise.all()):
            return [problem + ": elements are dropped one by one"], [
                "finding.drop_path_not_per_sample"
            ]
        return [problem + ": the branch itself differs"], []
    count = int(kept.sum())
    low, high = kept_count_bounds(len(x), keep)
    if low <= count <= high:
        return [], []
    problem = (
        f"in train mode (drop_path={p:g}) {count} of {len(x)} samples kept their branch; a "
        f"correct drop path keeps about {keep * len(x):.0f} (between {low} and {high}, except "
        f"with probability below {FALSE_FAILURE_PROBABILITY:g})"
    )
    hint = (
        "finding.drop_path_not_per_sample"
        if count in (0, len(x))
        else ("finding.drop_path_keep_rate")
    )
    return [problem], [hint]


def _eval_determinism(prepared: PreparedCase, answer: Answer, tolerance: Tolerance) -> list:
    outputs = [answer.tensors.get(f"eval/{repeat}") for repeat in range(EVAL_REPEATS)]
    if any(output is None for output in outputs):
        return ["no eval-mode output was returned"]
    first = outputs[0]
    for repeat, other in enumerate(outputs[1:], start=1):
        if tuple(other.shape) != tuple(first.shape) or not torch.equal(other, first):
            return [
                f"eval mode is not deterministic: forward pass {repeat + 1} differs from pass 1 "
                "(stochastic depth must be off outside training)"
            ]
    finding = describe_difference(
        "output", first, prepared.expected["eval/0"], tolerance.atol, tolerance.rtol
    )
    return [] if finding is None else [f"eval-mode {finding}"]


def drop_path_checks(
    prepared: PreparedCase, answer: Answer, tolerance: Tolerance
) -> tuple[Checks, list[str]]:
    """Stochastic depth's whole law: train mode per sample and in proportion, eval determinism."""
    problems, hints = _train_law(prepared, answer.tensors.get("output"), tolerance)
    evaluated = _eval_determinism(prepared, answer, tolerance)
    return [("drop path in train mode", problems), ("eval mode", evaluated)], hints


def contract_checks(prepared: PreparedCase, answer: Answer) -> tuple[Checks, list[str]]:
    """Network: forward returns {"feats": (N, D), "out": (N, num_classes)}, finite, and (when
    the case backpropagates) the gradient reaches the parameters."""
    n = prepared.input("x").shape[0]
    num_classes = prepared.case.ctor["num_classes"]
    feats, out = answer.tensors.get("output/feats"), answer.tensors.get("output/out")
    if feats is None or out is None:
        keys = sorted(key.partition("/")[2] for key in answer.tensors if key.startswith("output"))
        return [
            (
                "contract",
                [f"forward must return a dict with keys 'feats' and 'out', got keys {keys}"],
            )
        ], []
    problems: list = []
    if feats.dim() != 2 or feats.shape[0] != n:
        problems.append(f"feats has shape {tuple(feats.shape)}, expected ({n}, D)")
    if tuple(out.shape) != (n, num_classes):
        problems.append(f"out has shape {tuple(out.shape)}, expected ({n}, {num_classes})")
    for key, tensor in (("output/feats", feats), ("output/out", out)):
        finding = check_finite(key, tensor)
        if finding is not None:
            problems.append(str(finding))
    hints = []
    if prepared.case.objective != Objective.NONE and not any(
        key.startswith("grad_param/") for key in answer.tensors
    ):
        problems.append("no parameter received a gradient from feats and out")
        hints.append("finding.missing_gradient")
    return [("contract", problems)], hints
