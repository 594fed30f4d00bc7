"""The `facekit` command line: one module per command, and the one place errors become exit codes.

COMMANDS names each command, its module and its one-line help. A command module holds
`DESCRIPTION` (its --help text), an optional `EPILOG` (`options.add_course` sets the epilog of
a course-file option), `add_arguments(parser)` and `run(args) ->
int`, which calls the package that does the work and returns an exit code (0, or 1 for a flagged
result); a command with sub-actions (data, leaderboard) declares them in a table of
`options.Action`s instead, each with its own handler.
Errors are not caught there: `main` turns any
`FacekitError` into `facekit <command>: <message>` on stderr and its kind's exit code, and any
other exception into exit 3 (the kit's own fault; FACEKIT_DEBUG=1 prints its traceback).
"""

import argparse
import importlib
import os
import sys
import textwrap
import traceback
from collections.abc import Sequence
from dataclasses import dataclass

from facekit.base.errors import (
    ERROR_KINDS,
    EXIT_OK,
    FacekitError,
    InputError,
    KitFault,
    SetupError,
)
from facekit.cli.options import HelpFormatter, add_subcommand


@dataclass(frozen=True)
class Command:
    """One `facekit` command: its name, the module that implements it, its one-line help."""

    name: str
    module: str
    help: str


# In the order the commands appear in --help.
COMMANDS = (
    Command("data", "facekit.cli.data", "build and check the competition data"),
    Command(
        "release",
        "facekit.cli.release",
        "build handout/hw2p2.ipynb from the source notebook with nbgrader",
    ),
    Command(
        "grade",
        "facekit.cli.grade",
        "grade submitted notebooks in the sandbox; write reports and a gradebook",
    ),
    Command(
        "similarity",
        "facekit.cli.similarity",
        "rank pairs of notebooks by shared graded code (copied work)",
    ),
    Command(
        "audit",
        "facekit.cli.audit",
        "re-score every student's checkpoint and label who reproduces their CSVs",
    ),
    Command(
        "gradescope-bundle",
        "facekit.cli.gradescope_bundle",
        "write autograder.zip for a Gradescope programming assignment",
    ),
    Command(
        "score",
        "facekit.cli.score",
        "validate a submission CSV against the answer keys and score it",
    ),
    Command(
        "grades",
        "facekit.cli.grades",
        "join the judge's gradebook, leaderboard scores, manual points and overrides",
    ),
    Command(
        "kaggle-bundle",
        "facekit.cli.kaggle_bundle",
        "write solution.csv and sample_submission.csv per task for a Kaggle competition",
    ),
    Command(
        "leaderboard",
        "facekit.cli.leaderboard",
        "run the leaderboard web service and manage it (staff)",
    ),
    Command("submit", "facekit.cli.submit", "submit a CSV to the leaderboard"),
    Command("train", "facekit.cli.train", "train the reference Network (CPU, GPU or torchrun/DDP)"),
    Command(
        "grade-model",
        "facekit.cli.grade_model",
        "re-score a student's checkpoint with their own Network, sandboxed",
    ),
    Command("demo", "facekit.cli.demo", "run the whole pipeline on a small synthetic dataset"),
)
DEBUG_ENV = "FACEKIT_DEBUG"
EXIT_INTERRUPTED = 130


def exit_codes_epilog() -> str:
    """The exit-code contract of every command, from `ERROR_KINDS` (README.md quotes it)."""
    notes = {
        InputError: " Also a flagged result (data check problems, a model that does not "
        "reproduce).",
        SetupError: " Also a command-line usage error.",
    }
    lines = ["exit status, the same for every command:", f"  {EXIT_OK}  success"]
    for kind in ERROR_KINDS:
        text = f"{kind.kind}. {kind.__doc__}{notes.get(kind, '')}"
        lines.append(
            textwrap.fill(
                text, 92, initial_indent=f"  {kind.exit_code}  ", subsequent_indent="     "
            )
        )
    lines.append(
        f"Errors read `facekit COMMAND: MESSAGE` on stderr; {DEBUG_ENV}=1 adds the traceback "
        "of the kit's own faults."
    )
    return "\n".join(lines)


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with every command registered, and the options of the `chosen` one.

    Only the chosen command's module is imported: every other is listed by its one-line help
    alone, since importing them all would import torch and torchvision, seconds of start-up for
    any command (and for `facekit --help`)."""
    top = argparse.ArgumentParser(
        prog="facekit",
        description="Starter kit and autograder for the HW2P2 face classification and "
        "verification homework.",
        epilog=exit_codes_epilog(),
        formatter_class=HelpFormatter,
    )
    subcommands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        if command.name != chosen:
            subcommands.add_parser(command.name, help=command.help)
            continue
        module = importlib.import_module(command.module)
        parser = add_subcommand(
            subcommands,
            command.name,
            getattr(module, "run", None),
            help=command.help,
            description=module.DESCRIPTION,
            epilog=getattr(module, "EPILOG", None),
        )
        module.add_arguments(parser)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the chosen command and return its exit code (see `exit_codes_epilog`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = argv[0] if argv and not argv[0].startswith("-") else None
    args = build_parser(chosen).parse_args(argv)  # a usage error exits 2 here (argparse)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except FacekitError as error:
        return _report(args.command, error)
    except Exception as error:  # noqa: BLE001 - whatever escapes is the kit's fault: say so
        fault = KitFault(
            f"the kit failed ({type(error).__name__}: {error}); this is a bug in facekit, not "
            f"your input: please report it with the traceback ({DEBUG_ENV}=1 shows it)"
        )
        return _report(args.command, fault)


def _report(command: str, error: FacekitError) -> int:
    """Print `facekit COMMAND: MESSAGE` on stderr (after the traceback with FACEKIT_DEBUG=1);
    return the error's exit code."""
    if os.environ.get(DEBUG_ENV):
        traceback.print_exc()
    print(f"facekit {command}: {error}", file=sys.stderr)
    return error.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
