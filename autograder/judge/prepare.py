"""Turn rubric cases into concrete work: weights, inputs and the reference's answers.

Runs in the trusted process only. For each case it builds the reference module, replaces weights
that would hide bugs, generates the inputs, and runs the reference through `judge_worker.run_case`
(the same steps the worker applies to the student's module).

Weights and inputs are drawn from a grading seed, fresh for every grading (`new_grading_seed`):
what one report says about a case is no use for the next submission, so replaying it cannot
converge to points. The seed is recorded in the report; the same seed reproduces a grading.
"""

import functools
import secrets
import zlib
from dataclasses import dataclass
from types import ModuleType

import torch
from torch import nn

from autograder.errors import GraderFault
from autograder.judge.rubric import Case, Component, InputSpec, Rubric, load_rubric
from autograder.judge.turns import judging
from facekit.notebook.reference import load_reference
from facekit.sandbox_side.judge_worker import CaseFailure, Check, Objective, run_case, seed_torch


@dataclass(frozen=True)
class PreparedCase:
    """A case ready to send to the worker, with the reference's results to compare against."""

    index: int
    component: Component
    case: Case
    request: dict  # the case as the worker reads it (JSON)
    tensors: dict[str, torch.Tensor]  # input/<name> and state/<key>, sent to the worker
    # The reference's run_case results; none for a contract case, which checks only the form of
    # the student's answer (and the self-test proves the reference meets the contract).
    expected: dict[str, torch.Tensor]

    @property
    def case_id(self) -> str:
        return f"{self.component.id}/{self.case.name}"

    def input(self, name: str) -> torch.Tensor:
        return self.tensors[f"input/{name}"]

    def state(self, key: str) -> torch.Tensor:
        return self.tensors[f"state/{key}"]


MAX_GRADING_SEED = 2**31 - 1


def new_grading_seed() -> int:
    """A fresh, unpredictable seed for one grading."""
    return secrets.randbelow(MAX_GRADING_SEED)


def case_seed(component: Component, case: Case, grading_seed: int) -> int:
    """A seed that depends on the grading and the case's identity (so reordering the rubric
    changes nothing)."""
    text = f"{grading_seed}/{component.id}/{case.name}"
    return (zlib.crc32(text.encode()) + case.seed) % 2**31


def _uniform(like: torch.Tensor, low: float, high: float, generator: torch.Generator):
    return (torch.rand(like.shape, generator=generator) * (high - low) + low).to(like.dtype)


def _normal(like: torch.Tensor, scale: float, generator: torch.Generator):
    return (torch.randn(like.shape, generator=generator) * scale).to(like.dtype)


@torch.no_grad()
def replace_hiding_weights(module: nn.Module, generator: torch.Generator) -> None:
    """Give weights that would hide bugs non-trivial values (in place).

    Normalisation layers start as the identity (weight 1, bias 0, running mean 0, variance 1):
    a block that skips one, or uses batch statistics in eval, would still pass. A parameter
    initialised to a constant (ConvNeXt's 1e-6 layer scale) makes its branch vanish, so a block
    that drops the branch would pass any tolerance.
    """
    handled = set()
    for submodule in module.modules():
        is_batch_norm = isinstance(submodule, nn.modules.batchnorm._BatchNorm)
        if isinstance(submodule, nn.LayerNorm | nn.GroupNorm) or is_batch_norm:
            if getattr(submodule, "weight", None) is not None:
                submodule.weight.copy_(_uniform(submodule.weight, 0.5, 1.5, generator))
                submodule.bias.copy_(_normal(submodule.bias, 0.3, generator))
                handled.update({id(submodule.weight), id(submodule.bias)})
            if is_batch_norm and submodule.running_mean is not None:
                submodule.running_mean.copy_(_normal(submodule.running_mean, 0.3, generator))
                submodule.running_var.copy_(_uniform(submodule.running_var, 0.5, 2.0, generator))
    for parameter in module.parameters():
        if id(parameter) in handled or parameter.numel() < 2:
            continue
        if bool((parameter == parameter.flatten()[0]).all()):
            parameter.copy_(_uniform(parameter, 0.5, 1.5, generator))


