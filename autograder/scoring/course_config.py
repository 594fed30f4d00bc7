"""The grading tables of the course file (TOML): points, cutoffs, metrics, manual components.

One course file holds a table per tool. Grades read `[components]`, `[leaderboard]`,
`[manual]`, `[metrics]` and `[grades]`; the scorer, the Kaggle bundle and the leaderboard read
`[metrics]` (`load_task_metrics`). Tables of other tools (`[grade_model]`, `[late]`, ...) are
ignored; an unknown key inside one of these tables is an error naming the table and the key, so
a typo never silently drops points. See `course_example.toml` for a documented example.
"""

import re
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from autograder.scoring.task_metrics import DEFAULT_METRICS, MetricError, TaskMetric, parse_metric
from facekit.base.contract import COMPONENTS, TASKS
from facekit.base.errors import CourseConfigError

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
class CourseConfig:
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


def read_course_file(path: Path) -> dict[str, Any]:
    """All tables of the course TOML at `path`; raises CourseConfigError."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise CourseConfigError(f"{path}: cannot read the course file: {error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CourseConfigError(f"{path}: not valid TOML: {error}") from None


def _number(value: Any, where: str) -> float:
    # bool is an int subclass in Python; `true` is never a number of points.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CourseConfigError(f"{where}: expected a number, found {value!r}")
    return float(value)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CourseConfigError(f"{where}: expected a table, found {value!r}")
    return value


def _check_keys(table: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise CourseConfigError(
                f"{where}: unknown key {key!r} (expected one of: {', '.join(allowed)})"
            )


def _cutoffs(table: dict[str, Any], where: str) -> LeaderboardCutoffs:
    names = tuple(spec.name for spec in fields(LeaderboardCutoffs))
    _check_keys(table, names, where)
    for spec in fields(LeaderboardCutoffs):
        if spec.name not in table and spec.default is MISSING:
            raise CourseConfigError(f"{where}: missing key {spec.name!r}")
    cutoffs = LeaderboardCutoffs(
        **{name: _number(value, f"{where}.{name}") for name, value in table.items()}
    )
    if not cutoffs.low < cutoffs.high:
        raise CourseConfigError(
            f"{where}: expected low < high, found low={cutoffs.low}, high={cutoffs.high}"
        )
    if cutoffs.points < 0 or cutoffs.bonus < 0:
        raise CourseConfigError(f"{where}: points and bonus must be >= 0")
    if cutoffs.bonus and not cutoffs.bonus_at > cutoffs.high:
        raise CourseConfigError(
            f"{where}: expected bonus_at > high, found bonus_at={cutoffs.bonus_at}, "
            f"high={cutoffs.high}"
        )
    return cutoffs


def _points_table(
    document: dict[str, Any], name: str, allowed: tuple[str, ...] | None, path: Path
) -> dict[str, float]:
    table = _table(document.get(name, {}), f"{path}: [{name}]")
    if allowed is not None:
        _check_keys(table, allowed, f"{path}: [{name}]")
    points = {key: _number(value, f"{path}: {name}.{key}") for key, value in table.items()}
    if any(value < 0 for value in points.values()):
        raise CourseConfigError(f"{path}: [{name}]: points must be >= 0")
    return points


def _metrics(document: dict[str, Any], path: Path) -> dict[str, TaskMetric]:
    table = _table(document.get("metrics", {}), f"{path}: [metrics]")
    _check_keys(table, TASKS, f"{path}: [metrics]")
    metrics = dict(DEFAULT_METRICS)
    for task, text in table.items():
        if not isinstance(text, str):
            raise CourseConfigError(f"{path}: metrics.{task}: expected a string, found {text!r}")
        try:
            metrics[task] = parse_metric(task, text)
        except MetricError as error:
            raise CourseConfigError(f"{path}: [metrics]: {error}") from None
    return metrics


def load_task_metrics(path: Path | None) -> dict[str, TaskMetric]:
    """Each task's metric from the `[metrics]` table of the course file at `path`.

    The one entry point for the scorer, the Kaggle bundle and the leaderboard: pass the result's
    `[task]` to `score_parsed` / `score_submission`. None, or a file without `[metrics]`, gives
    the defaults (accuracy, ROC AUC). Raises CourseConfigError naming the file and the key.
    """
    return dict(DEFAULT_METRICS) if path is None else _metrics(read_course_file(path), path)


def _options(document: dict[str, Any], path: Path) -> GradesOptions:
    where = f"{path}: [grades]"
    table = _table(document.get("grades", {}), where)
    _check_keys(table, tuple(spec.name for spec in fields(GradesOptions)), where)
    assignment = table.get("assignment", GradesOptions.assignment)
    if not isinstance(assignment, str) or not assignment.strip():
        raise CourseConfigError(f"{where}: assignment: expected a title, found {assignment!r}")
    assignment_id = table.get("canvas_assignment_id")
    if assignment_id is not None and (
        isinstance(assignment_id, bool) or not isinstance(assignment_id, int) or assignment_id < 1
    ):
        raise CourseConfigError(
            f"{where}: canvas_assignment_id: expected a positive integer, found {assignment_id!r}"
        )
    return GradesOptions(assignment.strip(), assignment_id)


def load_course_config(path: Path) -> CourseConfig:
    """Read and check the grading tables of the course file at `path`; raises CourseConfigError."""
    document = read_course_file(path)
    for key in ("components", "leaderboard"):
        if key not in document:
            raise CourseConfigError(f"{path}: missing table [{key}]")
    components = _points_table(document, "components", COMPONENTS, path)

    leaderboard_table = _table(document["leaderboard"], f"{path}: [leaderboard]")
    leaderboard_table = {k: v for k, v in leaderboard_table.items() if isinstance(v, dict)}
    _check_keys(leaderboard_table, TASKS, f"{path}: [leaderboard]")
    leaderboard = {}
    for task in TASKS:
        where = f"{path}: [leaderboard.{task}]"
        if task not in leaderboard_table:
            raise CourseConfigError(f"{path}: missing table [leaderboard.{task}]")
        leaderboard[task] = _cutoffs(_table(leaderboard_table[task], where), where)

    manual = _points_table(document, "manual", None, path)
    for name in manual:
        if not _MANUAL_NAME.fullmatch(name) or name in COMPONENTS or name in TASKS:
            raise CourseConfigError(
                f"{path}: [manual]: {name!r} cannot name a manual component (use lower-case "
                "letters, digits and _, and no notebook component or task name)"
            )
    metrics = _metrics(document, path)
    for task, metric in metrics.items():
        if leaderboard[task].high > metric.best:
            raise CourseConfigError(
                f"{path}: [leaderboard.{task}]: high={leaderboard[task].high} is above the best "
                f"value of the metric {metric.name!r} ({metric.best:g})"
            )
    return CourseConfig(components, leaderboard, manual, metrics, _options(document, path))
