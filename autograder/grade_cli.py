"""`facekit grade`: grade submitted notebooks in batch into a gradebook and per-student reports."""

import argparse
import dataclasses
import sys
from pathlib import Path

from autograder.sandbox import (
    DEFAULT_MEMORY_BYTES,
    Limits,
    SandboxUnavailable,
    add_allow_weaker_argument,
    require_isolation,
)

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
    limits = parser.add_argument_group(
        "sandbox limits", "per sandboxed run; when none is given, the judge's defaults apply"
    )
    # SUPPRESS: absent unless given, so the judge's own defaults apply
    unset = argparse.SUPPRESS
    limits.add_argument("--wall-seconds", type=float, default=unset, help="wall-clock limit")
    limits.add_argument("--cpu-seconds", type=int, default=unset, help="CPU-time limit")
    limits.add_argument(
        "--memory-gib",
        type=float,
        default=unset,
        help=f"address-space limit (sandbox default {DEFAULT_MEMORY_BYTES / 2**30:g}; "
        "a plain `import torch` maps ~3.1)",
    )
    add_allow_weaker_argument(limits)
    parser.set_defaults(handler=run_grade)


def _limits(args: argparse.Namespace) -> Limits | None:
    """The limits given on the command line over the sandbox's defaults; None when none given."""
    given = {name: getattr(args, name) for name in ("wall_seconds", "cpu_seconds") if name in args}
    if "memory_gib" in args:
        given["memory_bytes"] = int(args.memory_gib * 2**30)
    return Limits(**given) if given else None


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
        limits = _limits(args)
        if args.allow_weaker_sandbox:
            from autograder.judge.judge import default_limits

            limits = dataclasses.replace(
                limits or default_limits(), allow_weaker=args.allow_weaker_sandbox
            )
        require_isolation(args.allow_weaker_sandbox)
        submissions = find_submissions(args.paths)
        outcomes = grade_batch(
            submissions, args.out, jobs=args.jobs, limits=limits, use_cache=not args.force
        )
    except (BatchError, SandboxUnavailable, ValueError) as error:
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
