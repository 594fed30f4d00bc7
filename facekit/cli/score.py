"""`facekit score`, `facekit grades` and `facekit kaggle-bundle`: wiring only.

Exit codes: 0 success, 1 the person's input is invalid (a submission, gradebook, roster, manual
points or overrides), 2 usage or staff setup (answer keys, course file).
"""

import argparse
import sys
from pathlib import Path

from facekit.base.contract import KEYS_CLS, KEYS_VER, SAMPLE_SUBMISSIONS, TASKS, VERIFICATION
from facekit.base.csv_reader import DEFAULT_MAX_BYTES

EXIT_INVALID_INPUT = 1
EXIT_USAGE = 2  # also staff setup: answer keys, course file
_COURSE_HELP = "course file whose [metrics] table sets the task metric (default: accuracy, ROC AUC)"


def _fail(command: str, message: str, code: int) -> int:
    print(f"facekit {command}: {message}", file=sys.stderr)
    return code


def _score(args: argparse.Namespace) -> int:
    from autograder.scoring.course_config import load_task_metrics
    from autograder.scoring.report import format_score, save_roc_plot
    from autograder.scoring.score import score_parsed
    from autograder.scoring.submission import parse_submission
    from facekit.base.errors import CourseConfigError, InvalidSubmission, KeysError
    from facekit.base.keys import load_keys
    from facekit.base.metrics import roc_auc, roc_curve

    if args.plot is not None and args.task != VERIFICATION:
        return _fail(
            "score", "--plot draws an ROC curve: it needs the verification task", EXIT_USAGE
        )
    try:
        metric = load_task_metrics(args.course)[args.task]
    except CourseConfigError as error:
        return _fail("score", str(error), EXIT_USAGE)
    try:
        keys = load_keys(args.task, args.keys)
        submission = parse_submission(keys, args.submission, max_bytes=args.max_bytes)
    except KeysError as error:
        return _fail("score", str(error), EXIT_USAGE)
    except InvalidSubmission as error:
        plural = "s" if error.count != 1 else ""
        # Unprefixed: the bad-CSV corpus's tests pin this first line.
        print(f"invalid submission ({error.count} problem{plural}), not scored:", file=sys.stderr)
        print(error, file=sys.stderr)
        return EXIT_INVALID_INPUT
    score = score_parsed(keys, submission, metric)
    print(format_score(score, args.submission.name))
    if args.plot is not None:
        curve = roc_curve(keys.labels, submission.values)
        try:
            save_roc_plot(
                curve, roc_auc(curve), score.details["eer"], args.plot, args.submission.name
            )
        except OSError as error:
            return _fail("score", f"cannot write the plot {args.plot}: {error}", EXIT_INVALID_INPUT)
        print(f"ROC plot written to {args.plot}")
    return 0


def _grades(args: argparse.Namespace) -> int:
    from autograder.scoring.course_config import load_course_config
    from autograder.scoring.grade_exports import grades_rows, write_grades
    from autograder.scoring.grade_inputs import read_manual, read_overrides, read_roster
    from autograder.scoring.grades import compute_grades, read_gradebook, read_leaderboard_export
    from facekit.base.errors import CourseConfigError, GradesInputError

    if args.format != "generic" and args.roster is None:
        return _fail("grades", f"--format {args.format} needs --roster (LMS ids)", EXIT_USAGE)
    try:
        config = load_course_config(args.config)
    except CourseConfigError as error:
        return _fail("grades", str(error), EXIT_USAGE)
    if args.manual is None and config.manual:
        return _fail(
            "grades",
            f"{args.config} declares manual components "
            f"({', '.join(config.manual)}): give their points with --manual",
            EXIT_USAGE,
        )
    try:
        gradebook = read_gradebook(args.gradebook, config)
        leaderboard = read_leaderboard_export(args.leaderboard)
        roster = None if args.roster is None else read_roster(args.roster)
        if roster is not None:
            students = {entry.student for entry in roster}
        else:
            students = set(gradebook) | {student for student, _task in leaderboard}
        manual = None if args.manual is None else read_manual(args.manual, config, students)
        overrides = (
            () if args.overrides is None else read_overrides(args.overrides, config, students)
        )
        grades, warnings = compute_grades(
            config, gradebook, leaderboard, roster=roster, manual=manual, overrides=overrides
        )
    except GradesInputError as error:
        return _fail("grades", str(error), EXIT_INVALID_INPUT)
    for warning in warnings:
        print(f"facekit grades: warning: {warning}", file=sys.stderr)
    try:
        changed = write_grades(args.out, *grades_rows(grades, config, args.format))
    except OSError as error:
        return _fail("grades", f"cannot write {args.out}: {error}", EXIT_INVALID_INPUT)
    print(
        f"{args.format} grades for {len(grades)} students in {args.out}: "
        f"{len(changed)} row{'s' if len(changed) != 1 else ''} written"
        + (f" ({', '.join(changed)})" if 0 < len(changed) <= 10 else "")
    )
    return 0


