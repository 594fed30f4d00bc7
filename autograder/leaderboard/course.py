"""The leaderboard's tables of the course file: `[leaderboard]`, `[phases]`, `[late]`, `[metrics]`.

Other tools' tables are ignored (`facekit.base.course`); `[leaderboard]` is shared with `facekit
grades`, whose `[leaderboard.<task>]` cutoffs are checked here too but not used. Inside these
tables an unknown key is an error naming the table and the key. Times are TOML date-times with an
offset (`2026-12-01T23:59:00Z`).

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

from autograder.scoring import TaskMetric, load_task_metrics
from autograder.scoring.course_config import LeaderboardTable, metrics_table, task_metrics
from facekit.base.course import load_course_config
from facekit.base.errors import SetupError
from facekit.base.tables import Where, setting


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
    extensions: str = field(
        default="", metadata={"help": "CSV student,extra_days (relative to the course file)"}
    )


@dataclass(frozen=True)
class LeaderboardTables:
    """The course file's tables the leaderboard reads (the others are ignored)."""

    leaderboard: LeaderboardTable = setting("leaderboard settings", factory=LeaderboardTable)
    phases: Phases = setting("an optional checkpoint and the final phase", factory=Phases)
    late: LatePolicy = setting("late days", factory=LatePolicy)
    metrics: dict[str, str] = metrics_table()


@dataclass(frozen=True)
class CourseSettings:
    """Everything the leaderboard reads from the course file (all optional)."""

    leaderboard: LeaderboardTable = field(default_factory=LeaderboardTable)
    phases: Phases = field(default_factory=Phases)
    late: LatePolicy = field(default_factory=LatePolicy)
    extensions: dict[str, int] = field(default_factory=dict)
    """Extra days per student, from the `late.extensions` CSV."""
    metrics: dict[str, TaskMetric] = field(default_factory=lambda: load_task_metrics(None))
    """Each task's metric, from the course file's `[metrics]` (default: accuracy, ROC AUC)."""


def _checked_phase(phase: Phase | None, where: Where) -> Phase | None:
    if phase is None:
        return None
    for key in ("deadline", "cutoff"):
        value = getattr(phase, key)
        if value is not None and value.tzinfo is None:
            raise where.at(key).error(f"give a UTC offset, e.g. {value.isoformat()}Z")
    if phase.closes < phase.deadline:
        raise where.error("cutoff is before the deadline")
    if not 0.0 <= phase.multiplier <= 1.0:
        raise where.error("multiplier must be within 0..1")
    if where.table[-1] == "final" and phase.multiplier != 1.0:
        raise where.error("multiplier is for the checkpoint only")
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
    source = str(path)
    tables = load_course_config(path, LeaderboardTables)
    phases = Phases(
        checkpoint=_checked_phase(
            tables.phases.checkpoint, Where(source, ("phases", "checkpoint"))
        ),
        final=_checked_phase(tables.phases.final, Where(source, ("phases", "final"))),
    )
    if tables.leaderboard.final_submissions < 0:
        raise Where(source, ("leaderboard",)).error("final_submissions must be >= 0")
    late = tables.late
    if late.days < 0 or not 0 <= late.penalty_per_day <= 1 or not 0 <= late.max_penalty <= 1:
        raise Where(source, ("late",)).error(
            "expected days >= 0 and penalty_per_day, max_penalty within 0..1"
        )
    if late.days and (phases.final is None or phases.final.cutoff is None):
        raise Where(source, ("late",)).error(
            "days needs a late window: set [phases.final] cutoff after deadline"
        )
    extensions = read_extensions(Path(path).parent / late.extensions) if late.extensions else {}
    metrics = task_metrics(tables.metrics, source)
    return CourseSettings(tables.leaderboard, phases, late, extensions, metrics)


def extension(settings: CourseSettings, student: str) -> timedelta:
    """How far `student`'s deadlines and cut-offs move."""
    return timedelta(days=settings.extensions.get(student, 0))
