"""The options several commands share, each spelt once (--comp, --keys, --out, --db, a course
file with the epilog listing its tables), the actions of commands that have several (`Action`),
and the help formatter of commands whose epilog lists one item a line.

Every command names the competition directory `--comp COMP` (`data check` and `data stats` take
it as their positional COMP); `--data` stays a hidden alias of `--comp` for older scripts.
"""

import argparse
import inspect
import shutil
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from autograder.scoring.course_config import MetricsTables
from facekit.base.contract import KEYS_CLS, KEYS_VER
from facekit.base.tables import describe_keys

COMP_METAVAR = "COMP"
COMP_HELP = "competition directory"
KEYS_METAVAR = "KEYS"
KEYS_HELP = f"hidden answer-key directory ({KEYS_CLS}, {KEYS_VER})"
COURSE_METRICS_HELP = (
    "course file whose [metrics] table sets the task metric (default: accuracy, ROC AUC)"
)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the help, and descriptions and epilogs kept as written (one item a line)."""


def add_comp(
    parser: argparse.ArgumentParser, *, required: bool = True, help: str = COMP_HELP
) -> None:
    """`--comp COMP` (into `args.comp`), with `--data` as a hidden alias."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--comp", type=Path, metavar=COMP_METAVAR, help=help)
    group.add_argument("--data", type=Path, dest="comp", help=argparse.SUPPRESS)


def add_comp_positional(parser: argparse.ArgumentParser, help: str = COMP_HELP) -> None:
    """COMP as the command's positional argument (into `args.comp`)."""
    parser.add_argument("comp", type=Path, metavar=COMP_METAVAR, help=help)


def add_keys(
    parser: argparse.ArgumentParser, *, required: bool = True, help: str = KEYS_HELP
) -> None:
    """`--keys KEYS` (into `args.keys`): the hidden answer keys, never inside COMP."""
    parser.add_argument(
        "--keys", type=Path, required=required, default=None, metavar=KEYS_METAVAR, help=help
    )


def add_out(
    parser: argparse.ArgumentParser,
    help: str,
    *,
    required: bool = True,
    default: Path | None = None,
    metavar: str = "OUT",
) -> None:
    """`--out OUT` (into `args.out`): where the command writes; `help` says what it writes."""
    parser.add_argument(
        "--out",
        type=Path,
        required=required,
        default=None if required else default,
        metavar=metavar,
        help=help,
    )


def add_db(parser: argparse.ArgumentParser, default: str) -> None:
    """`--db URL` (into `args.db`): the leaderboard's SQLAlchemy database URL."""
    parser.add_argument(
        "--db",
        default=default,
        metavar="URL",
        help="SQLAlchemy database URL (sqlite:///FILE or postgresql+psycopg://USER@HOST/NAME)",
    )


def add_course(
    parser: argparse.ArgumentParser,
    tables: type,
    help: str,
    *,
    option: str = "--course",
    default: Path | None = None,
    required: bool = False,
) -> None:
    """The course-file option `option` and the epilog listing the tables the command reads from
    that file (`tables`' fields): both name the option from here, so they cannot drift apart."""
    parser.add_argument(option, type=Path, required=required, default=default, help=help)
    parser.epilog = (
        f"course file tables read from {option} (other tools' tables are ignored; an unknown "
        f"key is an error):\n{describe_keys(tables)}"
    )


def add_course_metrics(parser: argparse.ArgumentParser) -> None:
    """`--course COURSE`: the course file whose [metrics] table sets each task's metric."""
    add_course(parser, MetricsTables, COURSE_METRICS_HELP)


def wrapped(description: str) -> str:
    """A one-paragraph description wrapped to the terminal; one of several paragraphs kept as it
    is (the help formatter keeps descriptions and epilogs raw, for the epilogs' key lists)."""
    if "\n\n" in description.strip():
        return description
    width = min(shutil.get_terminal_size().columns, 100) - 2
    return textwrap.fill(description, width)


def add_subcommand(
    commands: argparse._SubParsersAction,
    name: str,
    handler: Callable[[argparse.Namespace], int] | None,
    *,
    help: str,
    description: str,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """A command's (or a command's action's) parser in the house style, running `handler`."""
    parser = commands.add_parser(
        name,
        help=help,
        description=wrapped(description),
        epilog=epilog,
        formatter_class=HelpFormatter,
    )
    if handler is not None:
        parser.set_defaults(handler=handler)
    return parser


@dataclass(frozen=True)
class Action:
    """One action of a command that has several (`facekit data build`, `facekit leaderboard
    serve`). As in click, the docstring of `run` is the action's --help description."""

    name: str
    help: str  # the action's line in its command's --help
    run: Callable[[argparse.Namespace], int]
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None  # its own options


def add_actions(
    parser: argparse.ArgumentParser,
    actions: Sequence[Action],
    *,
    dest: str,
    metavar: str,
    shared: Callable[[argparse.ArgumentParser], None] | None = None,
) -> None:
    """A parser per action under `parser` (the chosen name in `args.<dest>`): the options every
    action takes (`shared`) first, then the action's own."""
    commands = parser.add_subparsers(dest=dest, metavar=metavar, required=True)
    for action in actions:
        action_parser = add_subcommand(
            commands,
            action.name,
            action.run,
            help=action.help,
            description=inspect.cleandoc(action.run.__doc__),
        )
        if shared is not None:
            shared(action_parser)
        if action.add_arguments is not None:
            action.add_arguments(action_parser)