def _kaggle_bundle(args: argparse.Namespace) -> int:
    from autograder.scoring.course_config import load_task_metrics
    from autograder.scoring.kaggle import write_kaggle_bundle
    from facekit.base.errors import CourseConfigError, KeysError

    try:
        written = write_kaggle_bundle(
            args.keys, args.out, args.comp, load_task_metrics(args.course)
        )
    except CourseConfigError as error:
        return _fail("kaggle-bundle", str(error), EXIT_USAGE)
    except KeysError as error:
        return _fail("kaggle-bundle", str(error), EXIT_USAGE)
    except OSError as error:
        return _fail(
            "kaggle-bundle", f"cannot write the bundle to {args.out}: {error}", EXIT_INVALID_INPUT
        )
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
        "--keys", type=Path, required=True, help=f"directory holding {KEYS_CLS} / {KEYS_VER}"
    )
    score.add_argument(
        "--plot", type=Path, default=None, help="write the ROC curve to this image (verification)"
    )
    score.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="reject larger submissions"
    )
    score.add_argument("--course", type=Path, default=None, help=_COURSE_HELP)
    score.set_defaults(handler=_score)

    grades = subcommands.add_parser(
        "grades",
        help="join the judge's gradebook, leaderboard scores, manual points and overrides",
        description="Notebook points from the judge's gradebook plus leaderboard points from "
        "each student's PRIVATE score (cutoffs in the course config), manual components and "
        "overrides, one row per student, as a generic, Canvas or Gradescope CSV.",
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
    grades.add_argument(
        "--roster",
        type=Path,
        default=None,
        help="roster CSV: student,lms_id,leaderboard_name[,sis_user_id,sis_login_id,section,email]",
    )
    grades.add_argument(
        "--manual",
        type=Path,
        default=None,
        help="points of the course file's [manual] components: student,<component>...",
    )
    grades.add_argument(
        "--overrides",
        type=Path,
        default=None,
        help="overrides applied last: student,component,points,reason",
    )
    grades.add_argument(
        "--format",
        choices=("generic", "canvas", "gradescope"),
        default="generic",
        help="generic CSV, Canvas gradebook import or Gradescope scores (these two need --roster)",
    )
    grades.add_argument(
        "--out",
        type=Path,
        required=True,
        help="grades CSV to write; an existing one is updated row by row",
    )
    grades.set_defaults(handler=_grades)

    bundle = subcommands.add_parser(
        "kaggle-bundle",
        help="write solution.csv and sample_submission.csv per task for a Kaggle competition",
        description="Write OUT/<task>/solution.csv (with Kaggle's Usage column), "
        "OUT/<task>/sample_submission.csv and OUT/<task>/evaluation.md (the metric, for the "
        "competition's description) for classification and verification.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    bundle.add_argument(
        "--keys", type=Path, required=True, help=f"directory holding {KEYS_CLS} / {KEYS_VER}"
    )
    bundle.add_argument(
        "--comp",
        type=Path,
        default=None,
        help=f"competition directory whose {SAMPLE_SUBMISSIONS}/ to use (else generated from keys)",
    )
    bundle.add_argument("--course", type=Path, default=None, help=_COURSE_HELP)
    bundle.add_argument("--out", type=Path, required=True, help="output directory")
    bundle.set_defaults(handler=_kaggle_bundle)
