"""Does the handout publish the grading arithmetic exactly as the grader applies it?

The introduction (cell 0 of the source notebook) carries a section generated from the rubric, the
judge's limits, the leaderboard's daily limit and the parameter budget. Refresh it after changing
any of them with `FACEKIT_UPDATE_GOLDENS=1 python -m pytest <this file>`, then `facekit release`.
"""

import dataclasses
import os
import re

import nbformat

from autograder.judge.judge import default_limits
from autograder.judge.rubric import Case, Component, load_rubric
from autograder.judge.runner import CASE_SECONDS
from autograder.leaderboard.config import LeaderboardConfig
from autograder.rescore.grade_model import load_grade_model_config
from facekit.base.paths import HANDOUT_NOTEBOOK, SOLUTION_NOTEBOOK
from facekit.cli.grade_model import DEFAULT_COURSE_CONFIG
from facekit.notebook.extract import read_notebook

BEGIN = (
    "<!-- grading-rules: generated from autograder/judge/rubric.toml and the kit's limits by "
    "tests/solutions/test_handout_grading_rules.py; do not edit by hand -->"
)
END = "<!-- end of grading-rules -->"
HELPERS_ID = "check_helpers"
NETWORK_CHECK = "check_network"


def _number(value: float) -> str:
    """1e-4 rather than 0.0001: tolerances read as powers of ten."""
    text = f"{value:g}"
    return re.sub(r"e-0*", "e-", f"{value:.0e}") if "e" in text or value < 0.1 else text


def _readable(name: str) -> str:
    return name.replace("_", " ")


def _split(case: Case, has_buffers: bool) -> str:
    """How the judge splits the case's points (autograder/judge/judge.py, _judge_case)."""
    if case.check == "drop_path":
        return "all or nothing: which samples keep their branch, and how they are scaled"
    if case.check == "contract":
        return "all or nothing: keys, shapes, finite values, a gradient reaching the parameters"
    parts = ["output"]
    if case.objective != "none":
        parts.append("finite gradients" if case.gradients == "finite" else "gradients")
    if has_buffers:
        parts.append("BatchNorm statistics")
    return ", ".join(parts)


def _case_text(case: Case, split: str, common: str) -> str:
    """`name (points)`, with the split when it is not the component's usual one."""
    extras = [f"{case.points:g}"]
    if split != common:
        extras.append(split)
    if case.requires:
        extras.append(f"counts once {', '.join(map(_readable, case.requires))} passes")
    return f"{_readable(case.name)} ({'; '.join(extras)})"


def _component_row(component: Component, reference) -> str:
    splits = []
    for case in component.cases:
        module = getattr(reference, component.class_name)(**case.ctor)
        splits.append(_split(case, has_buffers=any(True for _ in module.buffers())))
    common = max(set(splits), key=splits.count)
    cases = ", ".join(
        _case_text(case, split, common) for case, split in zip(component.cases, splits, strict=True)
    )
    return f"| `{component.class_name}` | {component.max_points:g} | {cases} | {common} |"


def grading_rules(reference) -> str:
    """The generated section of the introduction, in Markdown."""
    rubric = load_rubric()
    limits = default_limits()
    daily = next(
        f.default for f in dataclasses.fields(LeaderboardConfig) if f.name == "daily_limit"
    )
    budget = load_grade_model_config(DEFAULT_COURSE_CONFIG).max_parameters
    total = sum(component.max_points for component in rubric.components)
    special = [
        (component, case)
        for component in rubric.components
        for case in component.cases
        if case.tolerance is not None
    ]
    tolerances = "; ".join(
        f"{dtype} cases atol = {_number(t.atol)}, rtol = {_number(t.rtol)}"
        for dtype, t in rubric.tolerance.items()
    )
    lines = [
        BEGIN,
        "### The grading arithmetic",
        "| component | points | cases (points) | a case's points are split equally between |",
        "|---|---|---|---|",
        *(_component_row(component, reference) for component in rubric.components),
        f"| **total** | **{total:g}** | | |",
        "",
        "* **Tolerances.** An element matches when `|got - expected| <= atol + rtol * |expected|`: "
        f"{tolerances}.",
    ]
    lines += [
        f"  `{component.class_name}` case *{_readable(case.name)}*: "
        f"atol = {_number(case.tolerance.atol)}, rtol = {_number(case.tolerance.rtol)}"
        + (" (gradients need only be finite)" if case.gradients == "finite" else "")
        + "."
        for component, case in special
    ]
    lines += [
        f"* **Time limits.** Each case must finish within {CASE_SECONDS:g} s; the whole notebook "
        f"within {limits.wall_seconds:g} s of wall-clock time and {limits.cpu_seconds:g} s of CPU "
        "time, on a CPU. A case that runs out of time scores 0.",
        f"* **Leaderboard.** At most {daily} scored submissions per task (classification, "
        "verification) per UTC day; an invalid file does not count. Models re-scored from your "
        f"checkpoint may have at most {budget:,} parameters.",
        END,
    ]
    return "\n".join(lines)


