"""What the leaderboard does, independent of HTTP: roster, submissions, standings, export.

Rules (also in the CLI help):
- A submission is validated and scored first; only a valid one counts toward the daily limit.
  The limit check and the insert happen in one transaction that locks the participant
  (`SELECT ... FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), so concurrent uploads
  cannot slip past the limit. Days are UTC days.
- Submissions are refused once the staff deadline has passed; private scores are shown from then.
- Every accepted file is kept, once per content (`stored_file`, keyed by its SHA-256), in the
  same transaction as its submission; staff can download it and rescore it with new keys.
- Each participant's selected submission for a task is the one with the best public score
  (ties: the earliest), Kaggle-style. Ranks order selected submissions by score, ties going to
  the earlier submission, so ranks are distinct. The export gives the selected submission's
  public and private scores.
"""

import csv
import hashlib
import io
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from autograder.leaderboard.errors import LeaderboardError
from autograder.leaderboard.models import (
    NAME_MAX_LENGTH,
    Participant,
    Setting,
    StoredFile,
    Submission,
)
from autograder.leaderboard.tokens import hash_token, new_token
from autograder.scoring import TaskScore
from autograder.scoring.formats import LEADERBOARD_EXPORT_COLUMNS

DEADLINE = "deadline"


class SubmissionRefused(LeaderboardError):
    """An upload the server will not score or store; the message tells the student why."""


class UnknownToken(SubmissionRefused):
    pass


class UploadTooLarge(SubmissionRefused):
    pass


class DeadlinePassed(SubmissionRefused):
    pass


class DailyLimitReached(SubmissionRefused):
    pass


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_utc_time(text: str) -> datetime:
    """An ISO 8601 time; without an offset it is taken as UTC (e.g. 2026-12-01T23:59)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise LeaderboardError(
            f"cannot read time {text!r}: expected ISO 8601 like 2026-12-01T23:59:00Z"
        ) from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def set_scores(submission: Submission, score: TaskScore) -> None:
    """Copy `score` onto `submission` (JSON has no NaN/inf, which PostgreSQL refuses: null)."""
    submission.public = score.public
    submission.private = score.private
    submission.overall = score.overall
    submission.details = {k: v if math.isfinite(v) else None for k, v in score.details.items()}


def keep_file(session: Session, data: bytes) -> str:
    """Store `data` unless the same bytes are stored already; returns their SHA-256.

    `INSERT ... ON CONFLICT DO NOTHING`: two students uploading the same file at once both
    succeed, and the bytes are kept once.
    """
    digest = hashlib.sha256(data).hexdigest()
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    session.execute(
        insert(StoredFile)
        .values(sha256=digest, size=len(data), data=data)
        .on_conflict_do_nothing(index_elements=["sha256"])
    )
    return digest


@dataclass(frozen=True)
class Upload:
    """A submitted file as received: stored as data in the database, never executed."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Receipt:
    """What a student learns about an accepted submission (no private score)."""

    submission_id: int
    task: str
    metric: str
    public: float
    created_at: datetime
    submissions_left_today: int


@dataclass(frozen=True)
class Standing:
    """One row of a task's leaderboard; private fields are None until the deadline."""

    rank: int
    student: str
    public: float
    count: int
    last_submission: datetime
    private: float | None
    private_rank: int | None


@dataclass(frozen=True)
class Standings:
    task: str
    deadline: datetime | None
    revealed: bool
    rows: list[Standing]


@dataclass(frozen=True)
class FinalScore:
    """One line of the staff export: the selected submission's scores."""

    student: str
    task: str
    public: float
    private: float


@dataclass
class _Selection:
    """Per participant while scanning a task's submissions in time order."""

    public: float
    private: float
    order: tuple[datetime, int]
    count: int
    last_submission: datetime


