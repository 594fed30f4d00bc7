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

from autograder.leaderboard.course import CourseSettings
from autograder.leaderboard.errors import LeaderboardError, SubmissionRefused
from autograder.leaderboard.finals import Candidate, FinalScore, final_score
from autograder.leaderboard.lateness import (
    StudentSchedule,
    final_phase,
    last_cutoff,
    student_schedule,
)
from autograder.leaderboard.models import (
    NAME_MAX_LENGTH,
    Participant,
    Setting,
    StoredFile,
    Submission,
)
from autograder.leaderboard.pseudonyms import new_pseudonym
from autograder.leaderboard.tokens import hash_token, new_token
from autograder.scoring import TaskScore
from facekit.base.contract import LEADERBOARD_EXPORT_COLUMNS

DEADLINE = "deadline"


class UnknownToken(SubmissionRefused):
    pass


class UploadTooLarge(SubmissionRefused):
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
    late_days: int = 0


@dataclass(frozen=True)
class Standing:
    """One row of a task's leaderboard; private fields are None until the deadline.

    `name` is the participant's public display name, never the roster name.
    """

    rank: int
    name: str
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


@dataclass
class _Selection:
    """A participant's best public score on a task, its (time, id) order and their counts."""

    public: float
    order: tuple[datetime, int]
    count: int
    last_submission: datetime


class LeaderboardStore:
    """The leaderboard's data and rules on top of a SQLAlchemy engine."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime] = utc_now,
        course: CourseSettings | None = None,
    ) -> None:
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self._clock = clock
        self.course = course or CourseSettings()

    def schedule(self, student: str, session: Session | None = None) -> StudentSchedule:
        """`student`'s deadline, cut-off and late-day budget (see lateness.py).

        Inside a transaction pass its `session`: on SQLite a second one would wait for the
        first one's write lock.
        """
        return student_schedule(self.course, student, self.deadline(session))

    def now(self) -> datetime:
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
        with self.sessions.begin() as session:
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
                Participant(name=n, token_hash=hash_token(t), display_name=new_pseudonym())
                for n, t in tokens.items()
            )
        return tokens

    def participant_names(self) -> list[str]:
        with self.sessions() as session:
            return list(session.scalars(select(Participant.name).order_by(Participant.name)))

    def authenticate(self, token: str) -> int:
        """The id of the participant holding `token`."""
        with self.sessions() as session:
            participant_id = session.scalar(
                select(Participant.id).where(Participant.token_hash == hash_token(token))
            )
        if participant_id is None:
            raise UnknownToken("unknown token: check the token staff sent you")
        return participant_id

    def deadline(self, session: Session | None = None) -> datetime | None:
        """The deadline staff set (`facekit leaderboard deadline`), read in `session` if given."""
        if session is None:
            with self.sessions() as own:
                return self.deadline(own)
        setting = session.get(Setting, DEADLINE)
        return None if setting is None else parse_utc_time(setting.value)

    def set_deadline(self, deadline: datetime | None) -> None:
        """Set (or with None, remove) the moment submissions close and private scores show."""
        with self.sessions.begin() as session:
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
        with self.sessions.begin() as session:
            # The row lock (a whole-database write lock on SQLite) makes count-then-insert atomic.
            participant = session.get(Participant, participant_id, with_for_update=True)
            now = self.now()
            late_days = self.schedule(participant.name, session).admit(now)
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
                late_days=late_days,
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
                late_days=late_days,
            )

    def display_names(self) -> dict[str, str]:
        """Roster name -> public display name, for every participant."""
        with self.sessions() as session:
            return dict(session.execute(select(Participant.name, Participant.display_name)).all())

    def _candidates(self, task: str) -> dict[str, list[Candidate]]:
        """Each participant's submissions of `task`, in time order."""
        with self.sessions() as session:
            rows = session.execute(
                select(
                    Participant.name,
                    Submission.id,
                    Submission.created_at,
                    Submission.public,
                    Submission.private,
                    Submission.chosen,
                )
                .join(Submission.participant)
                .where(Submission.task == task)
                .order_by(Submission.created_at, Submission.id)
            ).all()
        candidates: dict[str, list[Candidate]] = {}
        for name, *fields in rows:
            candidates.setdefault(name, []).append(Candidate(*fields))
        return candidates

    def _selections(self, candidates: dict[str, list[Candidate]]) -> dict[str, _Selection]:
        """Each participant's best-public submission (ties: earliest), with counts."""
        selections = {}
        for name, own in candidates.items():
            best = max(own, key=lambda c: (c.public, -c.created_at.timestamp(), -c.submission_id))
            selections[name] = _Selection(
                best.public, (best.created_at, best.submission_id), len(own), own[-1].created_at
            )
        return selections

    def standings(self, task: str) -> Standings:
        """The task's leaderboard as it should be shown right now.

        The public part ranks each student's best public score; once the last student's
        submissions have closed, the private part ranks their final scores (see finals.py).
        """
        staff_deadline = self.deadline()
        final = final_phase(self.course, staff_deadline)
        closes = last_cutoff(self.course, staff_deadline)
        revealed = closes is not None and self.now() >= closes
        candidates = self._candidates(task)
        selections = self._selections(candidates)
        public_names = self.display_names()
        by_public = sorted(selections, key=lambda n: (-selections[n].public, selections[n].order))
        private_rank, finals = {}, {}
        if revealed:
            finals = self._finals(task, candidates)
            by_private = sorted(finals, key=lambda n: (-finals[n].private, selections[n].order))
            private_rank = {name: rank for rank, name in enumerate(by_private, start=1)}
        rows = [
            Standing(
                rank=rank,
                name=public_names[name],
                public=selections[name].public,
                count=selections[name].count,
                last_submission=selections[name].last_submission,
                private=finals[name].private if name in finals else None,
                private_rank=private_rank.get(name),
            )
            for rank, name in enumerate(by_public, start=1)
        ]
        deadline = None if final is None else final.deadline
        return Standings(task=task, deadline=deadline, revealed=revealed, rows=rows)

    def _finals(self, task: str, candidates: dict[str, list[Candidate]]) -> dict[str, FinalScore]:
        staff_deadline = self.deadline()
        finals = {}
        for name, own in sorted(candidates.items()):
            schedule = student_schedule(self.course, name, staff_deadline)
            chosen = final_score(self.course, schedule, name, task, own)
            if chosen is not None:
                finals[name] = chosen
        return finals

    def final_scores(self, tasks: Iterable[str]) -> list[FinalScore]:
        """Every student's final score per task, as of their own deadline (see finals.py)."""
        return [
            final for task in tasks for final in self._finals(task, self._candidates(task)).values()
        ]


DETAILS_COLUMNS = (
    *LEADERBOARD_EXPORT_COLUMNS,
    "submission_id",
    "raw_private",
    "late_days",
    "checkpoint_met",
)


def final_scores_csv(scores: Iterable[FinalScore], details: bool = False) -> str:
    """The staff export as CSV text: `student,task,public,private`, full float precision.

    `private` is the final score (late penalty and checkpoint multiplier applied), which
    `facekit grades` reads; `details` adds the selected submission, raw private score, late
    days and whether the checkpoint was met.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(DETAILS_COLUMNS if details else LEADERBOARD_EXPORT_COLUMNS)
    for s in scores:
        row = [s.student, s.task, repr(s.public), repr(s.private)]
        if details:
            row += [s.submission_id, repr(s.raw_private), s.late_days, int(s.checkpoint_met)]
        writer.writerow(row)
    return buffer.getvalue()
