"""A student's grade: per component, per case, with feedback; Gradescope JSON and Markdown."""

import json
from dataclasses import dataclass, field
from pathlib import Path

# Gradescope shows "visible" results to the student right away; our feedback never contains
# reference code, only what was run and what differed.
VISIBILITY = "visible"


@dataclass(frozen=True)
class CaseResult:
    """One rubric case: points earned out of `max_points`, and what happened when it failed."""

    name: str
    points: float
    max_points: float
    summary: str  # what was run, for a person
    problems: tuple[str, ...] = ()  # what differed; empty when the case passed
    hints: tuple[str, ...] = ()

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

    @property
    def points(self) -> float:
        return round(sum(case.points for case in self.cases), 6)

    @property
    def max_points(self) -> float:
        return sum(case.max_points for case in self.cases)

    def feedback(self) -> str:
        """Plain-text feedback for this component: its notes, then each case's outcome."""
        lines = list(self.notes)
        for case in self.cases:
            verdict = "passed" if case.passed else "FAILED"
            lines.append(
                f"[{verdict}] {case.name} ({_number(case.points)}/{_number(case.max_points)}): "
                f"{case.summary}"
            )
            lines.extend(f"    - {problem}" for problem in case.problems)
            lines.extend(f"    hint: {hint}" for hint in case.hints)
        return "\n".join(lines)


@dataclass(frozen=True)
class StudentReport:
    """The grade of one notebook. `notes` are notebook-wide findings (extraction decisions)."""

    notebook: str
    components: tuple[ComponentResult, ...]
    notes: tuple[str, ...] = field(default=())

    def component_points(self) -> dict[str, float]:
        """Points per rubric component id, in rubric order."""
        return {component.id: component.points for component in self.components}

    @property
    def total(self) -> float:
        return round(sum(component.points for component in self.components), 6)

    @property
    def max_total(self) -> float:
        return sum(component.max_points for component in self.components)

    def to_gradescope(self) -> dict:
        """Gradescope's results.json: one test per component, its feedback as output."""
        return {
            "score": self.total,
            "output": "\n".join(self.notes),
            "visibility": VISIBILITY,
            "stdout_visibility": "hidden",
            "tests": [
                {
                    "name": f"{component.class_name} ({component.id})",
                    "score": component.points,
                    "max_score": component.max_points,
                    "output": component.feedback(),
                    "visibility": VISIBILITY,
                    "tags": [component.id],  # the Gradescope bundle sets visibility by id
                }
                for component in self.components
            ],
        }

    def to_markdown(self) -> str:
        """A readable report: the score table, then the feedback of every component."""
        lines = [
            f"# Autograder report: {Path(self.notebook).name}",
            "",
            f"**Total: {_number(self.total)} / {_number(self.max_total)}**",
            "",
        ]
        if self.notes:
            lines += ["## Notes on your notebook", ""]
            lines += [f"- {note}" for note in self.notes] + [""]
        lines += ["| component | points |", "|---|---|"]
        lines += [
            f"| {c.class_name} (`{c.id}`) | {_number(c.points)} / {_number(c.max_points)} |"
            for c in self.components
        ]
        for component in self.components:
            lines += ["", f"## {component.class_name} (`{component.id}`)", "", "```"]
            lines += [component.feedback(), "```"]
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
