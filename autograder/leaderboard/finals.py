"""Each student's final score per task, as of that student's own deadline (issue 11, item 3).

Only submissions the student's schedule accepts count (an extension granted later counts too).
Among them the selected one is the best by public score after its late penalty (ties: the
earliest); its private score, after the late penalty and the checkpoint multiplier, is the final
score that the export hands to `facekit grades`.
"""

from dataclasses import dataclass
from datetime import datetime

from autograder.leaderboard.course import CourseSettings
from autograder.leaderboard.lateness import StudentSchedule, checkpoint_factor, late_factor


@dataclass(frozen=True)
class Candidate:
    """One stored submission of a student and task."""

    submission_id: int
    created_at: datetime
    public: float
    private: float


@dataclass(frozen=True)
class FinalScore:
    """One student's result for one task; `public`/`private` have every factor applied."""

    student: str
    task: str
    public: float
    private: float
    submission_id: int | None = None
    raw_private: float | None = None
    late_days: int = 0
    checkpoint_met: bool = True


def final_score(
    course: CourseSettings,
    schedule: StudentSchedule,
    student: str,
    task: str,
    candidates: list[Candidate],
) -> FinalScore | None:
    """The selected submission among `candidates` (time order) and its final scores.

    None when no candidate counts for this student.
    """
    counted = [c for c in candidates if schedule.accepts(c.created_at)]
    if not counted:
        return None

    def adjusted_public(candidate: Candidate) -> float:
        return candidate.public * late_factor(course, schedule.late_days(candidate.created_at))

    best = max(
        counted, key=lambda c: (adjusted_public(c), -c.created_at.timestamp(), -c.submission_id)
    )
    late_days = schedule.late_days(best.created_at)
    met = schedule.met_checkpoint([c.created_at for c in counted])
    factor = late_factor(course, late_days) * checkpoint_factor(course, met)
    return FinalScore(
        student=student,
        task=task,
        submission_id=best.submission_id,
        public=adjusted_public(best),
        private=best.private * factor,
        raw_private=best.private,
        late_days=late_days,
        checkpoint_met=met,
    )
