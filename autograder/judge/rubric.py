"""The rubric file (`rubric.toml`) as typed, validated dataclasses.

Tests are data: the file lists per graded component its cases (constructor arguments, inputs,
mode, dtype, what is compared, tolerance, points). Unknown keys and bad values are errors that name
the place in the file, so a typo never silently drops a check.
"""

import functools
import tomllib
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from facekit.base.contract import COMPONENT_CLASSES
from facekit.sandbox_side.judge_worker import Check, DType, GradientCheck, Mode, Objective

RUBRIC_PATH = Path(__file__).with_name("rubric.toml")

INPUT_KINDS = ("randn", "labels", "label_rows")
# Case fields whose TOML strings become the protocol's enums.
CASE_ENUMS: dict[str, type[StrEnum]] = {
    "mode": Mode,
    "dtype": DType,
    "objective": Objective,
    "gradients": GradientCheck,
    "check": Check,
}


class RubricError(Exception):
    """The rubric file is malformed: a grader fault, never a student's."""


@dataclass(frozen=True)
class Tolerance:
    """Elementwise closeness: |got - expected| <= atol + rtol * |expected|."""

    atol: float = field(metadata={"doc": "absolute tolerance"})
    rtol: float = field(metadata={"doc": "relative tolerance"})


@dataclass(frozen=True)
class InputSpec:
    """How the judge generates one forward argument."""

    name: str = field(metadata={"doc": "argument name, also the tensor's name in messages"})
    kind: str = field(default="randn", metadata={"doc": "randn | labels | label_rows"})
    shape: tuple[int, ...] = field(default=(), metadata={"doc": "randn / labels: tensor shape"})
    scale: float = field(default=1.0, metadata={"doc": "multiplies randn / label_rows values"})
    high: int = field(default=0, metadata={"doc": "labels: drawn from [0, high)"})
    values: tuple[int, ...] = field(default=(), metadata={"doc": "labels: explicit values"})
    sign: float = field(default=1.0, metadata={"doc": "label_rows: +1 (cos θ = 1) or -1"})
    noise: float = field(default=0.0, metadata={"doc": "label_rows: randn noise added"})
    flip_every_other: bool = field(
        default=False, metadata={"doc": "label_rows: negate rows 1, 3, ... (cos θ = -1 there)"}
    )
    near: tuple[tuple[int, int], ...] = field(
        default=(),
        metadata={"doc": "randn: [i, j] pairs; row i becomes row j plus 0.05·scale noise"},
    )
    labels_from: str = field(default="labels", metadata={"doc": "label_rows: the labels input"})
    rows_of: str = field(default="weight", metadata={"doc": "label_rows: reference parameter"})


@dataclass(frozen=True)
class Case:
    """One test of one component: what to build, what to feed it, what to compare, its points."""

    name: str = field(metadata={"doc": "unique within the component"})
    points: float = field(metadata={"doc": "points for passing every check of the case"})
    ctor: dict[str, Any] = field(metadata={"doc": "constructor keyword arguments"})
    inputs: tuple[InputSpec, ...] = field(metadata={"doc": "generated in this order"})
    argument_order: tuple[str, ...] = field(
        default=(), metadata={"doc": "forward's argument order when it differs from `inputs`"}
    )
    description: str = field(default="", metadata={"doc": "what the case is about, for feedback"})
    mode: Mode = field(default=Mode.TRAIN, metadata={"doc": "train | eval"})
    dtype: DType = field(default=DType.FLOAT32, metadata={"doc": "float32 | float64"})
    objective: Objective = field(
        default=Objective.DOT, metadata={"doc": "dot | cross_entropy | value | none"}
    )
    gradients: GradientCheck = field(
        default=GradientCheck.COMPARE, metadata={"doc": "compare | finite"}
    )
    check: Check = field(default=Check.COMPARE, metadata={"doc": "compare | drop_path | contract"})
    load_state: bool = field(default=True, metadata={"doc": "load the reference's weights"})
    tolerance: Tolerance | None = field(default=None, metadata={"doc": "overrides the dtype's"})
    seed: int = field(default=0, metadata={"doc": "seeds input generation and the forward pass"})
    requires: tuple[str, ...] = field(
        default=(), metadata={"doc": "cases of the component that must pass for this one to count"}
    )

    @property
    def forward_arguments(self) -> tuple[str, ...]:
        return self.argument_order or tuple(spec.name for spec in self.inputs)

    @property
    def labels_input(self) -> str:
        """The integer input that cross-entropy uses as targets."""
        labels = [spec.name for spec in self.inputs if spec.kind == "labels"]
        return labels[0] if labels else ""


