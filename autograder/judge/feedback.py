"""Words for a person (what a case ran) and hint ids keyed to structured findings.

Recognised bugs come from recomputing a known buggy formula on the case's inputs (margin on
every class, unsquared distances, a block wired the wrong way, ...) and checking whether the
student's output matches it; other hints follow from the findings' kinds (a shape, a missing
gradient, values close within 0.1 %). Hint ids map to words in `hints.py`; only descriptions of
bugs are shown, never reference code or expected values.
"""

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from autograder.judge.findings import Difference, Finding, Pattern
from autograder.judge.prepare import PreparedCase
from autograder.judge.runner import ErrorInfo
from facekit.base import contract
from facekit.notebook.reference import load_reference
from facekit.sandbox_side.judge_worker import Check, DType, Mode, Status

HINT_TOLERANCE = {"atol": 1e-3, "rtol": 1e-3}
MAX_KEYS_LISTED = 12


def describe_case(prepared: PreparedCase) -> str:
    """E.g. `BasicBlock(in_channels=8, out_channels=16, stride=2), train mode, float32; x (2, 8,
    7, 7)`, plus the case's description."""
    case = prepared.case
    arguments = ", ".join(f"{key}={value!r}" for key, value in case.ctor.items())
    inputs = ", ".join(
        f"{name} {tuple(prepared.input(name).shape)}" for name in case.forward_arguments
    )
    text = f"{prepared.component.class_name}({arguments}), {case.mode} mode, {case.dtype}; {inputs}"
    return f"{text} ({case.description})" if case.description else text


def _listed(items: list) -> str:
    shown = ", ".join(str(item) for item in items[:MAX_KEYS_LISTED])
    more = len(items) - MAX_KEYS_LISTED
    return shown + (f", ... ({more} more)" if more > 0 else "")


def describe_state_mismatch(class_name: str, details: dict) -> str:
    """The reference's weights could not be loaded by name: list what is missing, unexpected or
    wrongly shaped, then the expected and found keys with shapes."""
    parts = [f"{class_name}'s parameters and buffers do not match the contract"]
    if details.get("missing"):
        parts.append(f"missing: {_listed(sorted(details['missing']))}")
    if details.get("unexpected"):
        parts.append(f"unexpected: {_listed(sorted(details['unexpected']))}")
    for key, expected, found in details.get("shape_mismatch", [])[:MAX_KEYS_LISTED]:
        parts.append(f"{key} has shape {tuple(found)}, expected {tuple(expected)}")

    def keys(entries):
        return _listed(sorted(f"{key} {tuple(shape)}" for key, shape in entries))

    parts.append(f"expected: {keys(details.get('expected', []))}")
    parts.append(f"found: {keys(details.get('found', []))}")
    return "; ".join(parts)


# ----------------------------------------------------------------------------- known bugs


def _cos(prepared: PreparedCase, normalise_embeddings=True, normalise_weight=True):
    embeddings = prepared.input("embeddings").double()
    weight = prepared.state("weight").double()
    if normalise_embeddings:
        embeddings = F.normalize(embeddings, dim=1)
    if normalise_weight:
        weight = F.normalize(weight, dim=1)
    return (embeddings @ weight.T).clamp(-1, 1)


def _one_hot(prepared: PreparedCase, like: torch.Tensor) -> torch.Tensor:
    return F.one_hot(prepared.input("labels"), like.shape[1]).bool()


def _arcface(prepared, cos, m, target_only=True, fallback=True):
    s = prepared.case.ctor.get("s", 64.0)
    arc = torch.cos(torch.acos(cos) + m)
    if fallback:
        arc = torch.where(cos > math.cos(math.pi - m), arc, cos - m * math.sin(m))
    if not target_only:
        return s * arc
    return s * torch.where(_one_hot(prepared, cos), arc, cos)


def _arcface_m(prepared):
    return prepared.case.ctor.get("m", 0.5)


def _cosface(prepared, cos, scale_margin=True, target_only=True):
    s, m = prepared.case.ctor.get("s", 64.0), prepared.case.ctor.get("m", 0.35)
    margin = m * (_one_hot(prepared, cos).double() if target_only else 1.0)
    return s * (cos - margin) if scale_margin else s * cos - margin


def _sphereface(prepared, with_norm=True, with_sign=True, with_shift=True):
    m = prepared.case.ctor.get("m", 4)
    cos = _cos(prepared)
    theta = torch.acos(cos)
    k = torch.floor(m * theta / math.pi).clamp(max=m - 1)
    psi = torch.cos(m * theta) * ((-1) ** k if with_sign else 1) - (2 * k if with_shift else 0)
    logits = torch.where(_one_hot(prepared, cos), psi, cos)
    norm = prepared.input("embeddings").double().norm(dim=1, keepdim=True)
    return logits * norm if with_norm else logits


