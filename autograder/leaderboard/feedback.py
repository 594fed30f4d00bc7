"""Grading feedback for students: released by staff, shown behind each student's token.

`facekit leaderboard release-feedback --grades DIR` reads `DIR/<student>/results.json` (the
judge's Gradescope-schema report, see autograder/judge/report.py) for every registered student.
Those files carry text that student code influenced, so each is read as untrusted: a bounded
regular file, no links followed, JSON nesting bounded, every string cut to a length, and the
page escapes all of it. A malformed file is reported and that student's feedback is not
released; the others are.

Gradescope's `visibility` of each test (and of the whole report) decides what a student sees:
`visible` at once; `after_due_date` from the student's own deadline; `after_published` from the
release's `details_from` time; `hidden` never (the total still counts it).
"""

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from autograder.leaderboard.models import Feedback, Participant
from facekit.base.errors import InputError
from facekit.base.untrusted import UntrustedFileError, load_untrusted_json

RESULTS_FILE = "results.json"
MAX_RESULTS_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 6  # results.json is {tests: [{...}]}: three levels, with room to spare
MAX_TESTS = 500
MAX_TEXT = 20_000  # characters kept of any one output
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")


class MalformedResults(InputError, ValueError):
    """A results.json that is not the Gradescope schema; the message says where."""


@dataclass(frozen=True)
class ShownTest:
    """One test as the student may see it now."""

    name: str
    score: float | None
    max_score: float | None
    output: str


@dataclass(frozen=True)
class ShownFeedback:
    """A student's feedback with what is not yet (or never) visible removed."""

    score: float | None
    max_score: float | None
    output: str
    tests: list[ShownTest]
    pending: int  # tests whose details show later
    pending_from: list[datetime]
    hidden: int  # tests never shown
    released_at: datetime


def _text(value, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedResults(f"{where}: expected text, found {type(value).__name__}")
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "\n[... cut]"


def _number(value, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedResults(f"{where}: expected a finite number, found {value!r}")
    return float(value)


def _visibility(value, where: str) -> str:
    if value is None:
        return "visible"
    if value not in VISIBILITIES:
        raise MalformedResults(f"{where}: visibility {value!r} is not one of {VISIBILITIES}")
    return value


def normalise_results(raw) -> dict:
    """The fields of a Gradescope results.json the page uses, checked; MalformedResults if not."""
    if not isinstance(raw, dict):
        raise MalformedResults("expected a JSON object")
    tests = raw.get("tests", [])
    if not isinstance(tests, list) or len(tests) > MAX_TESTS:
        raise MalformedResults(f"tests: expected a list of at most {MAX_TESTS}")
    normalised = []
    for index, test in enumerate(tests):
        where = f"tests[{index}]"
        if not isinstance(test, dict):
            raise MalformedResults(f"{where}: expected an object")
        normalised.append(
            {
                "name": _text(test.get("name"), f"{where}.name")[:500],
                "score": _number(test.get("score"), f"{where}.score"),
                "max_score": _number(test.get("max_score"), f"{where}.max_score"),
                "output": _text(test.get("output"), f"{where}.output"),
                "visibility": _visibility(test.get("visibility"), f"{where}.visibility"),
            }
        )
    return {
        "score": _number(raw.get("score"), "score"),
        "max_score": sum(t["max_score"] or 0.0 for t in normalised) or None,
        "output": _text(raw.get("output"), "output"),
        "visibility": _visibility(raw.get("visibility"), "visibility"),
        "tests": normalised,
    }


def read_results(grades_dir: Path, student: str) -> dict:
    """`grades_dir/<student>/results.json`, read as untrusted; MalformedResults if unusable."""
    if "/" in student or student in (".", ".."):
        raise MalformedResults(f"roster name {student!r} cannot name a folder")
    try:
        raw = load_untrusted_json(
            Path(grades_dir), f"{student}/{RESULTS_FILE}", MAX_RESULTS_BYTES, MAX_DEPTH
        )
    except (UntrustedFileError, ValueError) as error:
        raise MalformedResults(str(error)) from None
    return normalise_results(raw)


def _shows(
    visibility: str, now: datetime, deadline: datetime | None, details_from: datetime
) -> tuple[bool, datetime | None]:
    """Whether something of this visibility shows at `now`, and from when (None: unknown/never)."""
    when = {
        "visible": now,
        "after_due_date": deadline,
        "after_published": details_from,
        "hidden": None,
    }[visibility]
    return when is not None and now >= when, when


def shown_feedback(row: Feedback, now: datetime, deadline: datetime | None) -> ShownFeedback:
    """What the student may see of `row` at `now`, their own deadline being `deadline`.

    The report's own visibility gates everything; each test's then gates that test.
    """
    results = row.results
    whole, whole_from = _shows(results["visibility"], now, deadline, row.details_from)
    tests, pending_from, pending, hidden = [], set(), 0, 0
    for test in results["tests"]:
        shown, later = _shows(test["visibility"], now, deadline, row.details_from)
        if test["visibility"] == "hidden" or results["visibility"] == "hidden":
            hidden += 1
        elif shown and whole:
            tests.append(ShownTest(test["name"], test["score"], test["max_score"], test["output"]))
        else:
            pending += 1
            pending_from.update(t for t in (later, None if whole else whole_from) if t)
    return ShownFeedback(
        score=results["score"] if whole else None,
        max_score=results["max_score"] if whole else None,
        output=results["output"] if whole else "",
        tests=tests,
        pending=pending,
        pending_from=sorted(pending_from),
        hidden=hidden,
        released_at=row.released_at,
    )


@dataclass(frozen=True)
class ReleaseReport:
    released: list[str]
    problems: list[str]  # one line per student whose feedback could not be read
    missing: list[str]  # registered students without a results.json


class FeedbackDesk:
    """Released feedback on top of a SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def release(self, grades_dir: Path, now: datetime, details_from: datetime) -> ReleaseReport:
        """Read every registered student's results.json and release it (replacing older ones)."""
        released, problems, missing = [], [], []
        with self._sessions.begin() as session:
            participants = session.scalars(select(Participant).order_by(Participant.name)).all()
            for participant in participants:
                if not (Path(grades_dir) / participant.name).is_dir():
                    missing.append(participant.name)
                    continue
                try:
                    results = read_results(grades_dir, participant.name)
                except MalformedResults as error:
                    problems.append(f"{participant.name}: {error}")
                    continue
                row = session.get(Feedback, participant.id)
                if row is None:
                    row = Feedback(participant_id=participant.id)
                    session.add(row)
                row.results, row.released_at, row.details_from = results, now, details_from
                released.append(participant.name)
        return ReleaseReport(released, problems, missing)

    def feedback(self, participant_id: int) -> Feedback | None:
        with self._sessions() as session:
            return session.get(Feedback, participant_id)
