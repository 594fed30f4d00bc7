"""Words for a person: what a case ran, what differed, and hints keyed to typical bugs.

Hints for the losses come from recomputing a known buggy formula on the case's inputs (margin
on every class, unsquared distances, ...) and checking whether the student's output matches
it. Only descriptions of bugs are shown; never reference code.
"""

import math

import torch
import torch.nn.functional as F

from autograder.judge.compare import Mismatch
from autograder.judge.prepare import PreparedCase
from autograder.judge.rubric import Component

HINT_TOLERANCE = {"atol": 1e-3, "rtol": 1e-3}
BLOCKS = ("basic_block", "bottleneck", "convnext_block", "inverted_residual")
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


KNOWN_BUGS = {
    "arcface": [
        (
            "your logits match a cosine margin s·(cos θ − m) (CosFace): ArcFace adds m to the "
            "ANGLE, s·cos(θ + m)",
            lambda p: _cosface(p, _cos(p)),
        ),
        (
            "your logits match the margin applied to EVERY class: only the true class gets it",
            lambda p: _arcface(p, _cos(p), _arcface_m(p), target_only=False),
        ),
        (
            "your logits match m interpreted in degrees: m is in radians",
            lambda p: _arcface(p, _cos(p), math.radians(_arcface_m(p))),
        ),
        (
            "your logits match cos(θ + m) everywhere: where θ + m > π (cos θ ≤ cos(π − m)) the "
            "target logit must fall back to s·(cos θ − m·sin m)",
            lambda p: _arcface(p, _cos(p), _arcface_m(p), fallback=False),
        ),
        (
            "your logits match un-normalised class weights: normalise the rows of weight too",
            lambda p: _arcface(p, _cos(p, normalise_weight=False), _arcface_m(p)),
        ),
        (
            "your logits match un-normalised embeddings: normalise the embeddings too",
            lambda p: _arcface(p, _cos(p, normalise_embeddings=False), _arcface_m(p)),
        ),
    ],
    "cosface": [
        (
            "your logits match the margin subtracted from EVERY class: only the true class",
            lambda p: _cosface(p, _cos(p), target_only=False),
        ),
        (
            "your logits match s·cos θ − m: the margin is inside the scale, s·(cos θ − m)",
            lambda p: _cosface(p, _cos(p), scale_margin=False),
        ),
        (
            "your logits match un-normalised class weights: normalise the rows of weight",
            lambda p: _cosface(p, _cos(p, normalise_weight=False)),
        ),
        (
            "your logits match un-normalised embeddings: normalise the embeddings",
            lambda p: _cosface(p, _cos(p, normalise_embeddings=False)),
        ),
    ],
    "sphereface": [
        (
            "your logits lack the ‖x‖ factor: SphereFace normalises the weights, not the "
            "embeddings",
            lambda p: _sphereface(p, with_norm=False),
        ),
        (
            "your logits match ψ(θ) without the sign (−1)^k",
            lambda p: _sphereface(p, with_sign=False),
        ),
        (
            "your logits match ψ(θ) without the −2k shift: ψ must decrease monotonically",
            lambda p: _sphereface(p, with_shift=False),
        ),
    ],
    "triplet_loss": [
        (
            "your loss matches unsquared Euclidean distances: the contract uses squared ones",
            lambda p: _triplet(p, squared=False),
        ),
        (
            "your loss matches the SUM over the batch: take the mean",
            lambda p: _triplet(p, reduce="sum"),
        ),
        (
            "your loss matches relu(d_ap − d_an) + margin: the margin goes inside the relu",
            lambda p: _triplet(p, margin_inside=False),
        ),
    ],
    "batch_hard_triplet_loss": [
        (
            "your loss matches unsquared Euclidean distances: the contract uses squared ones",
            lambda p: _batch_hard(p, squared=False),
        ),
        (
            "your loss matches positives that include the anchor itself: an anchor is not its "
            "own positive (anchors without another same-label sample are left out)",
            lambda p: _batch_hard(p, include_self=True),
        ),
        (
            "your loss matches the mean over ALL anchors: average only over anchors that have "
            "both a positive and a negative",
            lambda p: _batch_hard(p, all_anchors=True),
        ),
    ],
    "center_loss": [
        ("your loss matches the loss without the factor 0.5", lambda p: _center(p, half=False)),
        (
            "your loss matches the SUM over the batch: average over samples",
            lambda p: _center(p, reduce="sum_rows"),
        ),
        (
            "your loss matches the mean over every element: sum over features, mean over samples",
            lambda p: _center(p, reduce="mean_all"),
        ),
    ],
}


