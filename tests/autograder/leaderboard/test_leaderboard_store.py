"""The leaderboard's rules without HTTP: limits per UTC day, selection, ranks, token storage."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from autograder.leaderboard.errors import DeadlinePassed, LeaderboardError
from autograder.leaderboard.models import open_database
from autograder.leaderboard.store import (
    DailyLimitReached,
    LeaderboardStore,
    UnknownToken,
    Upload,
    final_scores_csv,
    parse_utc_time,
)
from autograder.scoring import TaskScore
from facekit.base.contract import CLASSIFICATION, VERIFICATION


class Clock:
    """A settable clock so day boundaries and deadlines can be crossed on purpose."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def score(public: float, private: float, task: str = CLASSIFICATION) -> TaskScore:
    return TaskScore(task, "accuracy", public, private, (public + private) / 2)


UPLOAD = Upload("submission.csv", b"id,label\n")


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 30, 23, 58, tzinfo=UTC))


@pytest.fixture
def store(db_url, clock) -> LeaderboardStore:
    return LeaderboardStore(open_database(db_url), clock=clock)


def test_daily_limit_resets_at_utc_midnight(store, clock):
    """Is the limit counted per UTC day, so a new day allows new submissions?"""
    student = store.authenticate(store.add_participants(["ann"])["ann"])
    assert store.record(student, UPLOAD, score(0.1, 0.1), daily_limit=2).submissions_left_today == 1
    assert store.record(student, UPLOAD, score(0.2, 0.2), daily_limit=2).submissions_left_today == 0
    with pytest.raises(DailyLimitReached, match="2 of 2 classification"):
        store.record(student, UPLOAD, score(0.3, 0.3), daily_limit=2)
    # the limit is per task
    store.record(student, UPLOAD, score(0.5, 0.5, VERIFICATION), daily_limit=2)
    # 00:30 UTC the next day is still 19:30 on the 30th in New York: the UTC day decides
    clock.now = datetime(2026, 11, 30, 19, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert store.record(student, UPLOAD, score(0.4, 0.4), daily_limit=2).submissions_left_today == 1


def test_selection_is_best_public_earliest_on_ties(store, clock):
    """Does the board and export use each student's best public score, earliest on ties?"""
    tokens = store.add_participants(["ann", "ben", "cat"])
    ids = {name: store.authenticate(token) for name, token in tokens.items()}
    history = [("ann", 0.5, 0.9), ("ben", 0.7, 0.1), ("ann", 0.7, 0.2), ("ann", 0.7, 0.8),
               ("cat", 0.7, 0.6), ("ben", 0.6, 0.95)]  # fmt: skip
    for minute, (name, public, private) in enumerate(history):
        clock.now = datetime(2026, 11, 29, 12, minute, tzinfo=UTC)
        store.record(ids[name], UPLOAD, score(public, private), daily_limit=10)

    board = store.standings(CLASSIFICATION)
    assert not board.revealed
    roster = {public: name for name, public in store.display_names().items()}
    # all three best at 0.7: ben reached it first (minute 1), then ann (2), then cat (4)
    assert [(r.rank, roster[r.name], r.public, r.count) for r in board.rows] == [
        (1, "ben", 0.7, 2),
        (2, "ann", 0.7, 3),
        (3, "cat", 0.7, 1),
    ]
    assert all(r.private is None and r.private_rank is None for r in board.rows)
    assert board.rows[1].last_submission == datetime(2026, 11, 29, 12, 3, tzinfo=UTC)

    store.set_deadline(datetime(2026, 11, 30, tzinfo=UTC))
    clock.now = datetime(2026, 11, 30, 0, 0, 1, tzinfo=UTC)
    revealed = store.standings(CLASSIFICATION)
    assert revealed.revealed
    assert [(roster[r.name], r.private, r.private_rank) for r in revealed.rows] == [
        ("ben", 0.1, 3),
        ("ann", 0.2, 2),
        ("cat", 0.6, 1),
    ]
    assert final_scores_csv(store.final_scores([CLASSIFICATION, VERIFICATION])) == (
        "student,task,public,private\n"
        "ann,classification,0.7,0.2\n"
        "ben,classification,0.7,0.1\n"
        "cat,classification,0.7,0.6\n"
    )
    with pytest.raises(DeadlinePassed):
        store.record(ids["cat"], UPLOAD, score(1.0, 1.0), daily_limit=10)


def test_tokens_are_stored_only_as_hashes(store, db_url):
    """Can a database dump reveal no token, while the token still authenticates?"""
    tokens = store.add_participants(["ann", "ben"])
    assert len(set(tokens.values())) == 2 and all(len(t) >= 40 for t in tokens.values())
    engine = open_database(db_url)
    with engine.connect() as connection:
        dump = repr(connection.execute(text("SELECT * FROM participant")).all())
    assert all(token not in dump for token in tokens.values())
    assert store.authenticate(tokens["ben"]) != store.authenticate(tokens["ann"])
    with pytest.raises(UnknownToken):
        store.authenticate(tokens["ann"][:-1])


def test_roster_names_must_be_new_and_unique(store):
    store.add_participants(["ann"])
    with pytest.raises(LeaderboardError, match="already registered: ann"):
        store.add_participants(["ann", "ben"])
    with pytest.raises(LeaderboardError, match="more than once: ben"):
        store.add_participants(["ben", "cat", "ben"])
    with pytest.raises(LeaderboardError, match="longer than 200 characters"):
        store.add_participants(["x" * 201])
    assert store.participant_names() == ["ann"]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-12-01T23:59", datetime(2026, 12, 1, 23, 59, tzinfo=UTC)),
        ("2026-12-01T23:59:00Z", datetime(2026, 12, 1, 23, 59, tzinfo=UTC)),
        ("2026-12-01T18:59:00-05:00", datetime(2026, 12, 1, 23, 59, tzinfo=UTC)),
    ],
)
def test_deadline_times_are_utc_unless_offset(written, expected):
    assert parse_utc_time(written) == expected


def test_unreadable_deadline_names_the_format():
    with pytest.raises(LeaderboardError, match="expected ISO 8601"):
        parse_utc_time("next friday")
