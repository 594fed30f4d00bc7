"""The course config (TOML): points per notebook component and leaderboard cutoffs per task.

See `course_example.toml` for a documented example. Unknown keys are an error naming the key and
the file, so a typo never silently drops points.
"""

import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from autograder.scoring.errors import GradesInputError
from autograder.scoring.formats import COMPONENTS, TASKS


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


@dataclass(frozen=True)
class CourseConfig:
    """Maximum points per notebook component (in config order) and cutoffs per task."""

    components: dict[str, float]
    leaderboard: dict[str, LeaderboardCutoffs]

    @property
    def component_names(self) -> tuple[str, ...]:
        return tuple(self.components)


def _number(value: Any, where: str) -> float:
    # bool is an int subclass in Python; `true` is never a number of points.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GradesInputError(f"{where}: expected a number, found {value!r}")
    return float(value)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GradesInputError(f"{where}: expected a table, found {value!r}")
    return value


def _check_keys(table: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise GradesInputError(
                f"{where}: unknown key {key!r} (expected one of: {', '.join(allowed)})"
            )


def _cutoffs(table: dict[str, Any], where: str) -> LeaderboardCutoffs:
    names = tuple(spec.name for spec in fields(LeaderboardCutoffs))
    _check_keys(table, names, where)
    for spec in fields(LeaderboardCutoffs):
        if spec.name not in table and spec.default is MISSING:
            raise GradesInputError(f"{where}: missing key {spec.name!r}")
    cutoffs = LeaderboardCutoffs(
        **{name: _number(value, f"{where}.{name}") for name, value in table.items()}
    )
    if not cutoffs.low < cutoffs.high:
        raise GradesInputError(
            f"{where}: expected low < high, found low={cutoffs.low}, high={cutoffs.high}"
        )
    if cutoffs.points < 0 or cutoffs.bonus < 0:
        raise GradesInputError(f"{where}: points and bonus must be >= 0")
    if cutoffs.bonus and not cutoffs.bonus_at > cutoffs.high:
        raise GradesInputError(
            f"{where}: expected bonus_at > high, found bonus_at={cutoffs.bonus_at}, "
            f"high={cutoffs.high}"
        )
    return cutoffs


def load_course_config(path: Path) -> CourseConfig:
    """Read and check the course config TOML at `path`; raises GradesInputError."""
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise GradesInputError(f"{path}: cannot read the course config: {error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise GradesInputError(f"{path}: not valid TOML: {error}") from None
    # [late] and [phases] (and [leaderboard]'s own scalar keys) belong to the leaderboard service.
    _check_keys(document, ("components", "leaderboard", "late", "phases"), str(path))
    for key in ("components", "leaderboard"):
        if key not in document:
            raise GradesInputError(f"{path}: missing table [{key}]")

    components_table = _table(document["components"], f"{path}: [components]")
    _check_keys(components_table, COMPONENTS, f"{path}: [components]")
    components = {
        name: _number(value, f"{path}: components.{name}")
        for name, value in components_table.items()
    }
    if any(points < 0 for points in components.values()):
        raise GradesInputError(f"{path}: [components]: points must be >= 0")

    leaderboard_table = _table(document["leaderboard"], f"{path}: [leaderboard]")
    leaderboard_table = {k: v for k, v in leaderboard_table.items() if isinstance(v, dict)}
    _check_keys(leaderboard_table, TASKS, f"{path}: [leaderboard]")
    leaderboard = {}
    for task in TASKS:
        where = f"{path}: [leaderboard.{task}]"
        if task not in leaderboard_table:
            raise GradesInputError(f"{path}: missing table [leaderboard.{task}]")
        leaderboard[task] = _cutoffs(_table(leaderboard_table[task], where), where)
    return CourseConfig(components, leaderboard)
