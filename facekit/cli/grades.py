"""`facekit grades`: join the judge's gradebook, leaderboard scores, manual points and overrides."""

import argparse
import sys
from pathlib import Path

from autograder.scoring.course_config import GradesTables
from facekit.base.errors import InputError, SetupError
from facekit.cli.options import add_course, add_out

DESCRIPTION = (
    "Notebook points from the judge's gradebook plus leaderboard points from "
    "each student's PRIVATE score (cutoffs in the course config), manual components and "
    "overrides, one row per student, as a generic, Canvas or Gradescope CSV."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `facekit grades`."""
    add_course(
        parser,
        GradesTables,
        "course config TOML (see autograder/scoring/course_example.toml)",
        option="--config",
        required=True,
    )
    parser.add_argument(
        "--gradebook", type=Path, required=True, help="judge gradebook: student,<components>,total"
    )
    parser.add_argument(
        "--leaderboard",
        type=Path,
        required=True,
        help="leaderboard export: student,task,public,private",
    )
    parser.add_argument(
        "--roster",
        type=Path,
        default=None,
        help="roster CSV: student,lms_id,leaderboard_name[,sis_user_id,sis_login_id,section,email]",
    )
    parser.add_argument(
        "--manual",
        type=Path,
        default=None,
        help="points of the course file's [manual] components: student,<component>...",
    )
    parser.add_argument(
        "--overrides",
        type=Path,
        default=None,
        help="overrides applied last: student,component,points,reason",
    )
    parser.add_argument(
        "--format",
        choices=("generic", "canvas", "gradescope"),
        default="generic",
        help="generic CSV, Canvas gradebook import or Gradescope scores (these two need --roster)",
    )
    add_out(parser, "grades CSV to write; an existing one is updated row by row")


def run(args: argparse.Namespace) -> int:
    """Compute every student's grade and write (or update) the grades CSV."""
    from autograder.scoring.course_config import load_grades_config
    from autograder.scoring.grade_exports import grades_rows, write_grades
    from autograder.scoring.grade_inputs import read_manual, read_overrides, read_roster
    from autograder.scoring.grades import compute_grades, read_gradebook, read_leaderboard_export

    if args.format != "generic" and args.roster is None:
        raise SetupError(f"--format {args.format} needs --roster (LMS ids)")
    config = load_grades_config(args.config)
    if args.manual is None and config.manual:
        raise SetupError(
            f"{args.config} declares manual components "
            f"({', '.join(config.manual)}): give their points with --manual"
        )
    gradebook = read_gradebook(args.gradebook, config)
    leaderboard = read_leaderboard_export(args.leaderboard)
    roster = None if args.roster is None else read_roster(args.roster)
    if roster is not None:
        students = {entry.student for entry in roster}
    else:
        students = set(gradebook) | {student for student, _task in leaderboard}
    manual = None if args.manual is None else read_manual(args.manual, config, students)
    overrides = () if args.overrides is None else read_overrides(args.overrides, config, students)
    grades, warnings = compute_grades(
        config, gradebook, leaderboard, roster=roster, manual=manual, overrides=overrides
    )
    for warning in warnings:
        print(f"facekit grades: warning: {warning}", file=sys.stderr)
    try:
        changed = write_grades(args.out, *grades_rows(grades, config, args.format))
    except OSError as error:
        raise InputError(f"cannot write {args.out}: {error}") from error
    print(
        f"{args.format} grades for {len(grades)} students in {args.out}: "
        f"{len(changed)} row{'s' if len(changed) != 1 else ''} written"
        + (f" ({', '.join(changed)})" if 0 < len(changed) <= 10 else "")
    )
    return 0
