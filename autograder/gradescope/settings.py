"""The `[gradescope]` table: who sees which part of a Gradescope result, and when.

Gradescope shows each test of results.json (and the whole result) per its `visibility`:
`visible` at once, `after_due_date`, `after_published` (when staff publish grades) or `hidden`
(staff only). The kit's tests are the rubric's components, named here by their ids.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from autograder.sandbox import REQUIRED_PROTECTIONS
from facekit.training.config import ConfigError, dataclass_from_table, read_toml

VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
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
    tests: dict[str, Any] = field(
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


def settings_from_table(raw: dict[str, Any], source: str, component_ids: tuple[str, ...]):
    """Checked settings from a parsed TOML file's `[gradescope]` table (absent: the defaults).

    Raises ConfigError naming the file and key for an unknown key, component or visibility.
    """
    settings = dataclass_from_table(GradescopeSettings, raw.get(TABLE, {}), source, f"{TABLE}.")
    for component, shown in settings.tests.items():
        where = f"{source}: {TABLE}.tests.{component}"
        if component not in component_ids:
            raise ConfigError(
                f"{where}: no rubric component of that id (known: {', '.join(component_ids)})"
            )
        if shown not in VISIBILITIES:
            choices = ", ".join(repr(choice) for choice in VISIBILITIES)
            raise ConfigError(f"{where}: expected one of {choices}, got {shown!r}")
    unknown = sorted(set(settings.allow_weaker_sandbox) - set(REQUIRED_PROTECTIONS))
    if unknown:
        raise ConfigError(
            f"{source}: {TABLE}.allow_weaker_sandbox: unknown protection {unknown[0]!r} (known: "
            f"{', '.join(sorted(REQUIRED_PROTECTIONS))})"
        )
    return settings


def load_settings(path: Path, component_ids: tuple[str, ...]) -> GradescopeSettings:
    """The `[gradescope]` table of a TOML file (a course file may hold other tools' tables)."""
    return settings_from_table(read_toml(path), str(path), component_ids)
