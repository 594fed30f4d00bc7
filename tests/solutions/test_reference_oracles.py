"""Does the reference solution agree with independent implementations?

Blocks are compared with torchvision's (weights copied across by name), margin heads with
pytorch-metric-learning's losses, and every formula with a plain-Python loop over DESIGN.md's
definition. Outputs, input gradients and parameter gradients are all compared.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from pytorch_metric_learning import losses as pml
from torch import nn
from torchvision.models import convnext, mobilenetv2, resnet

# PML computes binomial coefficients with a NumPy call that NumPy 2 deprecates; not our concern.
pytestmark = pytest.mark.filterwarnings("ignore:__array_wrap__:DeprecationWarning")

TOLERANCE = {torch.float32: 1e-4, torch.float64: 1e-10}
DTYPES = [torch.float32, torch.float64]


def assert_close(name: str, actual: torch.Tensor, expected: torch.Tensor, atol: float) -> None:
    """Assert equality within `atol` (relative to the larger magnitude), showing the error."""
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    scale = max(1.0, expected.abs().max().item())
    error = (actual - expected).abs().max().item()
    assert error <= atol * scale, f"{name}: max abs err {error:.3g} (allowed {atol * scale:.3g})"


def randomize_batchnorm(module: nn.Module, generator: torch.Generator) -> None:
    """Give every BatchNorm random running statistics and affine parameters (not 0/1)."""
    for layer in module.modules():
        if isinstance(layer, nn.BatchNorm2d):
            size = layer.num_features
            with torch.no_grad():
                layer.running_mean.copy_(torch.randn(size, generator=generator))
                layer.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
                layer.weight.copy_(torch.rand(size, generator=generator) + 0.5)
                layer.bias.copy_(torch.randn(size, generator=generator))


def mapped_name(name: str, prefixes: dict[str, str]) -> str:
    """Our parameter name translated to the other implementation's (longest prefix wins)."""
    for ours in sorted(prefixes, key=len, reverse=True):
        if name == ours or name.startswith(ours + "."):
            return prefixes[ours] + name[len(ours) :]
    return name


def copy_weights(ours: nn.Module, theirs: nn.Module, prefixes: dict[str, str]) -> None:
    """Load `ours`' state into `theirs` under the name mapping (reshaping where layouts differ)."""
    target = theirs.state_dict()
    state = {}
    for name, value in ours.state_dict().items():
        other = mapped_name(name, prefixes)
        assert other in target, f"{name} maps to {other}, which {type(theirs).__name__} lacks"
        state[other] = value.reshape(target[other].shape)
    assert set(state) == set(target), f"unmapped keys: {sorted(set(target) - set(state))}"
    theirs.load_state_dict(state)


def assert_same_module(
    ours: nn.Module,
    theirs: nn.Module,
    x: torch.Tensor,
    prefixes: dict[str, str],
    training: bool,
    seed: int | None = None,
) -> None:
    """Same output, input gradient and parameter gradients for the same input and upstream grad."""
    atol = TOLERANCE[x.dtype]
    ours.train(training)
    theirs.train(training)
    results = []
    upstream = None
    for module in (ours, theirs):
        if seed is not None:
            torch.manual_seed(seed)
        inputs = x.clone().requires_grad_(True)
        output = module(inputs)
        if upstream is None:
            upstream = torch.randn(output.shape, dtype=output.dtype)
        output.backward(upstream)
        results.append((output.detach(), inputs.grad, dict(module.named_parameters())))
    (out_a, grad_a, params_a), (out_b, grad_b, params_b) = results
    assert_close("output", out_a, out_b, atol)
    assert_close("input gradient", grad_a, grad_b, atol)
    for name, parameter in params_a.items():
        other = params_b[mapped_name(name, prefixes)]
        assert_close(f"gradient of {name}", parameter.grad.reshape(other.shape), other.grad, atol)


def shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Sequential | None:
    """torchvision's projection shortcut, built the way torchvision.models.resnet builds it."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(
        resnet.conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels)
    )


BLOCK_CASES = [(8, 8, 1), (8, 16, 1), (8, 16, 2), (8, 8, 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(("in_channels", "out_channels", "stride"), BLOCK_CASES)
def test_basic_block_matches_torchvision(
    reference, in_channels, out_channels, stride, training, dtype
):
    """Is BasicBlock torchvision's BasicBlock, with and without a projection shortcut?"""
    generator = torch.Generator().manual_seed(1)
    ours = reference.BasicBlock(in_channels, out_channels, stride).to(dtype)
    randomize_batchnorm(ours, generator)
    theirs = resnet.BasicBlock(
        in_channels, out_channels, stride, shortcut(in_channels, out_channels, stride)
    ).to(dtype)
    copy_weights(ours, theirs, {})
    x = torch.randn(2, in_channels, 7, 7, dtype=dtype, generator=generator)
    assert_same_module(ours, theirs, x, {}, training)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(("in_channels", "mid_channels", "stride"), BLOCK_CASES + [(16, 4, 1)])
def test_bottleneck_matches_torchvision(
    reference, in_channels, mid_channels, stride, training, dtype
):
    """Is Bottleneck torchvision's Bottleneck (stride on the 3x3), shortcut only when needed?"""
    generator = torch.Generator().manual_seed(2)
    ours = reference.Bottleneck(in_channels, mid_channels, stride).to(dtype)
    randomize_batchnorm(ours, generator)
    downsample = shortcut(in_channels, 4 * mid_channels, stride)
    theirs = resnet.Bottleneck(in_channels, mid_channels, stride, downsample).to(dtype)
    copy_weights(ours, theirs, {})
    x = torch.randn(2, in_channels, 7, 7, dtype=dtype, generator=generator)
    assert_same_module(ours, theirs, x, {}, training)


CNBLOCK_NAMES = {
    "dwconv": "block.0",
    "norm": "block.2",
    "pwconv1": "block.3",
    "pwconv2": "block.5",
    "gamma": "layer_scale",
}


@pytest.mark.parametrize("dtype", DTYPES)
def test_convnext_block_matches_torchvision(reference, dtype):
    """Is ConvNeXtBlock torchvision's CNBlock (eval mode, random layer scale)?"""
    generator = torch.Generator().manual_seed(3)
    ours = reference.ConvNeXtBlock(6).to(dtype)
    with torch.no_grad():
        ours.gamma.copy_(torch.randn(6, generator=generator))
        ours.norm.weight.copy_(torch.rand(6, generator=generator) + 0.5)
        ours.norm.bias.copy_(torch.randn(6, generator=generator))
    theirs = convnext.CNBlock(6, layer_scale=1e-6, stochastic_depth_prob=0.0).to(dtype)
    copy_weights(ours, theirs, CNBLOCK_NAMES)
    x = torch.randn(2, 6, 5, 5, dtype=dtype, generator=generator)
    assert_same_module(ours, theirs, x, CNBLOCK_NAMES, training=False)


def test_convnext_block_stochastic_depth_matches_torchvision(reference):
    """In training, is the residual branch dropped per sample like torchvision's (same RNG)?"""
    ours = reference.ConvNeXtBlock(4, drop_path=0.5, layer_scale_init=1.0).double()
    theirs = convnext.CNBlock(4, layer_scale=1.0, stochastic_depth_prob=0.5).double()
    copy_weights(ours, theirs, CNBLOCK_NAMES)
    x = torch.randn(16, 4, 3, 3, dtype=torch.float64)
    assert_same_module(ours, theirs, x, CNBLOCK_NAMES, training=True, seed=0)


def test_convnext_block_drops_whole_samples_only_in_training(reference):
    """Is each sample's branch either dropped or scaled by 1/(1-p), and nothing dropped in eval?"""
    torch.manual_seed(4)
    block = reference.ConvNeXtBlock(4, drop_path=0.25, layer_scale_init=1.0).double()
    x = torch.randn(64, 4, 3, 3, dtype=torch.float64)
    branch = block.eval()(x) - x
    trained = block.train()(x) - x
    dropped = trained.flatten(1).abs().amax(dim=1) == 0
    assert 0 < dropped.sum() < 64, f"expected some dropped samples, got {dropped.sum()} of 64"
    assert_close("kept samples", trained[~dropped], branch[~dropped] / 0.75, 1e-12)


