"""`facekit grade`: grade submitted notebooks in batch into a gradebook and per-student reports."""

import argparse
import sys
from pathlib import Path

from autograder.sandbox import DEFAULT_MEMORY_BYTES, Limits

_DEFAULT_LIMITS = Limits()
EXIT_GRADER_ERRORS = 3


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add `facekit grade`."""
    parser = subcommands.add_parser(
        "grade",
        help="grade submitted notebooks in the sandbox; write reports and a gradebook",
        description="Grade notebooks (files, folders searched recursively, or an nbgrader "
        "course's submitted/<student>/<assignment>/ layout) and write DIR/<student>/results.json "
        "(Gradescope schema) and report.md, DIR/gradebook.csv and DIR/batch_log.csv. Unchanged "
        "notebooks already graded into DIR by the same grader are not graded again.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="notebooks or folders")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks graded at the same time")
    parser.add_argument(
        "--force", action="store_true", help="re-grade every notebook, ignoring the cache"
    )
    parser.add_argument(
        "--wall-seconds",
        type=float,
        default=_DEFAULT_LIMITS.wall_seconds,
        help="wall-clock limit of each sandboxed run",
    )
    parser.add_argument(
        "--cpu-seconds",
        type=int,
        default=_DEFAULT_LIMITS.cpu_seconds,
        help="CPU-time limit of each sandboxed process",
    )
    parser.add_argument(
        "--memory-gib",
        type=float,
        default=DEFAULT_MEMORY_BYTES / 2**30,
        help="address-space limit of each sandboxed process (a plain `import torch` maps ~3.1)",
    )
    parser.set_defaults(handler=run_grade)


def run_grade(args: argparse.Namespace) -> int:
    """Grade the batch; 0 when every notebook was graded, 3 when the grader itself failed on any."""
    from autograder.batch import (
        BATCH_LOG_NAME,
        GRADEBOOK_NAME,
        GRADER_ERROR,
        BatchError,
        find_submissions,
        grade_batch,
    )

    try:
        limits = Limits(
            cpu_seconds=args.cpu_seconds,
            memory_bytes=int(args.memory_gib * 2**30),
            wall_seconds=args.wall_seconds,
        )
        submissions = find_submissions(args.paths)
        outcomes = grade_batch(
            submissions, args.out, jobs=args.jobs, limits=limits, use_cache=not args.force
        )
    except (BatchError, ValueError) as error:
        print(f"facekit grade: {error}", file=sys.stderr)
        return 2
    errors = [outcome for outcome in outcomes if outcome.status == GRADER_ERROR]
    cached = sum(outcome.cached for outcome in outcomes)
    print(
        f"graded {len(outcomes)} notebook(s) ({cached} unchanged, from the cache); "
        f"gradebook: {args.out / GRADEBOOK_NAME}",
        file=sys.stderr,
    )
    if errors:
        print(
            f"facekit grade: the GRADER failed on {len(errors)} notebook(s) (no points recorded "
            f"for them; these are not the students' faults): "
            f"{', '.join(outcome.student for outcome in errors)}; see {args.out / BATCH_LOG_NAME}",
            file=sys.stderr,
        )
        return EXIT_GRADER_ERRORS
    return 0
