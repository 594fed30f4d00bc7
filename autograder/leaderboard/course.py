"""The leaderboard's tables of the course file: `[leaderboard]` settings, `[phases]`, `[late]`.

Other tools' tables are ignored, and so are `[leaderboard.<task>]` (the grade cutoffs that
`facekit grades` reads). Inside the leaderboard's own tables an unknown key is an error naming
the table and the key. Times are TOML date-times with an offset (`2026-12-01T23:59:00Z`).

    [leaderboard]
    final_submissions = 2          # chosen by each student for the private ranking

    [phases.checkpoint]
    deadline = 2026-11-10T23:59:00Z
    multiplier = 0.97              # a task's final score if it had no submission by the cutoff

    [phases.final]
    deadline = 2026-12-01T23:59:00Z
    cutoff = 2026-12-06T23:59:00Z  # end of the late window

    [late]
    days = 3                       # each student's late-day budget
    penalty_per_day = 0.1          # fraction of the score lost per late day
    max_penalty = 0.25             # the penalty never exceeds this
    extensions = "extensions.csv"  # student,extra_days (relative to the course file)
"""

import csv
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from autograder.leaderboard.errors import SetupError
from autograder.scoring import CourseConfigError, TaskMetric, load_task_metrics
from facekit.base.contract import TASKS
from facekit.training.config import ConfigError, dataclass_from_table, read_toml

LEADERBOARD_SUBTABLES = TASKS
"""`[leaderboard.<task>]` tables: the grade cutoffs, read by `facekit grades`, not here."""


@dataclass(frozen=True)
class LeaderboardSettings:
    """The `[leaderboard]` table's own keys."""

    final_submissions: int = field(
        default=0,
        metadata={"help": "submissions each student may choose for the private ranking; "
                  "0 = none to choose, the best public one counts"},
    )  # fmt: skip


@dataclass(frozen=True)
class Phase:
    """A phase's due time and the last moment it accepts submissions (default: the due time)."""

    deadline: datetime = field(metadata={"help": "when the phase is due"})
    cutoff: datetime | None = field(default=None, metadata={"help": "hard close (late window)"})
    multiplier: float = field(
        default=1.0, metadata={"help": "checkpoint only: final-score factor when it is missed"}
    )

    @property
    def closes(self) -> datetime:
        return self.cutoff or self.deadline


@dataclass(frozen=True)
class Phases:
    """`[phases]`: an optional checkpoint and the final phase."""

    checkpoint: Phase | None = field(default=None, metadata={"help": "early checkpoint"})
    final: Phase | None = field(default=None, metadata={"help": "the final deadline"})


@dataclass(frozen=True)
class LatePolicy:
    """`[late]`: late-day budget, penalty per late day with a cap, per-student extensions."""

    days: int = field(default=0, metadata={"help": "late days each student may use"})
    penalty_per_day: float = field(default=0.0, metadata={"help": "score fraction lost per day"})
    max_penalty: float = field(default=1.0, metadata={"help": "cap on the total penalty"})
    extensions: str = field(default="", metadata={"help": "CSV student,extra_days"})


@dataclass(frozen=True)
class CourseSettings:
    """Everything the leaderboard reads from the course file (all optional)."""

    leaderboard: LeaderboardSettings = field(default_factory=LeaderboardSettings)
    phases: Phases = field(default_factory=Phases)
    late: LatePolicy = field(default_factory=LatePolicy)
    extensions: dict[str, int] = field(default_factory=dict)
    """Extra days per student, from the `late.extensions` CSV."""
    metrics: dict[str, TaskMetric] = field(default_factory=lambda: load_task_metrics(None))
    """Each task's metric, from the course file's `[metrics]` (default: accuracy, ROC AUC)."""