class LeaderboardStore:
    """The leaderboard's data and rules on top of a SQLAlchemy engine."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._clock = clock

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)  # the daily limit counts UTC days

    def add_participants(self, names: Iterable[str]) -> dict[str, str]:
        """Register new participants; returns name -> token (shown once, stored hashed)."""
        names = list(names)
        repeated = sorted(name for name, count in Counter(names).items() if count > 1)
        if repeated:
            raise LeaderboardError(f"names listed more than once: {', '.join(repeated)}")
        too_long = [name for name in names if len(name) > NAME_MAX_LENGTH]
        if too_long:
            raise LeaderboardError(
                f"names longer than {NAME_MAX_LENGTH} characters: {', '.join(too_long)}"
            )
        with self._sessions.begin() as session:
            taken = set(
                session.scalars(select(Participant.name).where(Participant.name.in_(names)))
            )
            if taken:
                raise LeaderboardError(
                    f"already registered: {', '.join(sorted(taken))}; their tokens stay valid "
                    "(remove them from the roster to add the others)"
                )
            tokens = {name: new_token() for name in names}
            session.add_all(
                Participant(name=n, token_hash=hash_token(t)) for n, t in tokens.items()
            )
        return tokens

    def participant_names(self) -> list[str]:
        with self._sessions() as session:
            return list(session.scalars(select(Participant.name).order_by(Participant.name)))

    def authenticate(self, token: str) -> int:
        """The id of the participant holding `token`."""
        with self._sessions() as session:
            participant_id = session.scalar(
                select(Participant.id).where(Participant.token_hash == hash_token(token))
            )
        if participant_id is None:
            raise UnknownToken("unknown token: check the token staff sent you")
        return participant_id

    def deadline(self) -> datetime | None:
        with self._sessions() as session:
            setting = session.get(Setting, DEADLINE)
        return None if setting is None else parse_utc_time(setting.value)

    def set_deadline(self, deadline: datetime | None) -> None:
        """Set (or with None, remove) the moment submissions close and private scores show."""
        with self._sessions.begin() as session:
            setting = session.get(Setting, DEADLINE)
            if deadline is None:
                if setting is not None:
                    session.delete(setting)
                return
            value = deadline.astimezone(UTC).isoformat()
            if setting is None:
                session.add(Setting(name=DEADLINE, value=value))
            else:
                setting.value = value

    def record(
        self, participant_id: int, upload: Upload, score: TaskScore, daily_limit: int
    ) -> Receipt:
        """Store a scored submission unless the deadline passed or today's limit is used up."""
        with self._sessions.begin() as session:
            # The row lock (a whole-database write lock on SQLite) makes count-then-insert atomic.
            session.get(Participant, participant_id, with_for_update=True)
            now = self._now()
            deadline_setting = session.get(Setting, DEADLINE)
            if deadline_setting is not None and now >= parse_utc_time(deadline_setting.value):
                raise DeadlinePassed(
                    f"the deadline ({deadline_setting.value}) has passed; submissions are closed"
                )
            day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
            used = session.scalar(
                select(func.count())
                .select_from(Submission)
                .where(
                    Submission.participant_id == participant_id,
                    Submission.task == score.task,
                    Submission.created_at >= day_start,
                )
            )
            if used >= daily_limit:
                reset = (day_start + timedelta(days=1)).isoformat()
                raise DailyLimitReached(
                    f"daily limit reached: {used} of {daily_limit} {score.task} submissions "
                    f"today (UTC); the next is accepted from {reset}"
                )
            submission = Submission(
                participant_id=participant_id,
                task=score.task,
                created_at=now,
                filename=upload.filename[:255],
                size=len(upload.data),
                sha256=keep_file(session, upload.data),
            )
            set_scores(submission, score)
            session.add(submission)
            session.flush()
            return Receipt(
                submission_id=submission.id,
                task=score.task,
                metric=score.metric,
                public=score.public,
                created_at=now,
                submissions_left_today=daily_limit - used - 1,
            )

    def _selections(self, task: str) -> dict[str, _Selection]:
        """Each participant's best-public submission of `task` (ties: earliest), with counts."""
        with self._sessions() as session:
            rows = session.execute(
                select(
                    Participant.name,
                    Submission.id,
                    Submission.created_at,
                    Submission.public,
                    Submission.private,
                )
                .join(Submission.participant)
                .where(Submission.task == task)
                .order_by(Submission.created_at, Submission.id)
            ).all()
        selections: dict[str, _Selection] = {}
        for name, submission_id, created_at, public, private in rows:
            current = selections.get(name)
            if current is None:
                selections[name] = _Selection(
                    public, private, (created_at, submission_id), 1, created_at
                )
                continue
            current.count += 1
            current.last_submission = created_at
            if public > current.public:
                current.public, current.private = public, private
                current.order = (created_at, submission_id)
        return selections

    def standings(self, task: str) -> Standings:
        """The task's leaderboard as it should be shown right now."""
        deadline = self.deadline()
        revealed = deadline is not None and self._now() >= deadline
        selections = self._selections(task)
        by_public = sorted(selections, key=lambda n: (-selections[n].public, selections[n].order))
        private_rank = {}
        if revealed:
            by_private = sorted(
                selections, key=lambda n: (-selections[n].private, selections[n].order)
            )
            private_rank = {name: rank for rank, name in enumerate(by_private, start=1)}
        rows = [
            Standing(
                rank=rank,
                student=name,
                public=selections[name].public,
                count=selections[name].count,
                last_submission=selections[name].last_submission,
                private=selections[name].private if revealed else None,
                private_rank=private_rank.get(name),
            )
            for rank, name in enumerate(by_public, start=1)
        ]
        return Standings(task=task, deadline=deadline, revealed=revealed, rows=rows)

    def final_scores(self, tasks: Iterable[str]) -> list[FinalScore]:
        """The selected submission of every participant who submitted, per task."""
        return [
            FinalScore(student=name, task=task, public=chosen.public, private=chosen.private)
            for task in tasks
            for name, chosen in sorted(self._selections(task).items())
        ]


def final_scores_csv(scores: Iterable[FinalScore]) -> str:
    """The staff export as CSV text: `student,task,public,private`, full float precision."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LEADERBOARD_EXPORT_COLUMNS)
    writer.writerows((s.student, s.task, repr(s.public), repr(s.private)) for s in scores)
    return buffer.getvalue()