def _reference_block(prepared: PreparedCase) -> torch.nn.Module:
    """The reference block of this case with the case's weights and mode (for bug variants)."""
    from facekit.reference import load_reference

    block_class = getattr(load_reference(), prepared.component.class_name)
    with torch.random.fork_rng():
        module = block_class(**prepared.case.ctor).to(getattr(torch, prepared.case.dtype))
    state = {key[6:]: value for key, value in prepared.tensors.items() if key.startswith("state/")}
    module.load_state_dict(state)
    return module.train(prepared.case.mode == "train")


def _residual_variants(m, x) -> dict[str, torch.Tensor]:
    """BasicBlock / Bottleneck computed with the typical mistakes, from the reference's parts."""
    out = F.relu(m.bn1(m.conv1(x)))
    if hasattr(m, "conv3"):
        out = m.bn3(m.conv3(F.relu(m.bn2(m.conv2(out)))))
    else:
        out = m.bn2(m.conv2(out))
    shortcut = x if m.downsample is None else m.downsample(x)
    variants = {
        "your output matches ReLU applied BEFORE the residual add: add first, then ReLU": (
            F.relu(out) + shortcut
        ),
        "your output matches the block without its final ReLU (after the add)": out + shortcut,
        "your output matches the block without the shortcut: add the input (or downsample(x))": (
            F.relu(out)
        ),
    }
    if hasattr(m, "conv3"):
        no_middle_relu = m.bn3(m.conv3(m.bn2(m.conv2(F.relu(m.bn1(m.conv1(x)))))))
        variants["your output matches the block without the ReLU after bn2"] = F.relu(
            no_middle_relu + shortcut
        )
    return variants


def _convnext_variants(m, x) -> dict[str, torch.Tensor]:
    branch = m.pwconv2(F.gelu(m.pwconv1(m.norm(m.dwconv(x).permute(0, 2, 3, 1)))))
    return {
        "your output matches the block without the layer scale gamma": (
            x + branch.permute(0, 3, 1, 2)
        ),
        "your output matches the branch without the residual: add the input back": (
            (m.gamma * branch).permute(0, 3, 1, 2)
        ),
    }


def _inverted_residual_variants(m, x) -> dict[str, torch.Tensor]:
    def run(activation, after_project):
        out = x if m.expand is None else activation(m.bn1(m.expand(x)))
        out = m.bn3(m.project(activation(m.bn2(m.dwconv(out)))))
        if after_project:
            out = activation(out)
        return x + out if m.use_residual else out

    return {
        "your output matches ReLU where ReLU6 belongs (clip at 6)": run(F.relu, False),
        "your output matches an activation after the projection: the projection is linear": (
            run(F.relu6, True)
        ),
    }


BLOCK_BUGS = {
    "basic_block": _residual_variants,
    "bottleneck": _residual_variants,
    "convnext_block": _convnext_variants,
    "inverted_residual": _inverted_residual_variants,
}


def _block_bug_formulas(prepared: PreparedCase) -> list[tuple[str, object]]:
    """(hint, formula) pairs for a block case: the reference's parts wired the buggy way."""
    if prepared.component.id not in BLOCK_BUGS or prepared.case.check != "compare":
        return []
    module = _reference_block(prepared)
    with torch.no_grad():
        variants = BLOCK_BUGS[prepared.component.id](module, prepared.input("x"))
    return [(text, lambda _, value=value: value) for text, value in variants.items()]


def _matching_bugs(prepared: PreparedCase, got: torch.Tensor) -> list[str]:
    hints = []
    formulas = KNOWN_BUGS.get(prepared.component.id, []) + _block_bug_formulas(prepared)
    for text, formula in formulas:
        try:
            candidate = formula(prepared)
        except (KeyError, RuntimeError, IndexError, AttributeError):  # not applicable here
            continue
        if candidate is None or tuple(candidate.shape) != tuple(got.shape):
            continue
        if torch.allclose(got.double(), candidate.double(), **HINT_TOLERANCE):
            hints.append(text)
    return hints


