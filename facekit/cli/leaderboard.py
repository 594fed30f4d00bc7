"""`facekit leaderboard ...`: the leaderboard service and its staff actions.

Staff, once: `facekit leaderboard roster --db URL roster.csv --out tokens.csv` registers the
students named in the roster's `student` column and writes one secret token each (shown only
then; the database keeps a SHA-256 of each). Then
`FACEKIT_STAFF_TOKEN=... facekit leaderboard serve --db URL --keys KEYS_DIR --port 8000`.
`--db` takes an SQLAlchemy URL: `sqlite:///leaderboard.db` (default) or
`postgresql+psycopg://user:password@host/dbname`.

Students submit through the page at `/submit`, with `facekit submit`, or with curl:

    curl -H "Authorization: Bearer $FACEKIT_TOKEN" -F "file=@verification.csv" \\
        http://HOST:8000/api/submit/verification

The reply is JSON: `public` score and `submissions_left_today`, or `error` (and `problems`, one per
defect) with status 400 (invalid CSV), 401 (wrong token), 403 (deadline passed), 413 (file too
large) or 429 (daily limit, counted per task and UTC day; invalid files do not count toward it, but
more than --invalid-limit of them within --invalid-window-minutes are refused unread).
Uploads larger than a valid file for the keys can be are refused (413) before they are read.

Staff over HTTP (bearer staff token): `POST /api/staff/deadline` with JSON
`{"deadline": "2026-12-01T23:59:00Z"}` (or null), `GET /api/staff/export` for
`student,task,public,private` (each student's best-public submission, Kaggle-style),
`GET /api/staff/submissions` (every submission, JSON) and `GET /api/staff/submissions/ID/file`
(the file as uploaded: every accepted file is kept, once per content, keyed by its SHA-256).
`facekit leaderboard rescore --keys NEW_KEYS` recomputes every stored submission's scores.
"""

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from autograder.leaderboard.config import LeaderboardConfig
from autograder.leaderboard.course import LeaderboardTables
from autograder.leaderboard.errors import LeaderboardError
from facekit.base.contract import TASKS
from facekit.base.errors import FacekitError, SetupError
from facekit.cli.options import Action, add_actions, add_course, add_db, add_keys, add_out

DEFAULTS = {field.name: field.default for field in dataclasses.fields(LeaderboardConfig)}
STAFF_TOKEN_ENV = "FACEKIT_STAFF_TOKEN"
# Options of `serve`, each setting the LeaderboardConfig field of its name (and defaulting to it).
SERVE_SETTINGS = {
    "threads": "worker threads (and DB connections)",
    "daily_limit": "submissions per student, task and UTC day",
    "invalid_limit": "invalid uploads per student within --invalid-window-minutes (then HTTP 429)",
    "invalid_window_minutes": "sliding window of --invalid-limit",
    "max_upload_bytes": "largest accepted CSV",
    "title": "page title",
}
COURSE_HELP = "course TOML with [leaderboard], [phases], [late] and [metrics] tables (all optional)"


def _open_store(db_url: str, course_file: Path | None = None):
    from autograder.leaderboard.course import load_course
    from autograder.leaderboard.models import open_database
    from autograder.leaderboard.store import LeaderboardStore

    course = load_course(course_file)
    return LeaderboardStore(open_database(db_url), course=course)


def _serve(args: argparse.Namespace) -> int:
    """Serve the leaderboard. Staff routes need the token in $FACEKIT_STAFF_TOKEN (they are off
    without it)."""
    from autograder.leaderboard.server import configure_logging, serve

    config = LeaderboardConfig(
        keys_dir=args.keys,
        db_url=args.db,
        staff_token=os.environ.get(STAFF_TOKEN_ENV) or None,
        course_file=args.course,
        **{name: getattr(args, name) for name in SERVE_SETTINGS},
    )
    configure_logging()
    serve(config, args.host, args.port)
    return 0


