"""The grading tables of the course file (TOML): points, cutoffs, metrics, manual components.

One course file holds a table per tool (`facekit.base.course`). Grades read `[components]`,
`[leaderboard]`, `[manual]`, `[metrics]` and `[grades]` (`GradesTables`); the scorer, the Kaggle
bundle and the leaderboard read `[metrics]` (`load_task_metrics`). The other tools' tables are
ignored; an unknown key inside one of these tables is an error naming the table and the key, so
a typo never silently drops points. `course_example.toml` is a documented example of every table.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.scoring.task_metrics import DEFAULT_METRICS, MetricError, TaskMetric, parse_metric
from facekit.base.contract import COMPONENTS, TASKS
from facekit.base.course import load_course_config
from facekit.base.tables import Where, setting

_MANUAL_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class LeaderboardCutoffs:
    """Points for one task's private leaderboard score: 0 at `low`, linear up to `high`."""

    low: float = field(metadata={"help": "score at or below which the task earns 0 points"})
    high: float = field(metadata={"help": "score at which the task earns all its `points`"})
    points: float = field(metadata={"help": "points for reaching `high`"})
    bonus: float = field(default=0.0, metadata={"help": "extra points above `high` (0 = none)"})
    bonus_at: float = field(
        default=1.0, metadata={"help": "score earning the whole bonus, linear from `high`"}
    )

    def points_for(self, score: float | None) -> float:
        """Points earned by `score` (None: no submission, 0 points)."""
        if score is None or score <= self.low:
            return 0.0
        if score < self.high:
            return self.points * (score - self.low) / (self.high - self.low)
        if self.bonus == 0.0:
            return self.points
        fraction = min(1.0, (score - self.high) / (self.bonus_at - self.high))
        return self.points + self.bonus * fraction

    @property
    def maximum(self) -> float:
        return self.points + self.bonus


@dataclass(frozen=True)
class GradesOptions:
    """The `[grades]` table: how the assignment is named in LMS exports."""

    assignment: str = field(
        default="HW2P2", metadata={"help": "assignment title in Canvas and Gradescope exports"}
    )
    canvas_assignment_id: int | None = field(
        default=None,
        metadata={"help": "Canvas's id of an existing assignment (else Canvas creates one)"},
    )


@dataclass(frozen=True)
class LeaderboardTable:
    """The `[leaderboard]` table: the leaderboard's own keys and, for `facekit grades`, one
    `[leaderboard.<task>]` sub-table of grade cutoffs per task."""

    final_submissions: int = setting(
        "submissions each student may choose for the private ranking; 0 = none to choose, "
        "the best public one counts",
        0,
    )
    cutoffs: dict[str, LeaderboardCutoffs] = setting(
        "points for a task's private leaderboard score", {}, keys=TASKS, subtables=True
    )


def metrics_table() -> Any:
    """The `[metrics]` field of a tool's course tables: a metric text per task."""
    return setting(
        'leaderboard metric per task, e.g. "0.5*accuracy + 0.5*(1 - eer)" (default: accuracy, '
        "roc_auc)",
        {},
        keys=TASKS,
    )


@dataclass(frozen=True)
class MetricsTables:
    """The course file's tables that `facekit score`, `kaggle-bundle` and the leaderboard's
    scorer read."""

    metrics: dict[str, str] = metrics_table()


@dataclass(frozen=True)
class GradesTables:
    """The course file's tables that `facekit grades` reads (the others are ignored)."""

    components: dict[str, float] = setting(
        "maximum points per notebook component (the judge rubric's maxima)", keys=COMPONENTS
    )
    leaderboard: LeaderboardTable = setting("grade cutoffs per task, leaderboard settings")
    manual: dict[str, float] = setting(
        "maximum points per manual component (given with facekit grades --manual)", {}
    )
    metrics: dict[str, str] = metrics_table()
    grades: GradesOptions = setting("how LMS exports name the assignment", factory=GradesOptions)