def inverted_residual_names(expand_ratio: int) -> dict[str, str]:
    """Our InvertedResidual names -> torchvision's (its Sequential shifts without expansion)."""
    if expand_ratio == 1:
        return {"dwconv": "conv.0.0", "bn2": "conv.0.1", "project": "conv.1", "bn3": "conv.2"}
    return {
        "expand": "conv.0.0",
        "bn1": "conv.0.1",
        "dwconv": "conv.1.0",
        "bn2": "conv.1.1",
        "project": "conv.2",
        "bn3": "conv.3",
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(
    ("in_channels", "out_channels", "stride", "expand_ratio"),
    [(4, 4, 1, 6), (4, 4, 1, 1), (4, 8, 2, 6), (4, 8, 2, 1), (4, 4, 2, 6), (4, 6, 1, 6)],
)
def test_inverted_residual_matches_torchvision(
    reference, in_channels, out_channels, stride, expand_ratio, training, dtype
):
    """Is InvertedResidual torchvision's MobileNetV2 block (residual only when shapes allow)?"""
    generator = torch.Generator().manual_seed(5)
    ours = reference.InvertedResidual(in_channels, out_channels, stride, expand_ratio).to(dtype)
    randomize_batchnorm(ours, generator)
    theirs = mobilenetv2.InvertedResidual(in_channels, out_channels, stride, expand_ratio)
    theirs = theirs.to(dtype)
    names = inverted_residual_names(expand_ratio)
    copy_weights(ours, theirs, names)
    x = torch.randn(2, in_channels, 6, 6, dtype=dtype, generator=generator)
    assert_same_module(ours, theirs, x, names, training)


# ---- margin heads -------------------------------------------------------------------------


def pml_head(name: str, num_classes: int, in_features: int, s: float, m: float) -> nn.Module:
    """The pytorch-metric-learning loss equal to our head + cross-entropy (its conventions)."""
    if name == "ArcFace":  # PML takes the margin in degrees
        return pml.ArcFaceLoss(num_classes, in_features, margin=math.degrees(m), scale=s)
    if name == "CosFace":
        return pml.CosFaceLoss(num_classes, in_features, margin=m, scale=s)
    return pml.SphereFaceLoss(num_classes, in_features, margin=m)  # scale 1: ||x|| scales


def our_head(reference, name: str, in_features: int, num_classes: int, s: float, m: float):
    """Our head with the given scale and margin (SphereFace has no scale)."""
    if name == "SphereFace":
        return reference.SphereFace(in_features, num_classes, m=int(m))
    return getattr(reference, name)(in_features, num_classes, s=s, m=m)


HEAD_CASES = [("ArcFace", 64.0, 0.5), ("ArcFace", 8.0, 0.2), ("CosFace", 64.0, 0.35)]
HEAD_CASES += [("CosFace", 8.0, 0.1), ("SphereFace", 1.0, 4), ("SphereFace", 1.0, 3)]


def embeddings_at_angles(weight: torch.Tensor, labels: torch.Tensor, angles, generator):
    """Embeddings whose angle to their class weight row is `angles` (radians), random norms."""
    rows = []
    for label, angle in zip(labels.tolist(), angles, strict=True):
        direction = F.normalize(weight[label], dim=0)
        other = torch.randn(direction.shape, dtype=weight.dtype, generator=generator)
        other = F.normalize(other - (other @ direction) * direction, dim=0)
        norm = 0.5 + torch.rand((), dtype=weight.dtype, generator=generator)
        rows.append(norm * (math.cos(angle) * direction + math.sin(angle) * other))
    return torch.stack(rows)


def head_case(reference, name, s, m, dtype, angles=None, seed=6):
    """Our head, PML's head with the same weights, embeddings and labels."""
    generator = torch.Generator().manual_seed(seed)
    in_features, num_classes, batch = 5, 7, 12
    ours = our_head(reference, name, in_features, num_classes, s, m).to(dtype)
    with torch.no_grad():
        ours.weight.copy_(torch.randn(num_classes, in_features, generator=generator))
    theirs = pml_head(name, num_classes, in_features, s, m).to(dtype)
    with torch.no_grad():
        theirs.W.copy_(ours.weight.detach().T)  # PML stores (in_features, num_classes)
    labels = torch.randint(0, num_classes, (batch,), generator=generator)
    if angles is None:
        embeddings = torch.randn(batch, in_features, dtype=dtype, generator=generator)
    else:
        embeddings = embeddings_at_angles(ours.weight.detach(), labels, angles, generator)
    return ours, theirs, embeddings, labels


def assert_same_as_pml(ours, theirs, embeddings, labels) -> None:
    """Same loss, embedding gradient and weight gradient as the PML loss."""
    atol = TOLERANCE[embeddings.dtype]
    ours_input = embeddings.clone().requires_grad_(True)
    loss = F.cross_entropy(ours(ours_input, labels), labels)
    loss.backward()
    theirs_input = embeddings.clone().requires_grad_(True)
    expected = theirs(theirs_input, labels)
    expected.backward()
    assert_close("loss", loss.detach(), expected.detach(), atol)
    assert_close("embedding gradient", ours_input.grad, theirs_input.grad, atol)
    assert_close("weight gradient", ours.weight.grad.T, theirs.W.grad, atol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "s", "m"), HEAD_CASES)
