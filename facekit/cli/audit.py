"""`facekit audit`: after the deadline, check that each student's model produced their CSVs."""

import argparse
import os
from pathlib import Path

from autograder.rescore.grade_model import GradeModelTables
from facekit.cli.options import add_comp, add_course, add_keys, add_out

DESCRIPTION = (
    "For each CLASS/<student>/ (notebook, checkpoint, final CSVs): grade-model "
    "in the sandbox, then one label: uses library modules, could not run, over budget, "
    "does not reproduce, or reproduces. Resumable: unchanged students are not redone."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `facekit audit`."""
    parser.add_argument("class_dir", type=Path, help="folder with one folder per student")
    add_comp(parser)
    add_keys(parser)
    add_out(parser, "folder for the audit")
    add_course(
        parser, GradeModelTables, "course file ([grade_model] table)", option="--course-config"
    )
    parser.add_argument("--only", nargs="+", default=[], help="audit only these students")
    parser.add_argument(
        "--scores", type=Path, default=None, help="CSV student,score: pick by --top/--cutoffs"
    )
    parser.add_argument("--top", type=int, default=0, help="with --scores: the best K students")
    parser.add_argument(
        "--cutoffs",
        type=float,
        nargs="*",
        default=[],
        help="with --scores: also every student within --margin of these grade cut-offs",
    )
    parser.add_argument("--margin", type=float, default=1.0, help="distance to a cut-off")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="students at once")
    parser.add_argument("--gpu", action="store_true", help="let the sandboxed workers use CUDA")
    parser.add_argument("--force", action="store_true", help="redo students already audited")


def run(args: argparse.Namespace) -> int:
    """Audit the chosen students; 1 when any of them is flagged (does not reproduce...)."""
    from autograder.audit.inputs import find_students, read_scores, select_students
    from autograder.audit.report import AUDIT_HTML, write_audit_report
    from autograder.audit.run import AuditSettings, audit_class
    from autograder.audit.verdict import REPRODUCES

    only = list(args.only)
    if args.scores is not None:
        scores = read_scores(args.scores)
        only += select_students(scores, args.top, args.cutoffs, args.margin)
    students = find_students(args.class_dir, only)
    settings = AuditSettings(
        args.comp, args.keys, args.course_config, args.gpu, args.jobs, args.force, True
    )
    verdicts, resumed = audit_class(students, settings, args.out)
    notes = [f"{len(verdicts)} students audited ({resumed} unchanged since the last run)"]
    if resumed:
        notes[0] += "; use --force to redo them"
    write_audit_report(args.out, verdicts, notes)
    flagged = [v for v in verdicts if v.label != REPRODUCES]
    for verdict in verdicts:
        print(f"{verdict.student}: {verdict.label}")
    print(f"{notes[0]}; {len(flagged)} flagged; table: {args.out / AUDIT_HTML}")
    return 1 if flagged else 0
