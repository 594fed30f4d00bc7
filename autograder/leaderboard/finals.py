"""Each student's final score per task, as of that student's own deadline (issue 11).

Only submissions the student's schedule accepts count (an extension granted later counts too).
If the student chose final submissions (`[leaderboard] final_submissions` > 0), the selected one
is the chosen one with the best private score after its late penalty, as on Kaggle; otherwise
the best by public score after its late penalty (ties: the earliest). Its private score, after
the late penalty and the checkpoint multiplier, is the final score that the export hands to
`facekit grades` and that ranks the private leaderboard.
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
    chosen: bool = False


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

    def factor(candidate: Candidate) -> float:
        return late_factor(course, schedule.late_days(candidate.created_at))

    def earliest(candidate: Candidate) -> tuple[float, int]:
        return -candidate.created_at.timestamp(), -candidate.submission_id

    chosen = [c for c in counted if c.chosen] if course.leaderboard.final_submissions else []
    if chosen:
        best = max(chosen, key=lambda c: (c.private * factor(c), *earliest(c)))
    else:
        best = max(counted, key=lambda c: (c.public * factor(c), *earliest(c)))
    late_days = schedule.late_days(best.created_at)
    met = schedule.met_checkpoint([c.created_at for c in counted])
    final_factor = factor(best) * checkpoint_factor(course, met)
    return FinalScore(
        student=student,
        task=task,
        submission_id=best.submission_id,
        public=best.public * factor(best),
        private=best.private * final_factor,
        raw_private=best.private,
        late_days=late_days,
        checkpoint_met=met,
    )