def test_margin_head_matches_pytorch_metric_learning(reference, name, s, m, dtype):
    """Do cross-entropy on our logits and PML's loss agree, with gradients, on random inputs?"""
    ours, theirs, embeddings, labels = head_case(reference, name, s, m, dtype)
    assert_same_as_pml(ours, theirs, embeddings, labels)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "s", "m"), [("ArcFace", 8.0, 0.5), ("SphereFace", 1.0, 4)])
def test_margin_head_matches_pml_across_angle_pieces(reference, name, s, m, dtype):
    """Does the agreement hold in every piece: ArcFace's fallback, every k of SphereFace?"""
    angles = torch.linspace(0.05, math.pi - 0.05, 12).tolist()
    ours, theirs, embeddings, labels = head_case(reference, name, s, m, dtype, angles)
    assert_same_as_pml(ours, theirs, embeddings, labels)


def arcface_loop(weight, embeddings, labels, s, m):
    """DESIGN.md's ArcFace logits, one entry at a time with math.acos."""
    rows = []
    for x, label in zip(embeddings.tolist(), labels.tolist(), strict=True):
        row = []
        for j, w in enumerate(weight.tolist()):
            dot = sum(a * b for a, b in zip(x, w, strict=True))
            cos = dot / (math.hypot(*x) * math.hypot(*w))
            if j != label:
                row.append(s * cos)
            elif cos > math.cos(math.pi - m):
                row.append(s * math.cos(math.acos(min(1.0, max(-1.0, cos))) + m))
            else:
                row.append(s * (cos - m * math.sin(m)))
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float64)


def sphereface_loop(weight, embeddings, labels, m):
    """DESIGN.md's SphereFace logits, one entry at a time, with psi written piece by piece."""
    rows = []
    for x, label in zip(embeddings.tolist(), labels.tolist(), strict=True):
        norm = math.hypot(*x)
        row = []
        for j, w in enumerate(weight.tolist()):
            cos = sum(a * b for a, b in zip(x, w, strict=True)) / (norm * math.hypot(*w))
            if j != label:
                row.append(norm * cos)
                continue
            theta = math.acos(min(1.0, max(-1.0, cos)))
            k = next(k for k in range(m) if k * math.pi / m <= theta <= (k + 1) * math.pi / m)
            row.append(norm * ((-1) ** k * math.cos(m * theta) - 2 * k))
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float64)


def cosface_loop(weight, embeddings, labels, s, m):
    """DESIGN.md's CosFace logits, one entry at a time."""
    rows = []
    for x, label in zip(embeddings.tolist(), labels.tolist(), strict=True):
        row = []
        for j, w in enumerate(weight.tolist()):
            cos = sum(a * b for a, b in zip(x, w, strict=True)) / (math.hypot(*x) * math.hypot(*w))
            row.append(s * (cos - (m if j == label else 0.0)))
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "s", "m"), HEAD_CASES)
def test_margin_head_logits_match_formula_loop(reference, name, s, m, dtype):
    """Are the logits DESIGN.md's formula at angles from 0 to pi, including every piece?"""
    angles = torch.linspace(0.01, math.pi - 0.01, 12).tolist()
    ours, _, embeddings, labels = head_case(reference, name, s, m, dtype, angles)
    weight = ours.weight.detach().double()
    if name == "ArcFace":
        expected = arcface_loop(weight, embeddings.double(), labels, s, m)
    elif name == "CosFace":
        expected = cosface_loop(weight, embeddings.double(), labels, s, m)
    else:
        expected = sphereface_loop(weight, embeddings.double(), labels, int(m))
    logits = ours(embeddings, labels)
    assert logits.dtype == dtype, f"logits dtype {logits.dtype}, input dtype {dtype}"
    # float32 cosines near 0 or pi are only good to ~1e-4 in angle; the scale multiplies it.
    atol = 1e-9 if dtype == torch.float64 else 1e-4
    assert_close(f"{name} logits", logits.double(), expected, atol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["ArcFace", "CosFace", "SphereFace"])