def intro_cell(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return notebook.cells[0]


def intro_cell_source(cells) -> str:
    """Cell 0's text with its lines joined (Markdown wraps sentences anywhere)."""
    return " ".join(cells[0].source.split())


def generated_part(source: str) -> str:
    match = re.search(re.escape(BEGIN) + r".*?" + re.escape(END), source, flags=re.S)
    assert match, "the introduction has no generated grading-rules section"
    return match.group(0)


def test_source_publishes_the_grading_arithmetic(reference):
    """Does cell 0 of the source notebook state the rubric's points, splits, tolerances, limits?"""
    expected = grading_rules(reference)
    if os.environ.get("FACEKIT_UPDATE_GOLDENS") == "1":
        notebook = nbformat.read(SOLUTION_NOTEBOOK, as_version=4)
        cell = intro_cell(notebook)
        cell.source = cell.source.replace(generated_part(cell.source), expected)
        nbformat.write(notebook, SOLUTION_NOTEBOOK)
    got = generated_part(intro_cell(read_notebook(SOLUTION_NOTEBOOK)).source)
    assert got == expected, (
        "the handout's grading arithmetic is out of date: run FACEKIT_UPDATE_GOLDENS=1 python -m "
        "pytest tests/solutions/test_handout_grading_rules.py, then facekit release"
    )


def test_handout_carries_the_same_arithmetic():
    """Does the released handout carry the source's section unchanged?"""
    source = generated_part(intro_cell(read_notebook(SOLUTION_NOTEBOOK)).source)
    handout = generated_part(intro_cell(read_notebook(HANDOUT_NOTEBOOK)).source)
    assert handout == source, "the handout is older than the source notebook: run facekit release"


def test_self_checks_use_the_graders_tolerances():
    """Do the self-check helpers' tolerances equal the rubric's (float32, float64, |cos θ| = 1)?"""
    cell = next(
        c
        for c in read_notebook(SOLUTION_NOTEBOOK).cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == HELPERS_ID
    )
    namespace: dict = {}
    exec(cell.source, namespace)  # the kit's own notebook cell
    rubric = load_rubric()
    for dtype, name in (("float32", "FLOAT32"), ("float64", "FLOAT64")):
        tolerance = rubric.tolerance[dtype]
        assert namespace[name] == {"atol": tolerance.atol, "rtol": tolerance.rtol}, name
    edge = {
        (case.tolerance.atol, case.tolerance.rtol)
        for component in rubric.components
        for case in component.cases
        if case.name == "cos_theta_exactly_one"
    }
    assert edge == {(namespace["AT_COS_ONE"]["atol"], namespace["AT_COS_ONE"]["rtol"])}


def test_handout_and_self_check_feed_the_network_what_the_grader_feeds():
    """Do cell 0 and the Network self-check use the grader's batch shape and both its modes?"""
    network = next(c for c in load_rubric().components if c.class_name == "Network")
    cells = read_notebook(SOLUTION_NOTEBOOK).cells
    check = next(
        c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == NETWORK_CHECK
    )
    intro = intro_cell_source(cells)
    for case in network.cases:
        (images,) = case.inputs
        shape = tuple(images.shape)
        assert f"feeds a batch of shape `{shape}` in training" in intro
        assert f"torch.randn{shape}" in check.source
    assert {case.mode for case in network.cases} == {"train", "eval"}
    assert "in training mode and again in eval mode" in intro and "model.eval()" in check.source
    assert "model = Network(num_classes=5)" in check.source


def test_grader_calls_network_as_the_handout_says():
    """Does every Network case pass only num_classes, as the handout promises?"""
    network = next(c for c in load_rubric().components if c.class_name == "Network")
    assert all(set(case.ctor) == {"num_classes"} for case in network.cases)