def _triplet(prepared, squared=True, reduce="mean", margin_inside=True):
    a, p, n = (prepared.input(name).double() for name in ("anchor", "positive", "negative"))
    margin = prepared.case.ctor.get("margin", 0.2)
    d_ap, d_an = (a - p).pow(2).sum(1), (a - n).pow(2).sum(1)
    if not squared:
        d_ap, d_an = d_ap.sqrt(), d_an.sqrt()
    losses = F.relu(d_ap - d_an + margin) if margin_inside else F.relu(d_ap - d_an) + margin
    return losses.mean() if reduce == "mean" else losses.sum()


def _batch_hard(prepared, squared=True, include_self=False, all_anchors=False):
    x, labels = prepared.input("embeddings").double(), prepared.input("labels")
    margin = prepared.case.ctor.get("margin", 0.2)
    distances = (x[:, None] - x[None]).pow(2).sum(2)
    if not squared:
        distances = distances.sqrt()
    same = labels[:, None] == labels[None]
    positive = same if include_self else same & ~torch.eye(len(x), dtype=torch.bool)
    valid = positive.any(1) & (~same).any(1)
    if not valid.any():
        return None
    hardest_positive = distances.masked_fill(~positive, -math.inf).amax(1)
    hardest_negative = distances.masked_fill(same, math.inf).amin(1)
    losses = F.relu(hardest_positive - hardest_negative + margin)
    if all_anchors:
        return torch.where(valid, losses, torch.zeros_like(losses)).mean()
    return losses[valid].mean()


def _center(prepared, half=True, reduce="mean_rows"):
    x = prepared.input("features").double()
    centers = prepared.state("centers").double()[prepared.input("labels")]
    squared = (x - centers).pow(2)
    value = {
        "mean_rows": squared.sum(1).mean(),
        "sum_rows": squared.sum(1).sum(),
        "mean_all": squared.mean(),
    }[reduce]
    return 0.5 * value if half else value


KNOWN_BUGS: dict[str, dict[str, Callable[[PreparedCase], torch.Tensor | None]]] = {
    contract.ARCFACE: {
        "arcface.cosine_margin": lambda p: _cosface(p, _cos(p)),
        "arcface.margin_on_every_class": lambda p: _arcface(
            p, _cos(p), _arcface_m(p), target_only=False
        ),
        "arcface.margin_in_degrees": lambda p: _arcface(p, _cos(p), math.radians(_arcface_m(p))),
        "arcface.no_fallback": lambda p: _arcface(p, _cos(p), _arcface_m(p), fallback=False),
        "arcface.weights_not_normalised": lambda p: _arcface(
            p, _cos(p, normalise_weight=False), _arcface_m(p)
        ),
        "arcface.embeddings_not_normalised": lambda p: _arcface(
            p, _cos(p, normalise_embeddings=False), _arcface_m(p)
        ),
    },
    contract.COSFACE: {
        "cosface.margin_on_every_class": lambda p: _cosface(p, _cos(p), target_only=False),
        "cosface.margin_outside_scale": lambda p: _cosface(p, _cos(p), scale_margin=False),
        "cosface.weights_not_normalised": lambda p: _cosface(p, _cos(p, normalise_weight=False)),
        "cosface.embeddings_not_normalised": lambda p: _cosface(
            p, _cos(p, normalise_embeddings=False)
        ),
    },
    contract.SPHEREFACE: {
        "sphereface.no_norm_factor": lambda p: _sphereface(p, with_norm=False),
        "sphereface.no_sign": lambda p: _sphereface(p, with_sign=False),
        "sphereface.no_shift": lambda p: _sphereface(p, with_shift=False),
    },
    contract.TRIPLET_LOSS: {
        "triplet_loss.unsquared": lambda p: _triplet(p, squared=False),
        "triplet_loss.sum": lambda p: _triplet(p, reduce="sum"),
        "triplet_loss.margin_outside_relu": lambda p: _triplet(p, margin_inside=False),
    },
    contract.BATCH_HARD_TRIPLET_LOSS: {
        "batch_hard_triplet_loss.unsquared": lambda p: _batch_hard(p, squared=False),
        "batch_hard_triplet_loss.self_positive": lambda p: _batch_hard(p, include_self=True),
        "batch_hard_triplet_loss.mean_over_all_anchors": lambda p: _batch_hard(p, all_anchors=True),
    },
    contract.CENTER_LOSS: {
        "center_loss.no_half": lambda p: _center(p, half=False),
        "center_loss.sum": lambda p: _center(p, reduce="sum_rows"),
        "center_loss.mean_over_elements": lambda p: _center(p, reduce="mean_all"),
    },
}