@dataclass(frozen=True)
class Component:
    """A graded notebook cell (nbgrader grade_id) and the class it must define."""

    id: str = field(
        metadata={"doc": "the cell's nbgrader grade_id: a component id of the contract"}
    )
    cases: tuple[Case, ...] = field(metadata={"doc": "its tests, in report order"})

    @property
    def class_name(self) -> str:
        """The class the cell must define, from the competition contract."""
        return COMPONENT_CLASSES[self.id]

    @property
    def max_points(self) -> float:
        return sum(case.points for case in self.cases)


@dataclass(frozen=True)
class Rubric:
    tolerance: dict[DType, Tolerance]
    components: tuple[Component, ...]

    def tolerance_for(self, case: Case) -> Tolerance:
        return case.tolerance or self.tolerance[case.dtype]

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(component.class_name for component in self.components)


def _build(cls: type, data: Any, where: str):
    """Construct dataclass `cls` from a TOML table, rejecting unknown and missing keys."""
    if not isinstance(data, dict):
        raise RubricError(f"{where}: expected a table, got {type(data).__name__}")
    known = {item.name: item for item in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise RubricError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(known)}")
    values = {}
    for name, value in data.items():
        if name == "inputs":
            value = tuple(
                _build(InputSpec, item, f"{where}.inputs[{i}]") for i, item in enumerate(value)
            )
        elif name == "cases":
            value = tuple(_build(Case, item, f"{where}.cases[{i}]") for i, item in enumerate(value))
        elif name == "tolerance" and cls is Case:
            value = _build(Tolerance, value, f"{where}.tolerance")
        elif name in ("shape", "values", "argument_order", "requires"):
            value = tuple(value)
        elif name == "near":
            value = tuple(tuple(pair) for pair in value)
        elif name in CASE_ENUMS and cls is Case:
            value = _choice(value, CASE_ENUMS[name], f"{where}.{name}")
        values[name] = value
    try:
        return cls(**values)
    except TypeError as error:
        raise RubricError(f"{where}: {error}") from None


def _choice(value: Any, allowed, where: str):
    """`value` as a member of `allowed` (an enum or a tuple of strings); RubricError if not."""
    if value not in [str(choice) for choice in allowed]:
        raise RubricError(f"{where}: {value!r} is not one of {[str(c) for c in allowed]}")
    return allowed(value) if isinstance(allowed, type) else value


def _validate(component: Component, where: str) -> None:
    names = [case.name for case in component.cases]
    if len(set(names)) != len(names):
        raise RubricError(f"{where}: duplicate case names in {names}")
    for case in component.cases:
        at = f"{where}.cases.{case.name}"
        input_names = [spec.name for spec in case.inputs]
        for spec in case.inputs:
            _choice(spec.kind, INPUT_KINDS, f"{at}.inputs.{spec.name}.kind")
            rows = spec.shape[0] if spec.shape else 0
            if any(len(pair) != 2 or not all(0 <= i < rows for i in pair) for pair in spec.near):
                raise RubricError(
                    f"{at}.inputs.{spec.name}.near: pairs of row indices below {rows}"
                )
        if case.argument_order and sorted(case.argument_order) != sorted(input_names):
            raise RubricError(
                f"{at}.argument_order: {list(case.argument_order)} must name exactly the "
                f"inputs {input_names}"
            )
        unknown = sorted(set(case.requires) - set(names))
        if unknown:
            raise RubricError(f"{at}.requires: unknown case(s) {unknown}; cases are {names}")
        if case.objective == Objective.CROSS_ENTROPY and not case.labels_input:
            raise RubricError(f"{at}: objective cross_entropy needs a labels input")


def load_rubric_file(path: Path) -> Rubric:
    """Read and validate a rubric file; raises RubricError naming the offending entry."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise RubricError(f"{path}: cannot read rubric: {error}") from None
    unknown = sorted(set(data) - {"tolerance", "components"})
    if unknown:
        raise RubricError(f"{path}: unknown top-level key(s) {unknown}")
    tolerance = {
        dtype: _build(Tolerance, data.get("tolerance", {}).get(dtype), f"{path}: tolerance.{dtype}")
        for dtype in DType
    }
    components = tuple(
        _build(Component, item, f"{path}: components[{i}]")
        for i, item in enumerate(data.get("components", []))
    )
    for i, component in enumerate(components):
        if component.id not in COMPONENT_CLASSES:
            raise RubricError(
                f"{path}: components[{i}].id: {component.id!r} is not a component of the "
                f"contract; expected one of {list(COMPONENT_CLASSES)}"
            )
    for component in components:
        _validate(component, f"{path}: {component.id}")
    ids = [component.id for component in components]
    if len(set(ids)) != len(ids):
        raise RubricError(f"{path}: duplicate component ids in {ids}")
    return Rubric(tolerance=tolerance, components=components)


@functools.cache
def load_rubric() -> Rubric:
    """The kit's rubric (autograder/judge/rubric.toml), read once per process."""
    return load_rubric_file(RUBRIC_PATH)