def _roster(args: argparse.Namespace) -> int:
    """Register the students in ROSTER (a CSV with a 'student' column) and write student,token
    to --out (created, never overwritten: tokens cannot be shown again)."""
    from autograder.leaderboard.roster import open_tokens_file, read_roster, write_tokens

    names = read_roster(args.roster)
    store = _open_store(args.db)
    with open_tokens_file(args.out) as out:
        try:
            tokens = store.add_participants(names)
        except FacekitError:
            out.close()
            args.out.unlink()
            raise
        write_tokens(out, tokens)
    print(f"registered {len(tokens)} participants; their tokens are in {args.out}")
    return 0


def _reset_token(args: argparse.Namespace) -> int:
    """Replace STUDENT's lost token: the new one is written to --out (created, never
    overwritten), the old one and any page signed in with it stop working."""
    from autograder.leaderboard.roster import open_tokens_file, write_tokens
    from autograder.leaderboard.students import StudentDesk

    desk = StudentDesk(_open_store(args.db))
    with open_tokens_file(args.out) as out:
        try:
            token = desk.reset_token(args.student)
        except FacekitError:
            out.close()
            args.out.unlink()
            raise
        write_tokens(out, {args.student: token})
    print(f"new token for {args.student} in {args.out}; the old one no longer works")
    return 0


def _release_feedback(args: argparse.Namespace) -> int:
    """Release DIR/<student>/results.json (as `facekit grade` writes it) to each registered
    student's page, /me/feedback. Gradescope visibility applies per test: visible now,
    after_due_date from the student's deadline, after_published from --details-from, hidden
    never. Malformed files are reported (exit 1) and not released; the others are. Running it
    again replaces earlier feedback."""
    from autograder.leaderboard.feedback import FeedbackDesk
    from autograder.leaderboard.models import open_database
    from autograder.leaderboard.store import parse_utc_time, utc_now

    if not args.grades.is_dir():
        raise SetupError(f"grades directory not found: {args.grades}")
    now = utc_now()
    details_from = now if args.details_from is None else parse_utc_time(args.details_from)
    report = FeedbackDesk(open_database(args.db)).release(args.grades, now, details_from)
    print(
        f"released feedback to {len(report.released)} students; details of tests marked "
        f"after_published show from {details_from.isoformat()}"
    )
    if report.missing:
        print(f"no results.json for {len(report.missing)}: {', '.join(report.missing)}")
    for problem in report.problems:
        print(f"facekit leaderboard release-feedback: {problem}", file=sys.stderr)
    return 1 if report.problems else 0


