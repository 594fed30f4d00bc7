"""What a student does behind their token: see their history, choose finals, pick a public name.

Choosing final submissions locks the participant's row, like recording a submission does, so a
choice and an upload made at the same moment are both kept. A choice made after the student's
own cut-off is refused: the export takes the choices as of that student's deadline. Staff can
replace a lost token; the old one stops working at once.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from autograder.leaderboard.errors import LeaderboardError
from autograder.leaderboard.lateness import StudentSchedule
from autograder.leaderboard.models import Participant, Submission
from autograder.leaderboard.pseudonyms import check_display_name
from autograder.leaderboard.store import LeaderboardStore
from autograder.leaderboard.tokens import hash_token, new_token
from autograder.scoring import TASKS


class ChoiceRefused(LeaderboardError):
    """A final-submission choice or display name the server will not take; says why."""


@dataclass(frozen=True)
class StudentSubmissionView:
    """One of my submissions as I may see it (no private score)."""

    submission_id: int
    task: str
    created_at: datetime
    public: float
    late_days: int
    chosen: bool


@dataclass(frozen=True)
class Profile:
    """Everything the student page shows."""

    name: str
    display_name: str
    submissions: list[StudentSubmissionView]
    final_submissions: int
    schedule: StudentSchedule


class StudentDesk:
    """Student actions on top of the leaderboard store (same database, course and clock)."""

    def __init__(self, store: LeaderboardStore) -> None:
        self._store = store
        self._sessions = store.sessions

    def participant_for_hash(self, token_hash: str) -> int | None:
        """The participant whose token has this hash (a page session keeps only the hash)."""
        with self._sessions() as session:
            return session.scalar(
                select(Participant.id).where(Participant.token_hash == token_hash)
            )

    def schedule(self, participant_id: int) -> StudentSchedule:
        """This participant's deadline, cut-off and late-day budget."""
        with self._sessions() as session:
            name = session.get(Participant, participant_id).name
            return self._store.schedule(name, session)

    def profile(self, participant_id: int) -> Profile:
        with self._sessions() as session:
            participant = session.get(Participant, participant_id)
            rows = session.scalars(
                select(Submission)
                .where(Submission.participant_id == participant_id)
                .order_by(Submission.created_at.desc(), Submission.id.desc())
            ).all()
            submissions = [
                StudentSubmissionView(s.id, s.task, s.created_at, s.public, s.late_days, s.chosen)
                for s in rows
            ]
            name, display_name = participant.name, participant.display_name
        return Profile(
            name=name,
            display_name=display_name,
            submissions=submissions,
            final_submissions=self._store.course.leaderboard.final_submissions,
            schedule=self._store.schedule(name),
        )

    def choose(self, participant_id: int, task: str, submission_ids: list[int]) -> list[int]:
        """Make `submission_ids` my chosen finals for `task` (replacing earlier choices)."""
        limit = self._store.course.leaderboard.final_submissions
        if task not in TASKS:
            raise ChoiceRefused(f"unknown task {task!r}: expected one of {', '.join(TASKS)}")
        if limit == 0:
            raise ChoiceRefused(
                "this course has no final-submission choice: the best public counts"
            )
        chosen = sorted(set(submission_ids))
        if len(chosen) > limit:
            raise ChoiceRefused(f"choose at most {limit} submissions per task, got {len(chosen)}")
        with self._sessions.begin() as session:
            participant = session.get(Participant, participant_id, with_for_update=True)
            schedule = self._store.schedule(participant.name, session)
            now = self._store.now()
            if schedule.cutoff is not None and now > schedule.cutoff:
                raise ChoiceRefused(
                    f"your submissions closed at {schedule.cutoff.isoformat()}: "
                    "final choices can no longer change"
                )
            mine = set(
                session.scalars(
                    select(Submission.id).where(
                        Submission.participant_id == participant_id, Submission.task == task
                    )
                )
            )
            foreign = [i for i in chosen if i not in mine]
            if foreign:
                raise ChoiceRefused(f"not your {task} submissions: {', '.join(map(str, foreign))}")
            session.execute(
                update(Submission)
                .where(Submission.participant_id == participant_id, Submission.task == task)
                .values(chosen=Submission.id.in_(chosen) if chosen else False)
            )
        return chosen

    def set_display_name(self, participant_id: int, text: str) -> str:
        """Set my public name; it may not be taken, nor be another participant's roster name."""
        try:
            display_name = check_display_name(text)
        except LeaderboardError as error:
            raise ChoiceRefused(str(error)) from None
        try:
            with self._sessions.begin() as session:
                participant = session.get(Participant, participant_id, with_for_update=True)
                lowered = display_name.casefold()
                clash = session.scalar(
                    select(func.count())
                    .select_from(Participant)
                    .where(
                        Participant.id != participant_id,
                        (func.lower(Participant.display_name) == lowered)
                        | (func.lower(Participant.name) == lowered),
                    )
                )
                if clash:
                    raise ChoiceRefused(f"the name {display_name!r} is taken: choose another")
                participant.display_name = display_name
        except IntegrityError:
            raise ChoiceRefused(f"the name {display_name!r} is taken: choose another") from None
        return display_name

    def reset_token(self, name: str) -> str:
        """A new token for roster name `name` (shown once); the old token stops working."""
        token = new_token()
        with self._sessions.begin() as session:
            participant = session.scalar(select(Participant).where(Participant.name == name))
            if participant is None:
                raise LeaderboardError(f"no participant named {name!r} on the roster")
            participant.token_hash = hash_token(token)
        return token
