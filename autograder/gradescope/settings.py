"""The `[gradescope]` table: who sees which part of a Gradescope result, and when.

Gradescope shows each test of results.json (and the whole result) per its `visibility`:
`visible` at once, `after_due_date`, `after_published` (when staff publish grades) or `hidden`
(staff only). The kit's tests are the rubric's components, named here by their ids.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from autograder.sandbox import REQUIRED_PROTECTIONS
from facekit.base.course import course_tables
from facekit.base.tables import Where, read_toml, setting

Visibility = Literal["visible", "after_due_date", "after_published", "hidden"]
TABLE = "gradescope"


@dataclass
class GradescopeSettings:
    """The course's `[gradescope]` table."""

    visibility: Visibility = field(
        default="visible",
        metadata={"help": "the whole result: total score and notes on the notebook"},
    )
    test_visibility: Visibility = field(
        default="visible", metadata={"help": "every component's test not listed in `tests`"}
    )
    tests: dict[str, Visibility] = field(
        default_factory=dict,
        metadata={"help": "rubric component id -> visibility of that component's test"},
    )
    allow_weaker_sandbox: list[str] = field(
        default_factory=list,
        metadata={
            "help": "sandbox protections the container lacks that staff accept grading without "
            "(names as in `facekit grade --allow-weaker-sandbox`; a missing one otherwise stops "
            "grading with a message naming it)"
        },
    )

    def for_component(self, component_id: str) -> str:
        """The visibility of one component's test."""
        return self.tests.get(component_id, self.test_visibility)

    def to_toml(self) -> str:
        """This table as TOML text (the copy inside the bundle)."""
        lines = [
            f"[{TABLE}]",
            f'visibility = "{self.visibility}"',
            f'test_visibility = "{self.test_visibility}"',
            "",
            f"[{TABLE}.tests]",
        ]
        lines += [f'{component} = "{shown}"' for component, shown in sorted(self.tests.items())]
        if self.allow_weaker_sandbox:
            names = ", ".join(f'"{name}"' for name in self.allow_weaker_sandbox)
            lines.insert(3, f"allow_weaker_sandbox = [{names}]")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class GradescopeTables:
    """The course file's tables that `facekit gradescope-bundle` reads (the others are ignored)."""

    gradescope: GradescopeSettings = setting(
        "who sees which part of a Gradescope result, and when", factory=GradescopeSettings
    )


def settings_from_table(
    raw: dict[str, Any], source: str, component_ids: tuple[str, ...]
) -> GradescopeSettings:
    """Checked settings from a parsed course file's `[gradescope]` table (absent: the defaults).

    Raises ConfigError naming the file and key for an unknown key, component or visibility.
    """
    settings = course_tables(raw, source, GradescopeTables).gradescope
    where = Where(source, (TABLE,))
    for component in settings.tests:
        if component not in component_ids:
            raise Where(source, (TABLE, "tests"), (component,)).error(
                f"no rubric component of that id (known: {', '.join(component_ids)})"
            )
    unknown = sorted(set(settings.allow_weaker_sandbox) - set(REQUIRED_PROTECTIONS))
    if unknown:
        raise where.at("allow_weaker_sandbox").error(
            f"unknown protection {unknown[0]!r} (known: {', '.join(sorted(REQUIRED_PROTECTIONS))})"
        )
    return settings


def load_settings(path: Path, component_ids: tuple[str, ...]) -> GradescopeSettings:
    """The `[gradescope]` table of a course file (it may hold other tools' tables)."""
    return settings_from_table(read_toml(path), str(path), component_ids)
