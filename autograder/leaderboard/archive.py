"""The kept submission files: list them, hand one to staff, rescore them all with new keys.

Rescoring is one transaction: every stored submission gets its new scores, or (when a stored
file does not fit the new keys) none does and the error names the submissions. Each distinct
file is read and scored once per task, so memory holds one file at a time.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from autograder.leaderboard.errors import LeaderboardError
from autograder.leaderboard.models import Participant, StoredFile, Submission
from autograder.leaderboard.store import set_scores
from autograder.scoring import (
    InvalidSubmission,
    Keys,
    TaskMetric,
    parse_submission,
    score_parsed,
)

RESCORE_FAILURES_SHOWN = 10


class NotStored(LeaderboardError):
    """The submission exists but its file was not kept (it predates stored uploads)."""


@dataclass(frozen=True)
class StaffSubmissionView:
    """One submission as staff see it, with whether its file is kept."""

    submission_id: int
    student: str
    task: str
    created_at: datetime
    filename: str
    size: int
    sha256: str
    stored: bool
    public: float
    private: float
    late_days: int


@dataclass(frozen=True)
class RescoreReport:
    """What a rescore did: submissions rescored, how many changed, and those without a file."""

    rescored: int
    changed: int
    unstored: list[int]


class Archive:
    """Stored submission files on top of a SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def _query(self):
        return (
            select(Submission, Participant.name, StoredFile.sha256.is_not(None))
            .join(Submission.participant)
            .outerjoin(StoredFile, StoredFile.sha256 == Submission.sha256)
            .order_by(Submission.id)
        )

    @staticmethod
    def _record(submission: Submission, student: str, stored: bool) -> StaffSubmissionView:
        return StaffSubmissionView(
            submission_id=submission.id,
            student=student,
            task=submission.task,
            created_at=submission.created_at,
            filename=submission.filename,
            size=submission.size,
            sha256=submission.sha256,
            stored=bool(stored),
            public=submission.public,
            private=submission.private,
            late_days=submission.late_days,
        )

    def records(self) -> list[StaffSubmissionView]:
        """Every submission, oldest first."""
        with self._sessions() as session:
            return [self._record(*row) for row in session.execute(self._query()).all()]

    def file(self, submission_id: int) -> tuple[StaffSubmissionView, bytes]:
        """A submission and its file's bytes; KeyError if unknown, NotStored if not kept."""
        with self._sessions() as session:
            row = session.execute(self._query().where(Submission.id == submission_id)).first()
            if row is None:
                raise KeyError(submission_id)
            record = self._record(*row)
            if not record.stored:
                raise NotStored(
                    f"submission {submission_id} was made before uploads were kept; "
                    f"only its digest is known (sha256 {record.sha256})"
                )
            data = session.scalar(select(StoredFile.data).where(StoredFile.sha256 == record.sha256))
        return record, data

    def rescore(
        self, keys: dict[str, Keys], metrics: dict[str, TaskMetric] | None = None
    ) -> RescoreReport:
        """Recompute every stored submission's scores from `keys` (task -> Keys), all or none."""
        with self._sessions.begin() as session:
            submissions = session.scalars(
                select(Submission).order_by(Submission.id).with_for_update()
            ).all()
            stored = set(session.scalars(select(StoredFile.sha256)))
            scores, failures = {}, []
            changed = 0
            for submission in submissions:
                if submission.sha256 not in stored:
                    continue
                key = (submission.task, submission.sha256)
                if key not in scores:
                    data = session.scalar(
                        select(StoredFile.data).where(StoredFile.sha256 == submission.sha256)
                    )
                    task_keys = keys[submission.task]
                    try:
                        parsed = parse_submission(
                            task_keys, data, filename=submission.filename, max_bytes=len(data)
                        )
                        metric = None if metrics is None else metrics[submission.task]
                        scores[key] = score_parsed(task_keys, parsed, metric)
                    except InvalidSubmission as error:
                        scores[key] = None
                        failures.append(f"submission {submission.id}: {error.problems[0]}")
                score = scores[key]
                if score is None:
                    continue
                before = (submission.public, submission.private)
                set_scores(submission, score)
                changed += before != (submission.public, submission.private)
            if failures:
                shown = "\n".join(failures[:RESCORE_FAILURES_SHOWN])
                raise LeaderboardError(
                    f"{len(failures)} stored file(s) do not fit the new keys; nothing was "
                    f"changed:\n{shown}"
                )
            rescored = sum(1 for s in submissions if s.sha256 in stored)
            unstored = [s.id for s in submissions if s.sha256 not in stored]
        return RescoreReport(rescored=rescored, changed=changed, unstored=unstored)