def case_hints(prepared: PreparedCase, answer, checks: list[tuple[str, list]]) -> list[str]:
    """Hints for a failed case, from which checks failed and how (problems are Mismatch
    objects or sentences)."""
    failed = {name: problems for name, problems in checks if problems}
    found = [problem for problems in failed.values() for problem in problems]
    text = " ".join(str(problem) for problem in found)
    if all(
        isinstance(problem, Mismatch)
        and problem.problem == "values"
        and problem.max_rel_error < 1e-3
        for problem in found
    ):
        precision = "a different order of operations"
        if prepared.case.dtype == "float64":
            precision = "float32 arithmetic in a float64 case"
        return [
            f"the values are close but not within tolerance: {precision}? (.float(), constants "
            "created as float32 tensors, or a rounding step such as a low-precision eps)"
        ]
    hints = []
    if "output" in failed:
        got = answer.tensors.get("output")
        if got is not None:
            hints += _matching_bugs(prepared, got)
        if "shape (" in text and prepared.component.id in BLOCKS:
            hints.append(
                "the output shape differs: check each convolution's stride and padding and which "
                "layer changes the number of channels"
            )
        if "dtype torch.float32, expected torch.float64" in text:
            hints.append(
                "float64 inputs give float32 results: avoid .float() and tensors created without "
                "dtype=x.dtype (e.g. torch.tensor(...), torch.zeros(...))"
            )
    elif "gradients" in failed:
        if "NaN" in text or "Inf" in text:
            hints.append(
                "non-finite gradients: clamp cos θ into [-1, 1] and keep sqrt/acos away from "
                "their infinite slope (clamp 1 − cos² above a small epsilon, or avoid acos)"
            )
        elif "missing" in text:
            hints.append(
                "a parameter or input received no gradient: is it used in forward, or is its "
                "path detached (.detach(), .data, torch.no_grad)?"
            )
        else:
            hints.append(
                "the output is right but a gradient differs: look for .detach(), .data, "
                "in-place changes of tensors autograd needs, or non-differentiable shortcuts"
            )
    elif "buffers" in failed:
        hints.append(
            "output right but BatchNorm running statistics differ: is a BatchNorm layer applied "
            "twice, or to the wrong tensor?"
        )
    case = prepared.case
    stochastic = case.ctor.get("drop_path", 0) > 0 and prepared.component.id == "convnext_block"
    if "output" in failed and case.mode == "eval" and stochastic and not hints:
        hints.append("in eval mode stochastic depth must be off (check self.training)")
    return hints


def component_hints(component: Component, prepared: list[PreparedCase], results) -> list[str]:
    """Hints that need several cases: e.g. train-mode cases pass but eval-mode ones fail."""
    by_mode: dict[str, list[bool]] = {}
    by_dtype: dict[str, list[bool]] = {}
    for case, result in zip(prepared, results, strict=True):
        if result.problems and result.points == 0 and "not implemented" in result.problems[0]:
            return []
        by_mode.setdefault(case.case.mode, []).append(result.passed)
        by_dtype.setdefault(case.case.dtype, []).append(result.passed)
    hints = []
    if all(by_mode.get("train", [False])) and not any(by_mode.get("eval", [True])):
        hints.append(
            "hint: train-mode cases pass but eval-mode cases fail: in eval, BatchNorm uses its "
            "running statistics and stochastic depth is off (respect self.training)"
        )
    if all(by_dtype.get("float32", [False])) and not any(by_dtype.get("float64", [True])):
        hints.append(
            "hint: float32 cases pass but float64 cases fail: a hard-coded dtype (.float(), "
            "torch.tensor(...) without dtype) somewhere"
        )
    return hints


def error_hints(prepared: PreparedCase, error: dict) -> list[str]:
    """Hints for a case whose code raised, keyed to the error's wording."""
    message = f"{error.get('type', '')}: {error.get('message', '')}"
    if "must match the size of tensor" in message and prepared.component.id in BLOCKS:
        return [
            "the residual and the branch have different shapes: when the stride or the channel "
            "count changes, the shortcut needs its downsample (or, for InvertedResidual, no "
            "residual at all)"
        ]
    if "unexpected keyword argument" in message or "positional argument" in message:
        return ["the constructor and forward must accept exactly the contract's arguments"]
    if "dtype" in message.lower() or "scalar type" in message:
        return [
            "mixed dtypes: tensors you create in forward should follow the input's dtype "
            "(dtype=x.dtype), since cases also run in float64"
        ]
    return []