def _generate_input(
    spec: InputSpec,
    dtype: torch.dtype,
    generated: dict[str, torch.Tensor],
    state: dict[str, torch.Tensor],
    generator: torch.Generator,
) -> torch.Tensor:
    if spec.kind == "randn":
        values = torch.randn(spec.shape, generator=generator, dtype=torch.float64)
        for row, like in spec.near:
            values[row] = values[like] + 0.05 * torch.randn(
                values[row].shape, generator=generator, dtype=torch.float64
            )
        return (values * spec.scale).to(dtype)
    if spec.kind == "labels":
        if spec.values:
            return torch.tensor(spec.values, dtype=torch.int64)
        return torch.randint(spec.high, spec.shape, generator=generator, dtype=torch.int64)
    rows = state[spec.rows_of][generated[spec.labels_from]].to(torch.float64) * spec.sign
    if spec.flip_every_other:
        rows[1::2] *= -1
    noise = torch.randn(rows.shape, generator=generator, dtype=torch.float64) * spec.noise
    return ((rows + noise) * spec.scale).to(dtype)


def _request(index: int, component: Component, case: Case, seed: int) -> dict:
    float_inputs = [spec.name for spec in case.inputs if spec.kind != "labels"]
    return {
        "index": index,
        "id": f"{component.id}/{case.name}",
        "class_name": component.class_name,
        "ctor": case.ctor,
        "mode": case.mode,
        "dtype": case.dtype,
        "check": case.check,
        "seed": seed,
        "inputs": list(case.forward_arguments),
        "grad_inputs": [] if case.objective == Objective.NONE else float_inputs,
        "objective": case.objective,
        "labels_input": case.labels_input,
        "load_state": case.load_state,
    }


def prepare_case(
    index: int, component: Component, case: Case, reference: ModuleType, grading_seed: int
) -> PreparedCase:
    """Build one PreparedCase; raises GraderFault when the reference cannot run it."""
    seed = case_seed(component, case, grading_seed)
    generator = torch.Generator().manual_seed(seed)
    dtype = case.dtype.torch
    reference_class = getattr(reference, component.class_name, None)
    if reference_class is None:
        raise GraderFault(f"the reference defines no {component.class_name}")
    tensors: dict[str, torch.Tensor] = {}
    state: dict[str, torch.Tensor] = {}
    if case.load_state:
        seed_torch(seed)
        module = reference_class(**case.ctor).to(dtype)
        replace_hiding_weights(module, generator)
        state = {key: value.detach().clone() for key, value in module.state_dict().items()}
        tensors.update({f"state/{key}": value for key, value in state.items()})
    generated: dict[str, torch.Tensor] = {}
    for spec in case.inputs:
        generated[spec.name] = _generate_input(spec, dtype, generated, state, generator)
    tensors.update({f"input/{name}": value for name, value in generated.items()})
    request = _request(index, component, case, seed)
    if case.check == Check.CONTRACT:
        return PreparedCase(index, component, case, request, tensors, {})
    try:
        expected, _ = run_case(reference_class, request, tensors, watched=False)
    except (CaseFailure, Exception) as error:
        raise GraderFault(
            f"the reference fails rubric case {component.id}/{case.name} (grading seed "
            f"{grading_seed}): {type(error).__name__}: {error}"
        ) from error
    return PreparedCase(index, component, case, request, tensors, expected)


def prepare_cases(
    rubric: Rubric, reference: ModuleType, grading_seed: int
) -> tuple[PreparedCase, ...]:
    """Every case of the rubric, in rubric order, with the reference's answers."""
    cases = [(component, case) for component in rubric.components for case in component.cases]
    with judging(), torch.random.fork_rng():
        return tuple(
            prepare_case(index, component, case, reference, grading_seed)
            for index, (component, case) in enumerate(cases)
        )


@functools.lru_cache(maxsize=2)
def prepared_cases(grading_seed: int) -> tuple[PreparedCase, ...]:
    """The kit's rubric prepared against the kit's reference for one grading seed."""
    return prepare_cases(load_rubric(), load_reference(), grading_seed)