@dataclass(frozen=True)
class GradesConfig:
    """Maximum points per notebook component and per manual component (in config order),
    cutoffs and metric per task, and export options."""

    components: dict[str, float]
    leaderboard: dict[str, LeaderboardCutoffs]
    manual: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, TaskMetric] = field(default_factory=lambda: dict(DEFAULT_METRICS))
    options: GradesOptions = field(default_factory=GradesOptions)

    @property
    def component_names(self) -> tuple[str, ...]:
        return tuple(self.components)

    def maximum(self, component: str) -> float | None:
        """Most points `component` (notebook, manual or task) can give; None if unknown."""
        if component in self.leaderboard:
            return self.leaderboard[component].maximum
        return self.components.get(component, self.manual.get(component))


def task_metrics(table: dict[str, str], source: str) -> dict[str, TaskMetric]:
    """Each task's metric from a checked `[metrics]` table (absent tasks: the defaults)."""
    metrics = dict(DEFAULT_METRICS)
    for task, text in table.items():
        try:
            metrics[task] = parse_metric(task, text)
        except MetricError as error:
            raise Where(source, ("metrics",)).error(str(error)) from None
    return metrics


def load_task_metrics(path: Path | None) -> dict[str, TaskMetric]:
    """Each task's metric from the `[metrics]` table of the course file at `path`.

    The one entry point for the scorer, the Kaggle bundle and the leaderboard: pass the result's
    `[task]` to `score_parsed` / `score_submission`. None, or a file without `[metrics]`, gives
    the defaults (accuracy, ROC AUC). Raises ConfigError naming the file and the key.
    """
    if path is None:
        return dict(DEFAULT_METRICS)
    return task_metrics(load_course_config(path, MetricsTables).metrics, str(path))


def _checked_cutoffs(cutoffs: LeaderboardCutoffs, where: Where) -> LeaderboardCutoffs:
    if not cutoffs.low < cutoffs.high:
        raise where.error(f"expected low < high, found low={cutoffs.low}, high={cutoffs.high}")
    if cutoffs.points < 0 or cutoffs.bonus < 0:
        raise where.error("points and bonus must be >= 0")
    if cutoffs.bonus and not cutoffs.bonus_at > cutoffs.high:
        raise where.error(
            f"expected bonus_at > high, found bonus_at={cutoffs.bonus_at}, high={cutoffs.high}"
        )
    return cutoffs


def _checked_points(points: dict[str, float], where: Where) -> dict[str, float]:
    if any(value < 0 for value in points.values()):
        raise where.error("points must be >= 0")
    return points


def _checked_options(options: GradesOptions, where: Where) -> GradesOptions:
    if not options.assignment.strip():
        raise where.error(f"assignment: expected a title, found {options.assignment!r}")
    if options.canvas_assignment_id is not None and options.canvas_assignment_id < 1:
        raise where.error(
            "canvas_assignment_id: expected a positive integer, found "
            f"{options.canvas_assignment_id!r}"
        )
    return GradesOptions(options.assignment.strip(), options.canvas_assignment_id)


def load_grades_config(path: Path) -> GradesConfig:
    """The grading tables of the course file at `path`, checked; raises ConfigError."""
    source = str(path)
    tables = load_course_config(path, GradesTables)
    components = _checked_points(tables.components, Where(source, ("components",)))
    leaderboard = {}
    for task in TASKS:
        if task not in tables.leaderboard.cutoffs:
            raise Where(source).error(f"missing table [leaderboard.{task}]")
        where = Where(source, ("leaderboard", task))
        leaderboard[task] = _checked_cutoffs(tables.leaderboard.cutoffs[task], where)
    manual = _checked_points(tables.manual, Where(source, ("manual",)))
    for name in manual:
        if not _MANUAL_NAME.fullmatch(name) or name in COMPONENTS or name in TASKS:
            raise Where(source, ("manual",)).error(
                f"{name!r} cannot name a manual component (use lower-case "
                "letters, digits and _, and no notebook component or task name)"
            )
    metrics = task_metrics(tables.metrics, source)
    for task, metric in metrics.items():
        if leaderboard[task].high > metric.best:
            raise Where(source, ("leaderboard", task)).error(
                f"high={leaderboard[task].high} is above the best value of the metric "
                f"{metric.name!r} ({metric.best:g})"
            )
    options = _checked_options(tables.grades, Where(source, ("grades",)))
    return GradesConfig(components, leaderboard, manual, metrics, options)
