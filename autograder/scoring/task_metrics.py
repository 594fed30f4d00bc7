"""A task's leaderboard metric as written in the course file: one figure or a weighted sum.

Grammar (whitespace free): a sum of terms `weight*figure` or `weight*(1-figure)`, the weight
optional (1). Figures: `accuracy` (both tasks; for verification, the accuracy of the best single
threshold), `roc_auc`, `eer` and `tar@far=X` (verification). Every metric is higher-is-better,
so a lower-is-better figure (`eer`) must appear as `(1-eer)`. The real HW2P2 verification metric
is `0.5*accuracy + 0.5*(1-eer)`. The text is parsed, never evaluated.
"""

import re
from dataclasses import dataclass

import numpy as np

from facekit.base.contract import CLASSIFICATION, METRICS, TASKS, VERIFICATION
from facekit.base.errors import SetupError
from facekit.base.metrics import (
    RocCurve,
    accuracy,
    best_threshold_accuracy,
    equal_error_rate,
    roc_auc,
    tar_at_far,
)

_LOWER_IS_BETTER = frozenset({"eer"})
_FIGURES = {
    CLASSIFICATION: ("accuracy",),
    VERIFICATION: ("accuracy", "roc_auc", "eer", "tar@far=X"),
}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_TERM = re.compile(
    rf"(?:(?P<weight>{_NUMBER})\*)?(?:(?P<name>[a-z_]+(?:@far={_NUMBER})?)"
    rf"|\(1-(?P<complement>[a-z_]+(?:@far={_NUMBER})?)\))"
)


class MetricError(SetupError, ValueError):
    """A metric text that is not a valid metric of its task (a staff error in the course file)."""


@dataclass(frozen=True)
class Term:
    """`weight * figure`, or `weight * (1 - figure)` when `complement`."""

    weight: float
    figure: str
    complement: bool = False


@dataclass(frozen=True)
class TaskMetric:
    """One task's leaderboard metric; `name` is its text, as shown on boards and in reports."""

    task: str
    name: str
    terms: tuple[Term, ...]

    @property
    def figures(self) -> tuple[str, ...]:
        """The figures it needs, in order of first use."""
        return tuple(dict.fromkeys(term.figure for term in self.terms))

    @property
    def best(self) -> float:
        """The highest value it can take (every figure perfect)."""
        return sum(term.weight for term in self.terms)

    def combine(self, figures: dict[str, float]) -> float:
        """The metric's value from `figures` (each figure's value on one split)."""
        return float(
            sum(
                term.weight
                * (1.0 - figures[term.figure] if term.complement else figures[term.figure])
                for term in self.terms
            )
        )


def parse_metric(task: str, text: str) -> TaskMetric:
    """The TaskMetric written as `text` for `task`; raises MetricError saying what is wrong."""
    if task not in TASKS:
        raise MetricError(f"unknown task {task!r}: expected one of {', '.join(TASKS)}")
    compact = "".join(str(text).split())
    if not compact:
        raise MetricError(f"{task}: empty metric")
    terms = []
    for part in compact.split("+"):
        match = _TERM.fullmatch(part)
        if not match:
            raise MetricError(
                f"{task}: cannot read {part!r} in {text!r}: expected terms like 'roc_auc', "
                "'0.5*accuracy' or '0.5*(1-eer)' joined by '+'"
            )
        figure = match["name"] or match["complement"]
        _check_figure(task, figure, complement=match["complement"] is not None, text=text)
        weight = float(match["weight"]) if match["weight"] else 1.0
        if weight <= 0:
            raise MetricError(f"{task}: weights must be positive, found {weight:g} in {text!r}")
        terms.append(Term(weight, figure, match["complement"] is not None))
    return TaskMetric(task, " + ".join(map(_term_text, terms)), tuple(terms))


def _term_text(term: Term) -> str:
    figure = f"(1 - {term.figure})" if term.complement else term.figure
    return figure if term.weight == 1.0 else f"{term.weight:g}*{figure}"


def _check_figure(task: str, figure: str, *, complement: bool, text: str) -> None:
    known = _FIGURES[task]
    base = "tar@far=X" if figure.startswith("tar@far=") else figure
    if base not in known:
        raise MetricError(
            f"{task}: unknown figure {figure!r} in {text!r} (known: {', '.join(known)})"
        )
    if base == "tar@far=X" and not 0 < float(figure.removeprefix("tar@far=")) < 1:
        raise MetricError(f"{task}: {figure!r}: the false accept rate must be between 0 and 1")
    if figure in _LOWER_IS_BETTER and not complement:
        raise MetricError(
            f"{task}: {figure} is lower-is-better; write (1-{figure}) so higher is better"
        )


FIGURE_DESCRIPTIONS = {
    "accuracy": {
        CLASSIFICATION: "the fraction of test images whose predicted identity is right",
        VERIFICATION: "the fraction of pairs decided right at the best single threshold",
    },
    "roc_auc": "the area under the ROC curve of the scores (1 = every same pair scores higher)",
    "eer": "the equal error rate: where false accepts and false rejects are equally frequent",
    "tar@far": "the true accept rate at the threshold whose false accept rate is at most {far}",
}
"""What each figure means, for people (the Kaggle description)."""


def describe_metric(metric: TaskMetric) -> list[str]:
    """One line per figure of `metric`, saying what it measures."""
    lines = []
    for figure in metric.figures:
        if figure.startswith("tar@far="):
            text = FIGURE_DESCRIPTIONS["tar@far"].format(far=figure.removeprefix("tar@far="))
        else:
            text = FIGURE_DESCRIPTIONS[figure]
            text = text[metric.task] if isinstance(text, dict) else text
        lines.append(f"{figure}: {text}")
    return lines


DEFAULT_METRICS = {task: parse_metric(task, METRICS[task]) for task in TASKS}
"""Each task's metric when the course file sets none (what the leaderboard always used)."""


def verification_figures(curve: RocCurve, names: tuple[str, ...]) -> dict[str, float]:
    """The named verification figures from one ROC curve."""
    values = {}
    for name in names:
        if name == "roc_auc":
            values[name] = roc_auc(curve)
        elif name == "eer":
            values[name] = equal_error_rate(curve)
        elif name == "accuracy":
            values[name] = best_threshold_accuracy(curve)
        else:
            values[name] = tar_at_far(curve, float(name.removeprefix("tar@far=")))
    return values


def classification_figures(predicted: np.ndarray, expected: np.ndarray) -> dict[str, float]:
    """The classification figures (accuracy) of `predicted` (N,) against `expected` (N,)."""
    return {"accuracy": accuracy(predicted, expected)}
