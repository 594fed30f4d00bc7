"""`facekit grade`: grade submitted notebooks in batch into a gradebook and per-student reports."""

import argparse
import dataclasses
import gc
import sys
from pathlib import Path

from autograder import sandbox_zygote
from autograder.sandbox import (
    DEFAULT_MEMORY_BYTES,
    Limits,
    add_allow_weaker_argument,
    require_isolation,
)
from facekit.base.errors import KitFault, SetupError
from facekit.cli.options import add_out

DESCRIPTION = (
    "Grade notebooks (files, folders searched recursively, or an nbgrader "
    "course's submitted/<student>/<assignment>/ layout) and write DIR/<student>/results.json "
    "(Gradescope schema) and report.md, DIR/gradebook.csv and DIR/batch_log.csv. Unchanged "
    "notebooks already graded into DIR by the same grader are not graded again."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `facekit grade`."""
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="notebooks or folders")
    add_out(parser, "output folder", metavar="DIR")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks graded at the same time")
    parser.add_argument(
        "--force", action="store_true", help="re-grade every notebook, ignoring the cache"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="grading seed of the cases' weights and inputs, to reproduce a report (each "
        "report records its seed; add --force for a notebook already graded into DIR); by "
        "default every grading draws a fresh one",
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


def _limits(args: argparse.Namespace) -> Limits | None:
    """The limits given on the command line over the sandbox's defaults; None when none given."""
    given = {name: getattr(args, name) for name in ("wall_seconds", "cpu_seconds") if name in args}
    if "memory_gib" in args:
        given["memory_bytes"] = int(args.memory_gib * 2**30)
    try:
        return Limits(**given) if given else None
    except ValueError as error:  # a limit that is not positive: usage
        raise SetupError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    """Grade the batch. Exit 0 when every notebook was graded; 1 when some were unreadable (a
    zero each); 3 when the grader failed its self-test (nothing written) or on any notebook."""
    if sandbox_zygote.warm_by_default():
        sandbox_zygote.spawn_early()  # its `import torch` overlaps the judge's, just below
    from autograder.batch import (
        BATCH_LOG_NAME,
        CACHE_NAME,
        GRADEBOOK_NAME,
        GRADER_ERROR,
        UNREADABLE,
        find_submissions,
        grade_batch,
    )

    # torch and the judge stay imported to the end: keep them out of every garbage collection,
    # the one at exit included (about 0.3 s)
    gc.freeze()
    limits = _limits(args)
    if args.allow_weaker_sandbox:
        from autograder.judge.judge import default_limits

        limits = dataclasses.replace(
            limits or default_limits(), allow_weaker=args.allow_weaker_sandbox
        )
    require_isolation(args.allow_weaker_sandbox)
    submissions = find_submissions(args.paths)
    if args.seed is not None and not 0 <= args.seed < 2**31:
        raise SetupError(f"--seed must be between 0 and 2**31 - 1, got {args.seed}")
    outcomes = grade_batch(
        submissions,
        args.out,
        jobs=args.jobs,
        limits=limits,
        use_cache=not args.force,
        seed=args.seed,
    )
    errors = [outcome.student for outcome in outcomes if outcome.status == GRADER_ERROR]
    unreadable = [outcome.student for outcome in outcomes if outcome.status == UNREADABLE]
    cached = sum(outcome.cached for outcome in outcomes)
    reused = (
        f"; {cached} unchanged, taken from {args.out / CACHE_NAME} (--force grades them again)"
        if cached
        else ""
    )
    graded = len(outcomes) - len(errors) - len(unreadable)
    print(
        f"facekit grade: {len(outcomes)} notebook(s): {graded} graded, {len(unreadable)} "
        f"unreadable, {len(errors)} grader error(s){reused}; "
        f"gradebook: {args.out / GRADEBOOK_NAME}",
        file=sys.stderr,
    )
    log = args.out / BATCH_LOG_NAME
    if errors:
        print(
            f"facekit grade: the GRADER failed on {len(errors)} notebook(s) (no points recorded "
            f"for them; not the students' fault): {_names(errors)}; see {log}",
            file=sys.stderr,
        )
        return KitFault.exit_code
    if unreadable:
        print(
            f"facekit grade: {len(unreadable)} notebook(s) could not be read (a zero each, with "
            f"the reason): {_names(unreadable)}; see {log}",
            file=sys.stderr,
        )
        return 1
    return 0


def _names(students: list[str]) -> str:
    """Up to ten student names for one line (their repr: a name may hold any character)."""
    shown = ", ".join(repr(student) for student in students[:10])
    return shown + (f" and {len(students) - 10} more" if len(students) > 10 else "")
