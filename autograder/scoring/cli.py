"""`facekit score`, `facekit grades` and `facekit kaggle-bundle`: wiring only.

Exit codes: 0 success, 1 the user's input is invalid (a submission, gradebook or config),
3 a staff-side error (bad answer keys).
"""

import argparse
import sys
from pathlib import Path

from autograder.scoring.csv_reader import DEFAULT_MAX_BYTES
from autograder.scoring.formats import TASKS

EXIT_INVALID_INPUT = 1
EXIT_STAFF_ERROR = 3


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def _score(args: argparse.Namespace) -> int:
    from autograder.scoring.errors import InvalidSubmission, KeysError
    from autograder.scoring.keys import load_keys
    from autograder.scoring.metrics import roc_curve
    from autograder.scoring.report import format_score, save_roc_plot
    from autograder.scoring.score import score_parsed
    from autograder.scoring.submission import parse_submission

    if args.plot is not None and args.task != "verification":
        return _fail("error: --plot draws an ROC curve: it needs the verification task", 2)
    try:
        keys = load_keys(args.task, args.keys)
        submission = parse_submission(keys, args.submission, max_bytes=args.max_bytes)
    except KeysError as error:
        return _fail(f"error: {error}", EXIT_STAFF_ERROR)
    except InvalidSubmission as error:
        plural = "s" if error.count != 1 else ""
        header = f"invalid submission ({error.count} problem{plural}), not scored:"
        return _fail(f"{header}\n{error}", EXIT_INVALID_INPUT)
    score = score_parsed(keys, submission)
    print(format_score(score, args.submission.name))
    if args.plot is not None:
        curve = roc_curve(keys.labels, submission.values)
        try:
            save_roc_plot(
                curve, score.overall, score.details["eer"], args.plot, args.submission.name
            )
        except OSError as error:
            return _fail(f"error: cannot write the plot {args.plot}: {error}", EXIT_INVALID_INPUT)
        print(f"ROC plot written to {args.plot}")
    return 0


def _grades(args: argparse.Namespace) -> int:
    from autograder.scoring.course_config import load_course_config
    from autograder.scoring.errors import GradesInputError
    from autograder.scoring.grades import (
        compute_grades,
        grades_csv,
        read_gradebook,
        read_leaderboard_export,
    )

    try:
        config = load_course_config(args.config)
        gradebook = read_gradebook(args.gradebook, config)
        leaderboard = read_leaderboard_export(args.leaderboard)
    except GradesInputError as error:
        return _fail(f"error: {error}", EXIT_INVALID_INPUT)
    grades, warnings = compute_grades(config, gradebook, leaderboard)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(grades_csv(grades, config), encoding="utf-8", newline="")
    except OSError as error:
        return _fail(f"error: cannot write {args.out}: {error}", EXIT_INVALID_INPUT)
    print(f"wrote grades for {len(grades)} students to {args.out}")
    return 0


def _kaggle_bundle(args: argparse.Namespace) -> int:
    from autograder.scoring.errors import KeysError
    from autograder.scoring.kaggle import write_kaggle_bundle

    try:
        written = write_kaggle_bundle(args.keys, args.out, args.comp)
    except KeysError as error:
        return _fail(f"error: {error}", EXIT_STAFF_ERROR)
    except OSError as error:
        return _fail(f"error: cannot write the bundle to {args.out}: {error}", EXIT_INVALID_INPUT)
    for path in written:
        print(f"wrote {path}")
    return 0


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add `score`, `grades` and `kaggle-bundle`."""
    score = subcommands.add_parser(
        "score",
        help="validate a submission CSV against the answer keys and score it",
        description="Validate a submission CSV (every problem is reported with file, line and "
        "column) and print its public, private and overall scores.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    score.add_argument("task", choices=TASKS, help="which leaderboard task the CSV is for")
    score.add_argument("submission", type=Path, help="the submission CSV")
    score.add_argument(
        "--keys", type=Path, required=True, help="directory holding cls_test.csv / ver_test.csv"
    )
    score.add_argument(
        "--plot", type=Path, default=None, help="write the ROC curve to this image (verification)"
    )
    score.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="reject larger submissions"
    )
    score.set_defaults(handler=_score)

    grades = subcommands.add_parser(
        "grades",
        help="join the judge's gradebook and the leaderboard scores into one grades CSV",
        description="Notebook points from the judge's gradebook plus leaderboard points from "
        "each student's PRIVATE score (cutoffs in the course config), one row per student.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    grades.add_argument(
        "--config",
        type=Path,
        required=True,
        help="course config TOML (see autograder/scoring/course_example.toml)",
    )
    grades.add_argument(
        "--gradebook", type=Path, required=True, help="judge gradebook: student,<components>,total"
    )
    grades.add_argument(
        "--leaderboard",
        type=Path,
        required=True,
        help="leaderboard export: student,task,public,private",
    )
    grades.add_argument("--out", type=Path, required=True, help="grades CSV to write")
    grades.set_defaults(handler=_grades)

    bundle = subcommands.add_parser(
        "kaggle-bundle",
        help="write solution.csv and sample_submission.csv per task for a Kaggle competition",
        description="Write OUT/<task>/solution.csv (with Kaggle's Usage column) and "
        "OUT/<task>/sample_submission.csv for classification and verification.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    bundle.add_argument(
        "--keys", type=Path, required=True, help="directory holding cls_test.csv / ver_test.csv"
    )
    bundle.add_argument(
        "--comp",
        type=Path,
        default=None,
        help="competition directory whose sample_submissions/ to use (else generated from keys)",
    )
    bundle.add_argument("--out", type=Path, required=True, help="output directory")
    bundle.set_defaults(handler=_kaggle_bundle)