def test_margin_head_gradients_finite_when_cos_is_one(reference, name, dtype):
    """Are loss and gradients finite when embeddings equal (or oppose) their class weights?"""
    head = our_head(reference, name, 4, 3, 64.0, 0.5 if name != "SphereFace" else 4).to(dtype)
    with torch.no_grad():
        head.weight.copy_(
            torch.randn(3, 4, dtype=dtype, generator=torch.Generator().manual_seed(7))
        )
    labels = torch.tensor([0, 1, 2, 0])
    weight = head.weight.detach()
    embeddings = torch.stack([weight[0], 2 * weight[1], -weight[2], -3 * weight[0]])
    embeddings.requires_grad_(True)
    loss = F.cross_entropy(head(embeddings, labels), labels)
    loss.backward()
    assert torch.isfinite(loss), f"{name} loss is {loss.item()} at |cos| = 1"
    assert torch.isfinite(embeddings.grad).all(), f"{name} embedding gradient: {embeddings.grad}"
    assert torch.isfinite(head.weight.grad).all(), f"{name} weight gradient: {head.weight.grad}"


# ---- metric losses ------------------------------------------------------------------------


def squared_distance(a: list[float], b: list[float]) -> float:
    """Squared Euclidean distance of two plain vectors."""
    return sum((x - y) ** 2 for x, y in zip(a, b, strict=True))


def triplet_loop(anchor, positive, negative, margin) -> float:
    """DESIGN.md's triplet loss, one triplet at a time."""
    losses = [
        max(0.0, squared_distance(a, p) - squared_distance(a, n) + margin)
        for a, p, n in zip(anchor.tolist(), positive.tolist(), negative.tolist(), strict=True)
    ]
    return sum(losses) / len(losses)


def batch_hard_loop(embeddings, labels, margin) -> float:
    """DESIGN.md's batch-hard triplet loss, one anchor at a time."""
    points, labels = embeddings.tolist(), labels.tolist()
    losses = []
    for i, (anchor, label) in enumerate(zip(points, labels, strict=True)):
        positives = [
            squared_distance(anchor, points[j])
            for j in range(len(points))
            if labels[j] == label and j != i
        ]
        negatives = [
            squared_distance(anchor, points[j]) for j in range(len(points)) if labels[j] != label
        ]
        if positives and negatives:
            losses.append(max(0.0, max(positives) - min(negatives) + margin))
    return sum(losses) / len(losses) if losses else 0.0


def center_loop(features, labels, centers) -> float:
    """DESIGN.md's center loss, one sample at a time."""
    distances = [
        squared_distance(x, centers[y])
        for x, y in zip(features.tolist(), labels.tolist(), strict=True)
    ]
    return 0.5 * sum(distances) / len(distances)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("margin", [0.2, 2.0])
def test_triplet_loss_matches_formula_loop(reference, margin, dtype):
    """Is TripletLoss the mean hinge on squared distances?"""
    generator = torch.Generator().manual_seed(8)
    a, p, n = (torch.randn(9, 4, dtype=dtype, generator=generator) for _ in range(3))
    loss = reference.TripletLoss(margin=margin)(a, p, n)
    assert loss.dtype == dtype and loss.dim() == 0
    expected = torch.tensor(triplet_loop(a, p, n, margin), dtype=torch.float64)
    assert_close("triplet loss", loss.double(), expected, TOLERANCE[dtype])