def _reference_block(prepared: PreparedCase) -> torch.nn.Module:
    """The reference block of this case with the case's weights and mode (for bug variants)."""
    block_class = getattr(load_reference(), prepared.component.class_name)
    with torch.random.fork_rng():
        module = block_class(**prepared.case.ctor).to(prepared.case.dtype.torch)
    state = {key[6:]: value for key, value in prepared.tensors.items() if key.startswith("state/")}
    module.load_state_dict(state)
    return module.train(prepared.case.mode == Mode.TRAIN)


def _residual_variants(m, x, prefix: str) -> dict[str, torch.Tensor]:
    """BasicBlock / Bottleneck computed with the typical mistakes, from the reference's parts."""
    out = F.relu(m.bn1(m.conv1(x)))
    if hasattr(m, "conv3"):
        out = m.bn3(m.conv3(F.relu(m.bn2(m.conv2(out)))))
    else:
        out = m.bn2(m.conv2(out))
    shortcut = x if m.downsample is None else m.downsample(x)
    variants = {
        f"{prefix}.relu_before_add": F.relu(out) + shortcut,
        f"{prefix}.no_final_relu": out + shortcut,
        f"{prefix}.no_shortcut": F.relu(out),
    }
    if hasattr(m, "conv3"):
        no_middle_relu = m.bn3(m.conv3(m.bn2(m.conv2(F.relu(m.bn1(m.conv1(x)))))))
        variants[f"{prefix}.no_relu_after_bn2"] = F.relu(no_middle_relu + shortcut)
    return variants


def _convnext_branch(m, normalised: torch.Tensor) -> torch.Tensor:
    """The MLP and layer scale on a normalised (N, H, W, C) tensor, back to (N, C, H, W)."""
    return (m.gamma * m.pwconv2(F.gelu(m.pwconv1(normalised)))).permute(0, 3, 1, 2)


def _convnext_variants(m, x, prefix: str) -> dict[str, torch.Tensor]:
    depthwise = m.dwconv(x)
    unscaled = m.pwconv2(F.gelu(m.pwconv1(m.norm(depthwise.permute(0, 2, 3, 1)))))
    over_chw = F.group_norm(depthwise, 1, m.norm.weight, m.norm.bias, m.norm.eps)
    return {
        f"{prefix}.no_layer_scale": x + unscaled.permute(0, 3, 1, 2),
        f"{prefix}.no_residual": (m.gamma * unscaled).permute(0, 3, 1, 2),
        f"{prefix}.norm_over_chw": x + _convnext_branch(m, over_chw.permute(0, 2, 3, 1)),
    }


def _inverted_residual_variants(m, x, prefix: str) -> dict[str, torch.Tensor]:
    def run(activation, after_project):
        out = x if m.expand is None else activation(m.bn1(m.expand(x)))
        out = m.bn3(m.project(activation(m.bn2(m.dwconv(out)))))
        if after_project:
            out = activation(out)
        return x + out if m.use_residual else out

    return {
        f"{prefix}.relu_not_relu6": run(F.relu, False),
        f"{prefix}.activation_after_project": run(F.relu6, True),
    }


BLOCK_BUGS = {
    contract.BASIC_BLOCK: _residual_variants,
    contract.BOTTLENECK: _residual_variants,
    contract.CONVNEXT_BLOCK: _convnext_variants,
    contract.INVERTED_RESIDUAL: _inverted_residual_variants,
}


def _close(got: torch.Tensor, candidate: torch.Tensor | None) -> bool:
    if candidate is None or tuple(candidate.shape) != tuple(got.shape):
        return False
    return torch.allclose(got.double(), candidate.double(), **HINT_TOLERANCE)


def _drop_path_in_eval(prepared: PreparedCase, got: torch.Tensor) -> bool:
    """Eval-mode ConvNeXt output where each sample is the bare input (branch dropped) or the input
    plus the (possibly rescaled) branch: stochastic depth left on in eval.

    Either a dropped sample or a rescaled kept one gives it away; asking for a dropped one alone
    would miss the draws (one in 2**3 at the rubric's p = 0.5) where the coin kept every sample."""
    p = float(prepared.case.ctor.get("drop_path", 0.0))
    if (
        prepared.component.id != contract.CONVNEXT_BLOCK
        or prepared.case.mode != Mode.EVAL
        or p <= 0
    ):
        return False
    x = prepared.input("x").double()
    if tuple(got.shape) != tuple(x.shape):
        return False
    branch = prepared.expected["output"].double() - x
    got = got.double()
    dropped = rescaled = kept = 0
    for i in range(len(x)):
        if _close(got[i], x[i]):
            dropped += 1
        elif _close(got[i], x[i] + branch[i] / (1 - p)):
            rescaled += 1
        elif _close(got[i], x[i] + branch[i]):
            kept += 1
    return dropped + rescaled > 0 and dropped + rescaled + kept == len(x)


