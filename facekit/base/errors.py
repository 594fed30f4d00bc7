"""The kit's errors: one root, three kinds, one exit code per kind for every command.

Every error the kit raises on purpose derives from exactly one kind:
- `InputError` (exit 1): the person's input is invalid (a CSV, a notebook, a roster): they can fix
  it. A flagged result (a model that does not reproduce) also exits 1, without an error.
- `SetupError` (exit 2): usage or the staff's setup (keys, rubric, course file, a sandbox this
  machine cannot give).
- `KitFault` (exit 3): the kit's own fault (the grader cannot run the reference, a worker cannot
  start). A grader fault is never a student's zero.
`facekit.cli.main` turns each into `facekit <command>: <message>` and its exit code; this module
is the one place that says which code means what.
"""

from dataclasses import dataclass
from typing import ClassVar

EXIT_OK = 0


class FacekitError(Exception):
    """Root of the kit's errors. Raise one of its three kinds, never this class itself."""

    exit_code: ClassVar[int]
    kind: ClassVar[str]


class InputError(FacekitError):
    """The person's input is invalid (a CSV, a notebook, a roster): fixable by them."""

    exit_code = 1
    kind = "invalid input"


class SetupError(FacekitError):
    """Usage or the staff's setup (keys, rubric, course file, the machine) is wrong."""

    exit_code = 2
    kind = "usage or setup"


class KitFault(FacekitError):
    """The kit itself failed (the reference does not pass its own grader, a worker cannot start)."""

    exit_code = 3
    kind = "the kit's own fault"


ERROR_KINDS: tuple[type[FacekitError], ...] = (InputError, SetupError, KitFault)
"""Every kind, in exit-code order: what `facekit --help` and the README document."""

MAX_PROBLEMS_SHOWN = 20
"""How many problems an error message lists before summarising the rest as 'and N more'."""


@dataclass(frozen=True)
class SubmissionProblem:
    """One precise defect in a CSV file: where it is (file, line, column) and what is wrong."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


def format_problems(problems: list[SubmissionProblem], omitted: int = 0) -> str:
    """One problem per line, the first MAX_PROBLEMS_SHOWN of them, then 'and N more'."""
    lines = [str(problem) for problem in problems[:MAX_PROBLEMS_SHOWN]]
    more = len(problems) - len(lines) + omitted
    if more:
        lines.append(f"... and {more} more problem{'s' if more != 1 else ''}")
    return "\n".join(lines)


class InvalidSubmission(InputError):
    """A submission failed validation; raised before any scoring. `str()` lists every problem.

    `problems` holds the first problems found (up to a cap, see `ProblemList`); `omitted` counts
    the ones beyond the cap so a million bad rows do not take a million objects.
    """

    def __init__(self, problems: list[SubmissionProblem], omitted: int = 0) -> None:
        self.problems = list(problems)
        self.omitted = omitted
        super().__init__(format_problems(self.problems, omitted))

    @property
    def count(self) -> int:
        """Total number of problems found, listed or not."""
        return len(self.problems) + self.omitted


class KeysError(SetupError):
    """The hidden answer keys are missing or malformed: a staff error, never the student's."""


class GradesInputError(InputError):
    """A CSV given to `facekit grades` (gradebook, leaderboard export, roster, manual points,
    overrides) is invalid: the person's input (exit 1)."""


class ConfigError(SetupError):
    """A config file the staff wrote (course file, rubric, training config) is missing or
    invalid; the message names the file, the table and the key (`facekit.base.tables`)."""


class ProblemList:
    """Collects problems in file order, keeping at most `cap` of them and counting the rest."""

    def __init__(self, file: str, cap: int = 1000) -> None:
        self.file = file
        self.cap = cap
        self.problems: list[SubmissionProblem] = []
        self.omitted = 0

    def add(self, line: int | None, column: str | None, message: str) -> None:
        """Record one problem at `line` (1-based, None for the whole file) and `column`."""
        if len(self.problems) < self.cap:
            self.problems.append(SubmissionProblem(self.file, line, column, message))
        else:
            self.omitted += 1

    def __bool__(self) -> bool:
        return bool(self.problems)

    def __str__(self) -> str:
        return format_problems(self.problems, self.omitted)