BATCH_HARD_LABELS = {
    "pairs": [0, 0, 1, 1, 2, 2, 3, 3],
    "singletons mixed in": [0, 0, 0, 1, 2, 3, 3, 4],
    "one identity": [5, 5, 5, 5],
    "all different": [0, 1, 2, 3],
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("margin", [0.2, 5.0])
@pytest.mark.parametrize("labels", BATCH_HARD_LABELS.values(), ids=BATCH_HARD_LABELS.keys())
def test_batch_hard_triplet_loss_matches_formula_loop(reference, labels, margin, dtype):
    """Hardest positive (not itself) and negative per anchor, mean over anchors having both?"""
    generator = torch.Generator().manual_seed(9)
    labels = torch.tensor(labels)
    embeddings = torch.randn(len(labels), 3, dtype=dtype, generator=generator)
    embeddings.requires_grad_(True)
    loss = reference.BatchHardTripletLoss(margin=margin)(embeddings, labels)
    expected = torch.tensor(
        batch_hard_loop(embeddings.detach(), labels, margin), dtype=torch.float64
    )
    assert_close("batch-hard loss", loss.detach().double(), expected, TOLERANCE[dtype])
    loss.backward()  # works even when no anchor is valid (a zero connected to embeddings)
    assert torch.isfinite(embeddings.grad).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_center_loss_matches_formula_loop(reference, dtype):
    """Is CenterLoss half the mean squared distance to each sample's class centre?"""
    generator = torch.Generator().manual_seed(10)
    head = reference.CenterLoss(num_classes=4, feat_dim=3).to(dtype)
    assert tuple(head.centers.shape) == (4, 3)
    features = torch.randn(7, 3, dtype=dtype, generator=generator)
    labels = torch.tensor([0, 3, 3, 1, 0, 2, 1])
    expected = center_loop(features, labels, head.centers.detach().tolist())
    loss = head(features, labels)
    assert loss.dtype == dtype
    expected = torch.tensor(expected, dtype=torch.float64)
    assert_close("center loss", loss.detach().double(), expected, TOLERANCE[dtype])


# ---- gradcheck for every component --------------------------------------------------------


def gradcheck_cases(reference):
    """(name, function of float64 tensors, inputs) for every component."""
    generator = torch.Generator().manual_seed(11)

    def randn(*shape):
        return torch.randn(*shape, dtype=torch.float64, generator=generator)

    labels = torch.tensor([0, 2, 1, 2, 0])
    image = randn(2, 4, 5, 5)
    network = reference.Network(3, widths=(2, 2, 2, 2), depths=(1, 1, 1, 1), embedding_dim=4)
    cases = {
        "BasicBlock": (reference.BasicBlock(4, 6, stride=2), image),
        "Bottleneck": (reference.Bottleneck(4, 2, stride=2), image),
        "ConvNeXtBlock": (reference.ConvNeXtBlock(4, layer_scale_init=1.0), image),
        "InvertedResidual": (reference.InvertedResidual(4, 4, expand_ratio=2), image),
        "Network": (lambda x: network(x)["feats"], randn(2, 3, 8, 8)),
        "TripletLoss": (reference.TripletLoss(margin=1.0), randn(5, 3), randn(5, 3), randn(5, 3)),
        "BatchHardTripletLoss": (
            lambda e: reference.BatchHardTripletLoss(margin=1.0)(e, labels),
            randn(5, 3),
        ),
    }
    for head_name, m in [("ArcFace", 0.5), ("CosFace", 0.35), ("SphereFace", 3)]:
        head = our_head(reference, head_name, 3, 3, 4.0, m)
        cases[head_name] = (
            lambda e, w, head=head: torch.func.functional_call(head, {"weight": w}, (e, labels)),
            randn(5, 3),
            randn(3, 3),
        )
    center = reference.CenterLoss(3, 3)
    cases["CenterLoss"] = (
        lambda f, c: torch.func.functional_call(center, {"centers": c}, (f, labels)),
        randn(5, 3),
        randn(3, 3),
    )
    network.double()
    for module in cases.values():
        if isinstance(module[0], nn.Module):
            module[0].double()
    return cases


@pytest.mark.parametrize(
    "name",
    [
        "BasicBlock",
        "Bottleneck",
        "ConvNeXtBlock",
        "InvertedResidual",
        "Network",
        "ArcFace",
        "CosFace",
        "SphereFace",
        "TripletLoss",
        "BatchHardTripletLoss",
        "CenterLoss",
    ],
)
def test_gradcheck_float64(reference, name):
    """Do analytic gradients match finite differences (float64) for every component?"""
    function, *inputs = gradcheck_cases(reference)[name]
    inputs = [x.requires_grad_(True) for x in inputs]
    assert torch.autograd.gradcheck(function, inputs, eps=1e-6, atol=1e-5, fast_mode=True)
