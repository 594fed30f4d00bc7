"""The rubric file (`rubric.toml`) as typed, validated dataclasses.

Tests are data: the file lists per graded component its cases (constructor arguments, inputs,
mode, dtype, what is compared, tolerance, points). Unknown keys and bad values are errors that name
the place in the file, so a typo never silently drops a check.
"""

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from facekit.base.contract import COMPONENT_CLASSES
from facekit.base.errors import ConfigError
from facekit.base.tables import Where, load_table, setting
from facekit.sandbox_side.judge_worker import Check, DType, GradientCheck, Mode, Objective

RUBRIC_PATH = Path(__file__).with_name("rubric.toml")


@dataclass(frozen=True)
class Tolerance:
    """Elementwise closeness: |got - expected| <= atol + rtol * |expected|."""

    atol: float = field(metadata={"help": "absolute tolerance"})
    rtol: float = field(metadata={"help": "relative tolerance"})


@dataclass(frozen=True)
class InputSpec:
    """How the judge generates one forward argument."""

    name: str = field(metadata={"help": "argument name, also the tensor's name in messages"})
    kind: Literal["randn", "labels", "label_rows"] = field(
        default="randn", metadata={"help": "how the values are drawn"}
    )
    shape: tuple[int, ...] = field(default=(), metadata={"help": "randn / labels: tensor shape"})
    scale: float = field(default=1.0, metadata={"help": "multiplies randn / label_rows values"})
    high: int = field(default=0, metadata={"help": "labels: drawn from [0, high)"})
    values: tuple[int, ...] = field(default=(), metadata={"help": "labels: explicit values"})
    sign: float = field(default=1.0, metadata={"help": "label_rows: +1 (cos θ = 1) or -1"})
    noise: float = field(default=0.0, metadata={"help": "label_rows: randn noise added"})
    flip_every_other: bool = field(
        default=False, metadata={"help": "label_rows: negate rows 1, 3, ... (cos θ = -1 there)"}
    )
    near: tuple[tuple[int, int], ...] = field(
        default=(),
        metadata={"help": "randn: [i, j] pairs; row i becomes row j plus 0.05·scale noise"},
    )
    labels_from: str = field(default="labels", metadata={"help": "label_rows: the labels input"})
    rows_of: str = field(default="weight", metadata={"help": "label_rows: reference parameter"})


@dataclass(frozen=True)
class Case:
    """One test of one component: what to build, what to feed it, what to compare, its points."""

    name: str = field(metadata={"help": "unique within the component"})
    points: float = field(metadata={"help": "points for passing every check of the case"})
    ctor: dict[str, Any] = field(metadata={"help": "constructor keyword arguments"})
    inputs: tuple[InputSpec, ...] = field(metadata={"help": "generated in this order"})
    argument_order: tuple[str, ...] = field(
        default=(), metadata={"help": "forward's argument order when it differs from `inputs`"}
    )
    description: str = field(default="", metadata={"help": "what the case is about, for feedback"})
    mode: Mode = field(default=Mode.TRAIN, metadata={"help": "train | eval"})
    dtype: DType = field(default=DType.FLOAT32, metadata={"help": "float32 | float64"})
    objective: Objective = field(
        default=Objective.DOT, metadata={"help": "dot | cross_entropy | value | none"}
    )
    gradients: GradientCheck = field(
        default=GradientCheck.COMPARE, metadata={"help": "compare | finite"}
    )
    check: Check = field(default=Check.COMPARE, metadata={"help": "compare | drop_path | contract"})
    load_state: bool = field(default=True, metadata={"help": "load the reference's weights"})
    tolerance: Tolerance | None = field(default=None, metadata={"help": "overrides the dtype's"})
    seed: int = field(default=0, metadata={"help": "seeds input generation and the forward pass"})
    requires: tuple[str, ...] = field(
        default=(), metadata={"help": "cases of the component that must pass for this one to count"}
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
        metadata={"help": "the cell's nbgrader grade_id: a component id of the contract"}
    )
    cases: tuple[Case, ...] = field(metadata={"help": "its tests, in report order"})

    @property
    def class_name(self) -> str:
        """The class the cell must define, from the competition contract."""
        return COMPONENT_CLASSES[self.id]

    @property
    def max_points(self) -> float:
        return sum(case.points for case in self.cases)


@dataclass(frozen=True)
class Rubric:
    """The whole rubric file: default tolerances per dtype and the graded components."""

    tolerance: dict[DType, Tolerance] = setting("closeness per dtype (both dtypes required)")
    components: tuple[Component, ...] = setting("the graded components, in report order", ())

    def tolerance_for(self, case: Case) -> Tolerance:
        return case.tolerance or self.tolerance[case.dtype]

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(component.class_name for component in self.components)


def _validate(component: Component, where: str) -> None:
    """Checks across a component's cases that types alone cannot express."""
    names = [case.name for case in component.cases]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: duplicate case names in {names}")
    for case in component.cases:
        at = f"{where}.cases.{case.name}"
        input_names = [spec.name for spec in case.inputs]
        for spec in case.inputs:
            rows = spec.shape[0] if spec.shape else 0
            if any(not all(0 <= i < rows for i in pair) for pair in spec.near):
                raise ConfigError(
                    f"{at}.inputs.{spec.name}.near: pairs of row indices below {rows}"
                )
        if case.argument_order and sorted(case.argument_order) != sorted(input_names):
            raise ConfigError(
                f"{at}.argument_order: {list(case.argument_order)} must name exactly the "
                f"inputs {input_names}"
            )
        unknown = sorted(set(case.requires) - set(names))
        if unknown:
            raise ConfigError(f"{at}.requires: unknown case(s) {unknown}; cases are {names}")
        if case.objective == Objective.CROSS_ENTROPY and not case.labels_input:
            raise ConfigError(f"{at}: objective cross_entropy needs a labels input")


def load_rubric_file(path: Path) -> Rubric:
    """Read and validate a rubric file; raises ConfigError naming the offending entry."""
    rubric = load_table(Rubric, path)
    for dtype in DType:
        if dtype not in rubric.tolerance:
            raise Where(str(path)).error(f"missing table [tolerance.{dtype}]")
    for i, component in enumerate(rubric.components):
        if component.id not in COMPONENT_CLASSES:
            raise ConfigError(
                f"{path}: [components[{i}]] id: {component.id!r} is not a component of the "
                f"contract; expected one of {list(COMPONENT_CLASSES)}"
            )
    for component in rubric.components:
        _validate(component, f"{path}: {component.id}")
    ids = [component.id for component in rubric.components]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{path}: duplicate component ids in {ids}")
    return rubric


@functools.cache
def load_rubric() -> Rubric:
    """The kit's rubric (autograder/judge/rubric.toml), read once per process."""
    return load_rubric_file(RUBRIC_PATH)