def _deadline(args: argparse.Namespace) -> int:
    """Show, set or clear the deadline: submissions close and private scores appear once it
    passes. A time in the past needs --yes. With a course file that sets [phases.final], the
    deadline comes from there and this only shows it."""
    from autograder.leaderboard.lateness import final_phase
    from autograder.leaderboard.store import parse_utc_time, utc_now

    store = _open_store(args.db, args.course)
    if store.course.phases.final is not None and (args.clear or args.time is not None):
        raise SetupError(
            f"{args.course} sets [phases.final]: the deadline comes from there; edit it"
        )
    if args.clear:
        store.set_deadline(None)
    elif args.time is not None:
        deadline = parse_utc_time(args.time)
        if deadline <= utc_now() and not args.yes:
            raise SetupError(
                f"{deadline.isoformat()} is in the past: submissions would close now and "
                "private scores show at once; pass --yes if that is what you want"
            )
        store.set_deadline(deadline)
    final = final_phase(store.course, store.deadline())
    print(f"deadline: {'none' if final is None else final.deadline.isoformat()}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    """Upgrade the database to the newest schema revision, in one transaction (a database made
    before revisions existed counts as revision 0001). The server refuses an older schema until
    this has run; back the database up first."""
    from sqlalchemy.exc import SQLAlchemyError

    from autograder.leaderboard.models import connect
    from autograder.leaderboard.schema import migrate

    engine = connect(args.db)
    try:
        before, after, first_record = migrate(engine)
    except SQLAlchemyError as error:
        raise LeaderboardError(f"migration failed, nothing changed: {error}") from error
    finally:
        engine.dispose()
    if before == after and not first_record:
        print(f"schema already at revision {after}")
    else:
        origin = "none (empty database)" if before is None else before
        print(f"schema migrated from revision {origin} to {after}")
    return 0


def _rescore(args: argparse.Namespace) -> int:
    """Recompute the public, private and overall scores of every stored submission from the
    keys in --keys, in one transaction: if any stored file does not fit the new keys, nothing
    changes. Restart the server with the same --keys after."""
    from autograder.leaderboard.archive import Archive
    from autograder.leaderboard.course import load_course
    from autograder.leaderboard.models import open_database
    from autograder.scoring import load_keys

    keys = {task: load_keys(task, args.keys) for task in TASKS}
    metrics = load_course(args.course).metrics
    report = Archive(open_database(args.db)).rescore(keys, metrics)
    print(
        f"rescored {report.rescored} stored submissions with the keys in {args.keys}; "
        f"{report.changed} changed score"
    )
    if report.unstored:
        print(
            f"{len(report.unstored)} submissions made before files were kept keep their "
            f"old scores (ids {', '.join(map(str, report.unstored[:20]))})"
        )
    print(f"restart `facekit leaderboard serve` with --keys {args.keys} to score new uploads")
    return 0


def _export(args: argparse.Namespace) -> int:
    """Write student,task,public,private: per student, the selected submission among those
    made by their own deadline (late penalty and checkpoint multiplier applied; see --course).
    `facekit grades` reads this file."""
    from autograder.leaderboard.store import final_scores_csv

    store = _open_store(args.db, args.course)
    text = final_scores_csv(store.final_scores(TASKS), details=args.details)
    if str(args.out) == "-":
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0


def _add_course(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--course", type=Path, help=COURSE_HELP)


def _add_db(parser: argparse.ArgumentParser) -> None:
    add_db(parser, DEFAULTS["db_url"])


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    add_course(parser, LeaderboardTables, COURSE_HELP)
    add_keys(parser)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (0 picks a free one)")
    for name, help in SERVE_SETTINGS.items():
        default = DEFAULTS[name]
        option = "--" + name.replace("_", "-")
        parser.add_argument(option, type=type(default), default=default, help=help)


def _roster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("roster", type=Path, help="roster CSV with a 'student' column")
    add_out(parser, "new CSV for student,token")


def _reset_token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("student", help="the student's roster name")
    add_out(parser, "new CSV for student,token")


def _release_feedback_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--grades", type=Path, required=True, help="graded folder (DIR)")
    parser.add_argument(
        "--details-from",
        help="ISO 8601 time from which after_published tests show (default: now)",
    )


def _deadline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "time", nargs="?", help="ISO 8601 time, UTC unless it has an offset (2026-12-01T23:59Z)"
    )
    parser.add_argument("--clear", action="store_true", help="remove the deadline")
    parser.add_argument(
        "--yes", action="store_true", help="confirm a deadline in the past (closes at once)"
    )
    _add_course(parser)


def _rescore_arguments(parser: argparse.ArgumentParser) -> None:
    add_keys(parser, help="the new hidden answer-key directory")
    _add_course(parser)


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    _add_course(parser)
    add_out(parser, "CSV path, - for stdout", required=False, default=Path("-"))
    parser.add_argument(
        "--details",
        action="store_true",
        help="add submission_id, raw_private, late_days, checkpoint_met (not for grades)",
    )


DESCRIPTION = __doc__
ACTIONS = (
    Action("serve", "serve the leaderboard over HTTP", _serve, _serve_arguments),
    Action("roster", "register students and write their tokens", _roster, _roster_arguments),
    Action(
        "reset-token",
        "give a student a new token (the old one stops working)",
        _reset_token,
        _reset_token_arguments,
    ),
    Action(
        "release-feedback",
        "show each student their grading feedback on their page",
        _release_feedback,
        _release_feedback_arguments,
    ),
    Action("deadline", "show or set the deadline", _deadline, _deadline_arguments),
    Action("migrate", "upgrade the database schema to this facekit's", _migrate),
    Action(
        "rescore", "rescore every stored submission with new keys", _rescore, _rescore_arguments
    ),
    Action("export", "export final scores", _export, _export_arguments),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The actions of `facekit leaderboard` (serve, roster, deadline, export, ...: `ACTIONS`),
    each with the --db option."""
    add_actions(parser, ACTIONS, dest="leaderboard_command", metavar="ACTION", shared=_add_db)
