"""Domain errors of scoring: a student's bad submission versus a staff-side fault."""

from dataclasses import dataclass

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


class InvalidSubmission(Exception):
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


class KeysError(Exception):
    """The hidden answer keys are missing or malformed: a staff error, never the student's."""


class GradesInputError(Exception):
    """A CSV given to `facekit grades` (gradebook, leaderboard export, roster, manual points,
    overrides) is invalid: the person's input (exit 1)."""


class CourseConfigError(Exception):
    """The course file is missing or invalid: a staff setup error (exit 2)."""


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
