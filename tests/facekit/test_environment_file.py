"""The students' conda environment stays in step with the kit's own dependency pins."""

import re
import tomllib

from facekit.base.paths import REPO_ROOT

LIST_ITEM = re.compile(r"^\s*-\s+(\S+)\s*$")


def split_requirement(requirement: str) -> tuple[str, str]:
    """`name[extra]>=1.0` -> ("name", ">=1.0")."""
    name, spec = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?(.*)", requirement).groups()
    return name.lower(), spec


def pip_section_pins() -> dict[str, str]:
    """Package name -> version specifier from environment.yml's pip section."""
    pins, in_pip = {}, False
    for line in (REPO_ROOT / "environment.yml").read_text().splitlines():
        if line.strip() == "- pip:":
            in_pip = True
        elif in_pip and (match := LIST_ITEM.match(line)):
            name, spec = split_requirement(match.group(1))
            pins[name] = spec
    return pins


def project_pins() -> dict[str, str]:
    """Package name -> version specifier from pyproject.toml's dependencies."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return dict(split_requirement(requirement) for requirement in project["dependencies"])


def test_environment_pins_match_pyproject():
    """Does every package the students install carry the same pin as the kit's pyproject?"""
    student, project = pip_section_pins(), project_pins()
    assert {"torch", "torchvision"} <= student.keys()
    mismatched = {
        name: (spec, project[name])
        for name, spec in student.items()
        if name in project and spec != project[name]
    }
    assert not mismatched, f"environment.yml vs pyproject.toml pins differ: {mismatched}"
