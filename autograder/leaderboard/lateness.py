"""Deadlines per student: late days, penalties, the checkpoint multiplier (issue 11, item 3).

Rules:
- A student's extension (extra days) moves their final deadline and cut-off and their
  checkpoint cut-off; nobody else's.
- A submission after the student's deadline is late by whole days, rounded up (one minute late
  is one late day). It is accepted while it is before the student's cut-off and its late days
  are within the late-day budget (`[late] days`), else refused.
- A late submission's scores are multiplied by `1 - min(max_penalty, days * penalty_per_day)`.
- A task's final score is multiplied by the checkpoint's `multiplier` unless the student made a
  submission of that task by their checkpoint cut-off.
- Without `[phases.final]`, the deadline set by staff (`facekit leaderboard deadline`) is the
  final deadline and cut-off, with no late window.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from autograder.leaderboard.course import CourseSettings, Phase, extension
from autograder.leaderboard.errors import DeadlinePassed

DAY = timedelta(days=1)


@dataclass(frozen=True)
class StudentSchedule:
    """One student's times with their extension applied; None where there is no such time."""

    deadline: datetime | None
    cutoff: datetime | None
    late_days_allowed: int
    checkpoint_cutoff: datetime | None

    def late_days(self, when: datetime) -> int:
        """Whole days (rounded up) that `when` is after the deadline; 0 when on time."""
        if self.deadline is None or when <= self.deadline:
            return 0
        return math.ceil((when - self.deadline) / DAY)

    def admit(self, when: datetime) -> int:
        """The late days of a submission at `when`; raises DeadlinePassed if it is refused."""
        if self.cutoff is not None and when > self.cutoff:
            raise DeadlinePassed(
                f"the deadline ({self.deadline.isoformat()}) has passed and submissions closed "
                f"at {self.cutoff.isoformat()}"
            )
        days = self.late_days(when)
        if days > self.late_days_allowed:
            raise DeadlinePassed(
                f"the deadline ({self.deadline.isoformat()}) has passed: this submission "
                f"would be {days} day(s) late and your late-day budget is "
                f"{self.late_days_allowed}"
            )
        return days

    def accepts(self, when: datetime) -> bool:
        """Whether a submission at `when` counts for this student (as `admit`, no error)."""
        try:
            self.admit(when)
        except DeadlinePassed:
            return False
        return True

    def met_checkpoint(self, times: list[datetime]) -> bool:
        """Whether any of these submission times is by the checkpoint cut-off."""
        return self.checkpoint_cutoff is None or any(t <= self.checkpoint_cutoff for t in times)


def final_phase(course: CourseSettings, staff_deadline: datetime | None) -> Phase | None:
    """The course file's final phase, else the staff's deadline as one (no late window)."""
    if course.phases.final is not None:
        return course.phases.final
    return None if staff_deadline is None else Phase(deadline=staff_deadline)


def student_schedule(
    course: CourseSettings, student: str, staff_deadline: datetime | None
) -> StudentSchedule:
    """`student`'s deadline, cut-off, late-day budget and checkpoint cut-off."""
    shift = extension(course, student)
    final = final_phase(course, staff_deadline)
    checkpoint = course.phases.checkpoint
    return StudentSchedule(
        deadline=None if final is None else final.deadline + shift,
        cutoff=None if final is None else final.closes + shift,
        late_days_allowed=course.late.days,
        checkpoint_cutoff=None if checkpoint is None else checkpoint.closes + shift,
    )


def last_cutoff(course: CourseSettings, staff_deadline: datetime | None) -> datetime | None:
    """When the last student's submissions close: private scores are shown from then."""
    final = final_phase(course, staff_deadline)
    if final is None:
        return None
    return final.closes + timedelta(days=max(course.extensions.values(), default=0))


def late_factor(course: CourseSettings, late_days: int) -> float:
    """The factor on a submission's scores for `late_days` late days (1.0 when on time)."""
    return 1.0 - min(course.late.max_penalty, late_days * course.late.penalty_per_day)


def checkpoint_factor(course: CourseSettings, met: bool) -> float:
    """The factor on a task's final score: the checkpoint's multiplier when it was missed."""
    checkpoint = course.phases.checkpoint
    return 1.0 if met or checkpoint is None else checkpoint.multiplier
