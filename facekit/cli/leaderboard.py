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
from facekit.cli.options import add_course, add_db, add_keys, add_out, add_subcommand

DEFAULTS = {field.name: field.default for field in dataclasses.fields(LeaderboardConfig)}
STAFF_TOKEN_ENV = "FACEKIT_STAFF_TOKEN"


def _open_store(db_url: str, course_file: Path | None = None):
    from autograder.leaderboard.course import load_course
    from autograder.leaderboard.models import open_database
    from autograder.leaderboard.store import LeaderboardStore

    course = load_course(course_file)
    return LeaderboardStore(open_database(db_url), course=course)


def _serve(args: argparse.Namespace) -> int:
    from autograder.leaderboard.server import configure_logging, serve

    config = LeaderboardConfig(
        keys_dir=args.keys,
        db_url=args.db,
        max_upload_bytes=args.max_upload_bytes,
        daily_limit=args.daily_limit,
        invalid_limit=args.invalid_limit,
        invalid_window_minutes=args.invalid_window_minutes,
        staff_token=os.environ.get(STAFF_TOKEN_ENV) or None,
        title=args.title,
        threads=args.threads,
        course_file=args.course,
    )
    configure_logging()
    serve(config, args.host, args.port)
    return 0


def _roster(args: argparse.Namespace) -> int:
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
    from autograder.leaderboard.store import final_scores_csv

    store = _open_store(args.db, args.course)
    text = final_scores_csv(store.final_scores(TASKS), details=args.details)
    if str(args.out) == "-":
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0


COURSE_HELP = "course TOML with [leaderboard], [phases], [late] and [metrics] tables (all optional)"


def _add_course(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--course", type=Path, help=COURSE_HELP)


DESCRIPTION = __doc__


def _action(
    commands: argparse._SubParsersAction, name: str, handler, **texts: str
) -> argparse.ArgumentParser:
    """One leaderboard action's parser, with the --db option every action takes."""
    parser = add_subcommand(commands, name, handler, **texts)
    add_db(parser, DEFAULTS["db_url"])
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The actions of `facekit leaderboard` (serve, roster, deadline, export, ...)."""
    commands = parser.add_subparsers(dest="leaderboard_command", metavar="ACTION", required=True)

    serve = _action(
        commands,
        "serve",
        _serve,
        help="serve the leaderboard over HTTP",
        description=f"Serve the leaderboard. Staff routes need the token in ${STAFF_TOKEN_ENV} "
        "(they are off without it).",
    )
    add_course(serve, LeaderboardTables, COURSE_HELP)
    add_keys(serve)
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (0 picks a free one)")
    serve.add_argument(
        "--threads",
        type=int,
        default=DEFAULTS["threads"],
        help="worker threads (and DB connections)",
    )
    serve.add_argument(
        "--daily-limit",
        type=int,
        default=DEFAULTS["daily_limit"],
        help="submissions per student, task and UTC day",
    )
    serve.add_argument(
        "--invalid-limit",
        type=int,
        default=DEFAULTS["invalid_limit"],
        help="invalid uploads per student within --invalid-window-minutes (then HTTP 429)",
    )
    serve.add_argument(
        "--invalid-window-minutes",
        type=int,
        default=DEFAULTS["invalid_window_minutes"],
        help="sliding window of --invalid-limit",
    )
    serve.add_argument(
        "--max-upload-bytes",
        type=int,
        default=DEFAULTS["max_upload_bytes"],
        help="largest accepted CSV",
    )
    serve.add_argument("--title", default=DEFAULTS["title"], help="page title")

    roster = _action(
        commands,
        "roster",
        _roster,
        help="register students and write their tokens",
        description="Register the students in ROSTER (a CSV with a 'student' column) and write "
        "student,token to --out (created, never overwritten: tokens cannot be shown again).",
    )
    roster.add_argument("roster", type=Path, help="roster CSV with a 'student' column")
    add_out(roster, "new CSV for student,token")

    reset = _action(
        commands,
        "reset-token",
        _reset_token,
        help="give a student a new token (the old one stops working)",
        description="Replace STUDENT's lost token: the new one is written to --out (created, "
        "never overwritten), the old one and any page signed in with it stop working.",
    )
    reset.add_argument("student", help="the student's roster name")
    add_out(reset, "new CSV for student,token")

    release = _action(
        commands,
        "release-feedback",
        _release_feedback,
        help="show each student their grading feedback on their page",
        description="Release DIR/<student>/results.json (as `facekit grade` writes it) to each "
        "registered student's page, /me/feedback. Gradescope visibility applies per test: "
        "visible now, after_due_date from the student's deadline, after_published from "
        "--details-from, hidden never. Malformed files are reported (exit 1) and not released; "
        "the others are. Running it again replaces earlier feedback.",
    )
    release.add_argument("--grades", type=Path, required=True, help="graded folder (DIR)")
    release.add_argument(
        "--details-from",
        help="ISO 8601 time from which after_published tests show (default: now)",
    )

    deadline = _action(
        commands,
        "deadline",
        _deadline,
        help="show or set the deadline",
        description="Show, set or clear the deadline: submissions close and private scores "
        "appear once it passes. A time in the past needs --yes. With a course file that sets "
        "[phases.final], the deadline comes from there and this only shows it.",
    )
    deadline.add_argument(
        "time", nargs="?", help="ISO 8601 time, UTC unless it has an offset (2026-12-01T23:59Z)"
    )
    deadline.add_argument("--clear", action="store_true", help="remove the deadline")
    deadline.add_argument(
        "--yes", action="store_true", help="confirm a deadline in the past (closes at once)"
    )
    _add_course(deadline)

    _action(
        commands,
        "migrate",
        _migrate,
        help="upgrade the database schema to this facekit's",
        description="Upgrade the database to the newest schema revision, in one transaction "
        "(a database made before revisions existed counts as revision 0001). The server "
        "refuses an older schema until this has run; back the database up first.",
    )

    rescore = _action(
        commands,
        "rescore",
        _rescore,
        help="rescore every stored submission with new keys",
        description="Recompute the public, private and overall scores of every stored "
        "submission from the keys in --keys, in one transaction: if any stored file does not "
        "fit the new keys, nothing changes. Restart the server with the same --keys after.",
    )
    add_keys(rescore, help="the new hidden answer-key directory")
    _add_course(rescore)

    export = _action(
        commands,
        "export",
        _export,
        help="export final scores",
        description="Write student,task,public,private: per student, the selected submission "
        "among those made by their own deadline (late penalty and checkpoint multiplier "
        "applied; see --course). `facekit grades` reads this file.",
    )
    _add_course(export)
    add_out(export, "CSV path, - for stdout", required=False, default=Path("-"))
    export.add_argument(
        "--details",
        action="store_true",
        help="add submission_id, raw_private, late_days, checkpoint_met (not for grades)",
    )