def _phase(table: Any, path: Path, name: str) -> Phase | None:
    if table is None:
        return None
    if isinstance(table, dict):
        for key in ("deadline", "cutoff"):
            if key in table and not isinstance(table[key], datetime):
                raise SetupError(
                    f"{path}: [phases.{name}] {key}: expected a TOML date-time like "
                    f"2026-12-01T23:59:00Z, found {table[key]!r}"
                )
            if isinstance(table.get(key), datetime) and table[key].tzinfo is None:
                raise SetupError(
                    f"{path}: [phases.{name}] {key}: give a UTC offset, e.g. {table[key]}Z"
                )
        if "deadline" not in table:
            raise SetupError(f"{path}: [phases.{name}]: missing key 'deadline'")
    phase = dataclass_from_table(Phase, table, str(path), f"phases.{name}.")
    if phase.closes < phase.deadline:
        raise SetupError(f"{path}: [phases.{name}]: cutoff is before the deadline")
    if not 0.0 <= phase.multiplier <= 1.0:
        raise SetupError(f"{path}: [phases.{name}] multiplier must be within 0..1")
    if name == "final" and phase.multiplier != 1.0:
        raise SetupError(f"{path}: [phases.final]: multiplier is for the checkpoint only")
    return phase


def read_extensions(path: Path) -> dict[str, int]:
    """`{student: extra days}` from a CSV with the columns `student,extra_days`."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            if reader.fieldnames is None or set(reader.fieldnames) != {"student", "extra_days"}:
                raise SetupError(
                    f"{path}: expected the header student,extra_days, found {reader.fieldnames}"
                )
            extensions: dict[str, int] = {}
            for row in reader:
                student = (row["student"] or "").strip()
                where = f"{path}, line {reader.line_num}"
                try:
                    days = int(row["extra_days"] or "")
                except ValueError:
                    raise SetupError(
                        f"{where}: extra_days must be a whole number, found {row['extra_days']!r}"
                    ) from None
                if not student or days < 0:
                    raise SetupError(f"{where}: expected a student and extra_days >= 0")
                if student in extensions:
                    raise SetupError(f"{where}: {student!r} is listed twice")
                extensions[student] = days
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise SetupError(f"cannot read extensions {path}: {error}") from error
    return extensions


def load_course(path: Path | None) -> CourseSettings:
    """The leaderboard's settings from the course file at `path` (None: all defaults)."""
    if path is None:
        return CourseSettings()
    try:
        raw = read_toml(path)
        board = raw.get("leaderboard", {})
        if not isinstance(board, dict):
            raise SetupError(f"{path}: [leaderboard] must be a table")
        own = {k: v for k, v in board.items() if k not in LEADERBOARD_SUBTABLES}
        settings = dataclass_from_table(LeaderboardSettings, own, str(path), "leaderboard.")
        phases_table = raw.get("phases", {})
        if not isinstance(phases_table, dict):
            raise SetupError(f"{path}: [phases] must be a table")
        unknown = sorted(set(phases_table) - {"checkpoint", "final"})
        if unknown:
            raise SetupError(
                f"{path}: [phases]: unknown key 'phases.{unknown[0]}' "
                "(known keys: checkpoint, final)"
            )
        phases = Phases(
            checkpoint=_phase(phases_table.get("checkpoint"), path, "checkpoint"),
            final=_phase(phases_table.get("final"), path, "final"),
        )
        late = dataclass_from_table(LatePolicy, raw.get("late", {}), str(path), "late.")
    except ConfigError as error:
        raise SetupError(str(error)) from None
    if settings.final_submissions < 0:
        raise SetupError(f"{path}: [leaderboard] final_submissions must be >= 0")
    if late.days < 0 or not 0 <= late.penalty_per_day <= 1 or not 0 <= late.max_penalty <= 1:
        raise SetupError(
            f"{path}: [late]: expected days >= 0 and penalty_per_day, max_penalty within 0..1"
        )
    if late.days and (phases.final is None or phases.final.cutoff is None):
        raise SetupError(
            f"{path}: [late] days needs a late window: set [phases.final] cutoff after deadline"
        )
    extensions = read_extensions(Path(path).parent / late.extensions) if late.extensions else {}
    try:
        metrics = load_task_metrics(Path(path))
    except CourseConfigError as error:
        raise SetupError(str(error)) from None
    return CourseSettings(settings, phases, late, extensions, metrics)


def extension(settings: CourseSettings, student: str) -> timedelta:
    """How far `student`'s deadlines and cut-offs move."""
    return timedelta(days=settings.extensions.get(student, 0))
