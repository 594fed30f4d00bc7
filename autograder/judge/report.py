"""A student's grade: per component, per case, with feedback; Gradescope JSON and Markdown.

Much of the feedback quotes what the student controls (exception messages, source lines, names,
the notebook's file name). In report.md every such text is shown verbatim as code: `code_span`
(inline, on one line) or `code_block` (fenced), each delimited by more backticks than the text
holds in a row. Code renders as plain text, so it cannot forge a "Total" line, a heading, a link
or HTML, and the file still reads (and greps) as the words themselves.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder.judge.hints import hint_text
from facekit.sandbox_side.judge_worker import Status

# Gradescope shows "visible" results to the student right away; our feedback never contains
# reference code or expected values, only what was run and how it differed.
VISIBILITY = "visible"
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


def _fence(text: str, shortest: int) -> str:
    """More backticks than the longest run of them in `text` (and at least `shortest`)."""
    return "`" * max(shortest, max(map(len, re.findall(r"`+", text)), default=0) + 1)


def code_span(text: str) -> str:
    """`text` as inline code on one line (line breaks become spaces, so it cannot start a new
    block); the padding spaces are dropped by CommonMark, so the text shows exactly."""
    text = _LINE_BREAKS.sub(" ", text)
    fence = _fence(text, 1)
    return f"{fence} {text} {fence}"


def code_block(text: str) -> list[str]:
    """Lines of a fenced code block showing `text` verbatim: the fence is longer than the
    longest run of backticks in it, so the text cannot close the block early."""
    return [_fence(text, 3), *text.splitlines(), _fence(text, 3)]


@dataclass(frozen=True)
class CaseResult:
    """One rubric case: points earned out of `max_points`, and what happened when it failed."""

    name: str
    points: float
    max_points: float
    summary: str  # what was run, for a person
    problems: tuple[str, ...] = ()  # what differed; empty when the case passed
    hints: tuple[str, ...] = ()  # hint ids (hints.HINTS)
    status: Status = Status.OK  # how the student's code answered

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ComponentResult:
    """A graded component (nbgrader grade_id) and its cases."""

    id: str
    class_name: str
    cases: tuple[CaseResult, ...]
    notes: tuple[str, ...] = ()  # component-wide findings (not implemented, load errors...)
    hints: tuple[str, ...] = ()  # component-wide hint ids (patterns across cases)

    @property
    def points(self) -> float:
        return round(sum(case.points for case in self.cases), 6)

    @property
    def max_points(self) -> float:
        return sum(case.max_points for case in self.cases)

    @property
    def hint_ids(self) -> tuple[str, ...]:
        """Every hint id given for this component, each once, in order."""
        ids = [*self.hints, *(hint for case in self.cases for hint in case.hints)]
        return tuple(dict.fromkeys(ids))

    def feedback(self) -> str:
        """Plain-text feedback for this component: its notes, then each case's outcome."""
        lines = list(self.notes) + [f"hint: {hint_text(hint)}" for hint in self.hints]
        for case in self.cases:
            verdict = "passed" if case.passed else "FAILED"
            lines.append(
                f"[{verdict}] {case.name} ({_number(case.points)}/{_number(case.max_points)}): "
                f"{case.summary}"
            )
            lines.extend(f"    - {problem}" for problem in case.problems)
            lines.extend(f"    hint: {hint_text(hint)}" for hint in case.hints)
        return "\n".join(lines)


@dataclass(frozen=True)
class StudentReport:
    """The grade of one notebook. `notes` are notebook-wide findings (extraction decisions).

    `seed` is the grading seed the cases' weights and inputs were drawn from (staff reproduce a
    grading with it); `cell_errors` the cells that raised when the module loaded, as data."""

    notebook: str
    components: tuple[ComponentResult, ...]
    notes: tuple[str, ...] = field(default=())
    seed: int | None = None
    cell_errors: tuple[dict, ...] = ()

    def component_points(self) -> dict[str, float]:
        """Points per rubric component id, in rubric order."""
        return {component.id: component.points for component in self.components}

    @property
    def total(self) -> float:
        return round(sum(component.points for component in self.components), 6)

    @property
    def max_total(self) -> float:
        return sum(component.max_points for component in self.components)

    def _seed_line(self) -> str:
        return f"grading seed {self.seed} (inputs and weights are drawn fresh for every grading)"

    def to_gradescope(self) -> dict:
        """Gradescope's results.json: one test per component, its feedback as output, and the
        machine-readable part (seed, hint and recognised-bug ids, cell errors) as extra_data."""
        notes = [*self.notes, self._seed_line()] if self.seed is not None else list(self.notes)
        return {
            "score": self.total,
            "output": "\n".join(notes),
            "visibility": VISIBILITY,
            "stdout_visibility": "hidden",
            "extra_data": {"seed": self.seed, "cell_errors": list(self.cell_errors)},
            "tests": [
                {
                    "name": f"{component.class_name} ({component.id})",
                    "score": component.points,
                    "max_score": component.max_points,
                    "output": component.feedback(),
                    "visibility": VISIBILITY,
                    "tags": [component.id],  # the Gradescope bundle sets visibility by id
                    "extra_data": {
                        "component": component.id,
                        "hints": list(component.hint_ids),
                        "failed_cases": [case.name for case in component.cases if not case.passed],
                        "statuses": {case.name: str(case.status) for case in component.cases},
                    },
                }
                for component in self.components
            ],
        }

    def to_markdown(self) -> str:
        """A readable report: the score table, then the feedback of every component. Text the
        student controls is escaped or fenced (see the module docstring)."""
        lines = [
            f"# Autograder report: {code_span(Path(self.notebook).name)}",
            "",
            f"**Total: {_number(self.total)} / {_number(self.max_total)}**",
            "",
        ]
        if self.seed is not None:
            lines += [self._seed_line().capitalize(), ""]
        if self.notes:
            lines += ["## Notes on your notebook", ""]
            lines += code_block("\n".join(f"- {note}" for note in self.notes)) + [""]
        lines += ["| component | points |", "|---|---|"]
        lines += [
            f"| {c.class_name} (`{c.id}`) | {_number(c.points)} / {_number(c.max_points)} |"
            for c in self.components
        ]
        for component in self.components:
            lines += ["", f"## {component.class_name} (`{component.id}`)", ""]
            lines += code_block(component.feedback())
        return "\n".join(lines) + "\n"

    def write(self, out_dir: Path) -> None:
        """Write `results.json` (Gradescope schema) and `report.md` into `out_dir`."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").write_text(
            json.dumps(self.to_gradescope(), indent=2) + "\n", encoding="utf-8"
        )
        (out_dir / "report.md").write_text(self.to_markdown(), encoding="utf-8")


def _number(value: float) -> str:
    return f"{value:g}"