def recognised_bugs(prepared: PreparedCase, got: torch.Tensor) -> list[str]:
    """Ids of the known bugs whose formula reproduces the student's output on this case."""
    formulas = dict(KNOWN_BUGS.get(prepared.component.id, {}))
    if prepared.component.id in BLOCK_BUGS and prepared.case.check == Check.COMPARE:
        module = _reference_block(prepared)
        with torch.no_grad():
            variants = BLOCK_BUGS[prepared.component.id](
                module, prepared.input("x"), prepared.component.id
            )
        formulas.update({bug: (lambda _, value=value: value) for bug, value in variants.items()})
    bugs = []
    for bug, formula in formulas.items():
        try:
            candidate = formula(prepared)
        except (KeyError, RuntimeError, IndexError, AttributeError):  # not applicable here
            continue
        if _close(got, candidate):
            bugs.append(bug)
    if _drop_path_in_eval(prepared, got):
        bugs.append("convnext_block.drop_path_in_eval")
    return bugs


def case_hints(
    prepared: PreparedCase, answer, checks: list[tuple[str, list[Finding]]]
) -> list[str]:
    """Hint ids for a failed case, from which checks failed and the findings' fields."""
    failed = {name: found for name, found in checks if found}
    found = [finding for findings in failed.values() for finding in findings]
    if found and all(finding.pattern == Pattern.NEAR for finding in found):
        return ["finding.precision"]
    hints = []
    if "output" in failed:
        got = answer.tensors.get("output")
        if got is not None:
            hints += recognised_bugs(prepared, got)
        differences = {finding.difference for finding in failed["output"]}
        if Difference.SHAPE in differences and prepared.component.id in contract.BLOCKS:
            hints.append("finding.block_output_shape")
        if any(
            f.difference == Difference.DTYPE
            and (f.got_dtype, f.expected_dtype) == ("float32", "float64")
            for f in failed["output"]
        ):
            hints.append("finding.float32_result")
    elif "gradients" in failed:
        differences = {finding.difference for finding in failed["gradients"]}
        if Difference.NONFINITE in differences:
            hints.append("finding.nonfinite_gradient")
        elif Difference.MISSING in differences:
            hints.append("finding.missing_gradient")
        else:
            hints.append("finding.gradient_differs")
    elif "buffers" in failed:
        hints.append("finding.batchnorm_statistics")
    return hints


def component_hints(prepared: list[PreparedCase], results) -> list[str]:
    """Hint ids that need several cases: e.g. train-mode cases pass but eval-mode ones fail."""
    by_mode: dict[Mode, list[bool]] = {}
    by_dtype: dict[DType, list[bool]] = {}
    for case, result in zip(prepared, results, strict=True):
        if result.status != Status.OK:
            return []
        by_mode.setdefault(case.case.mode, []).append(result.passed)
        by_dtype.setdefault(case.case.dtype, []).append(result.passed)
    hints = []
    if all(by_mode.get(Mode.TRAIN, [False])) and not any(by_mode.get(Mode.EVAL, [True])):
        hints.append("component.eval_fails")
    if all(by_dtype.get(DType.FLOAT32, [False])) and not any(by_dtype.get(DType.FLOAT64, [True])):
        hints.append("component.float64_fails")
    return hints


def error_hints(prepared: PreparedCase, error: ErrorInfo | None) -> list[str]:
    """Hint ids for a case whose code raised, from the exception's type and torch's wording
    (the only structure an exception offers; these are torch's words, not the judge's)."""
    if error is None:
        return []
    message = error.message
    if (
        error.type == "RuntimeError"
        and "must match the size of tensor" in message
        and prepared.component.id in contract.BLOCKS
    ):
        return ["error.residual_shape"]
    if error.type == "TypeError" and (
        "unexpected keyword argument" in message or "positional argument" in message
    ):
        return ["error.signature"]
    if error.type == "RuntimeError" and ("dtype" in message.lower() or "scalar type" in message):
        return ["error.mixed_dtypes"]
    return []
