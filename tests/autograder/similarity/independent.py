"""A corpus of independently written, correct notebooks for the similarity tests.

Each notebook is the source notebook with the solution regions of ten components rewritten by a
"student" whose habits are drawn at random: how the shortcut is computed, whether layers are
nested or stepped, how a mask is built, in which order attributes are set. Every choice is a
correct implementation (a test checks each against the reference), and the choices are
structural, because similarity normalises identifiers away. The Network cell is left as the
reference in every notebook: code the whole class shares, which must never count as copying.
"""

from __future__ import annotations

import ast
import itertools
import random
import re
from dataclasses import dataclass

import nbformat

from facekit.base import contract

SOLUTION = re.compile(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION", re.DOTALL)


def _pick(rng: random.Random, *options: str) -> str:
    return rng.choice(options)


@dataclass(frozen=True)
class Habits:
    """How one student writes small things; drawn once, used in every component they write.

    Each habit is a structural choice (similarity ignores names, so only structure tells two
    students apart): how a square, a row sum or a mean is spelled, whether layers are nested or
    stepped, conditionals inline or as statements, arguments by keyword or by position.
    """

    square: int  # e ** 2 | e.pow(2) | torch.square(e) | e * e
    rowsum: int  # e.sum(dim=1) | e.sum(1) | torch.sum(e, dim=1) | e.sum(-1)
    mean: int  # e.mean() | torch.mean(e)
    relu: int  # F.relu(e) | e.clamp(min=0) | e.relu()
    nested: bool  # layers as nested calls, or one statement per layer
    inline_if: bool  # a conditional expression, or an if statement
    keywords: int  # Conv2d arguments: positional | keyword | all keyword with tuple kernel
    temporaries: bool  # name intermediate results, or compute in one expression
    onehot: int  # F.one_hot | scatter_ | index assignment
    normalize: int  # F.normalize + @ | F.linear | by hand

    @classmethod
    def draw(cls, rng: random.Random) -> Habits:
        return cls(
            square=rng.randrange(4),
            rowsum=rng.randrange(4),
            mean=rng.randrange(2),
            relu=rng.randrange(3),
            nested=rng.random() < 0.5,
            inline_if=rng.random() < 0.5,
            keywords=rng.randrange(3),
            temporaries=rng.random() < 0.5,
            onehot=rng.randrange(3),
            normalize=rng.randrange(3),
        )

    def sq(self, e: str) -> str:
        """`e` squared, as an atom (safe to call a method on)."""
        simple = e.isidentifier()
        return [
            f"(({e}) ** 2)",
            f"({e}).pow(2)",
            f"torch.square({e})",
            f"({e} * {e})" if simple else f"(({e}) ** 2)",
        ][self.square]

    def sum1(self, e: str) -> str:
        return [f"{e}.sum(dim=1)", f"{e}.sum(1)", f"torch.sum({e}, dim=1)", f"{e}.sum(-1)"][
            self.rowsum
        ]

    def avg(self, e: str) -> str:
        return [f"{e}.mean()", f"torch.mean({e})"][self.mean]

    def rectify(self, e: str) -> str:
        return [f"F.relu({e})", f"({e}).clamp(min=0)", f"({e}).relu()"][self.relu]

    def conv(self, cin: str, cout: str, k: int, stride: str, pad: int, extra: str = "") -> str:
        return [
            f"nn.Conv2d({cin}, {cout}, {k}, {stride}, {pad}, bias=False{extra})",
            f"nn.Conv2d({cin}, {cout}, kernel_size={k}, stride={stride}, padding={pad}, "
            f"bias=False{extra})",
            f"nn.Conv2d(in_channels={cin}, out_channels={cout}, kernel_size=({k}, {k}), "
            f"stride={stride}, padding={pad}{extra}, bias=False)",
        ][self.keywords]


def _downsample(h: Habits, rng: random.Random, cin: str, cout: str, condition: str) -> str:
    proj = f"nn.Sequential({h.conv(cin, cout, 1, 'stride', 0)}, nn.BatchNorm2d({cout}))"
    if h.temporaries:
        proj_lines = (
            f"layers = [{h.conv(cin, cout, 1, 'stride', 0)}, nn.BatchNorm2d({cout})]\n"
            "    self.downsample = nn.Sequential(*layers)"
        )
    else:
        proj_lines = f"self.downsample = {proj}"
    if h.inline_if:
        return _pick(
            rng,
            f"self.downsample = {proj} if {condition} else None",
            f"needs_projection = {condition}\n"
            f"self.downsample = {proj} if needs_projection else None",
        )
    return _pick(
        rng,
        f"self.downsample = None\nif {condition}:\n    {proj_lines}",
        f"if {condition}:\n    {proj_lines}\nelse:\n    self.downsample = None",
    )


def _shortcut(h: Habits, rng: random.Random) -> str:
    if h.inline_if:
        return _pick(
            rng,
            "identity = x if self.downsample is None else self.downsample(x)",
            "identity = self.downsample(x) if self.downsample is not None else x",
        )
    return _pick(
        rng,
        "identity = x\nif self.downsample is not None:\n    identity = self.downsample(x)",
        "if self.downsample is None:\n    identity = x\nelse:\n    identity = self.downsample(x)",
    )


def _chain(h: Habits, steps: list[tuple[str, bool]], source: str, target: str) -> str:
    """Apply (layer, relu after?) steps to `source`: nested calls or one step per line."""
    if h.nested:
        expression = source
        for layer, relu in steps:
            expression = f"self.{layer}({expression})"
            if relu:
                expression = h.rectify(expression)
        return f"{target} = {expression}"
    lines, current = [], source
    for layer, relu in steps:
        lines.append(f"{target} = self.{layer}({current})")
        current = target
        if relu:
            lines.append(f"{target} = {h.rectify(target)}")
    return "\n".join(lines)


def _finish_residual(h: Habits, rng: random.Random) -> str:
    if h.temporaries:
        return _pick(
            rng,
            "out += identity\nreturn " + h.rectify("out"),
            "out = out + identity\nout = " + h.rectify("out") + "\nreturn out",
        )
    return "return " + h.rectify("out + identity")


def _residual_block(
    h: Habits, rng: random.Random, layers: list[str], condition: str, steps: list[tuple[str, bool]]
) -> tuple[str, str]:
    """A residual block's bodies: conv/bn `layers` (maybe every conv first), the projection when
    `condition` (or the usual one) holds, and `steps` between the shortcut and the sum."""
    if rng.random() < 0.5:
        layers = layers[0::2] + layers[1::2]
    condition = _pick(rng, "stride != 1 or in_channels != out_channels", condition)
    init = "\n".join([*layers, _downsample(h, rng, "in_channels", "out_channels", condition)])
    forward = "\n".join([_shortcut(h, rng), _chain(h, steps, "x", "out"), _finish_residual(h, rng)])
    return init, forward


def basic_block(h: Habits, rng: random.Random) -> tuple[str, str]:
    layers = [
        "self.conv1 = " + h.conv("in_channels", "out_channels", 3, "stride", 1),
        "self.bn1 = nn.BatchNorm2d(out_channels)",
        "self.conv2 = " + h.conv("out_channels", "out_channels", 3, "1", 1),
        "self.bn2 = nn.BatchNorm2d(out_channels)",
    ]
    steps = [("conv1", False), ("bn1", True), ("conv2", False), ("bn2", False)]
    return _residual_block(h, rng, layers, "in_channels != out_channels or stride > 1", steps)


def bottleneck(h: Habits, rng: random.Random) -> tuple[str, str]:
    width = _pick(
        rng,
        "out_channels = mid_channels * self.expansion",
        "out_channels = 4 * mid_channels",
        "out_channels = mid_channels * 4",
    )
    layers = [
        "self.conv1 = " + h.conv("in_channels", "mid_channels", 1, "1", 0),
        "self.bn1 = nn.BatchNorm2d(mid_channels)",
        "self.conv2 = " + h.conv("mid_channels", "mid_channels", 3, "stride", 1),
        "self.bn2 = nn.BatchNorm2d(mid_channels)",
        "self.conv3 = " + h.conv("mid_channels", "out_channels", 1, "1", 0),
        "self.bn3 = nn.BatchNorm2d(out_channels)",
    ]
    steps = [
        ("conv1", False),
        ("bn1", True),
        ("conv2", False),
        ("bn2", True),
        ("conv3", False),
        ("bn3", False),
    ]
    init, forward = _residual_block(
        h, rng, layers, "in_channels != out_channels or stride != 1", steps
    )
    return f"{width}\n{init}", forward


def convnext_block(h: Habits, rng: random.Random) -> tuple[str, str]:
    gamma = _pick(
        rng,
        "self.gamma = nn.Parameter(torch.full((channels,), float(layer_scale_init)))",
        "self.gamma = nn.Parameter(layer_scale_init * torch.ones(channels))",
        "self.gamma = nn.Parameter(torch.ones(channels) * layer_scale_init)",
    )
    dwconv = [
        "self.dwconv = nn.Conv2d(channels, channels, 7, 1, 3, groups=channels)",
        "self.dwconv = nn.Conv2d(channels, channels, kernel_size=7, padding=3, groups=channels)",
        "self.dwconv = nn.Conv2d(channels, channels, kernel_size=(7, 7), padding=(3, 3), "
        "groups=channels)",
    ][h.keywords]
    lines = [
        dwconv,
        "self.norm = nn.LayerNorm(channels, eps=1e-6)",
        "hidden = channels * 4\nself.pwconv1 = nn.Linear(channels, hidden)"
        if h.temporaries
        else "self.pwconv1 = nn.Linear(channels, 4 * channels)",
        _pick(
            rng,
            "self.pwconv2 = nn.Linear(4 * channels, channels)",
            "self.pwconv2 = nn.Linear(channels * 4, channels)",
        ),
        gamma,
    ]
    rng.shuffle(lines)
    init = "\n".join(
        [_pick(rng, "self.drop_path = drop_path", "self.drop_path = float(drop_path)"), *lines]
    )
    mask = _pick(
        rng,
        "keep = 1.0 - self.drop_path\n"
        "mask = torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) < keep\n"
        "x = x * mask.to(x.dtype) / keep",
        "keep = 1 - self.drop_path\n"
        "mask = x.new_empty((x.size(0), 1, 1, 1)).bernoulli_(keep)\n"
        "x = x.div(keep) * mask",
        "survive = torch.bernoulli(torch.full((x.shape[0], 1, 1, 1), 1 - self.drop_path, "
        "dtype=x.dtype, device=x.device))\n"
        "x = x * survive / (1 - self.drop_path)",
    )
    if h.nested:
        body = (
            "x = self.pwconv2(F.gelu(self.pwconv1(self.norm(x.permute(0, 2, 3, 1)))))\n"
            "x = (x * self.gamma).permute(0, 3, 1, 2)"
        )
    else:
        body = _pick(
            rng,
            "x = x.permute(0, 2, 3, 1)\nx = self.norm(x)\nx = self.pwconv1(x)\nx = F.gelu(x)\n"
            "x = self.pwconv2(x)\nx = self.gamma * x\nx = x.permute(0, 3, 1, 2)",
            "y = self.norm(x.permute(0, 2, 3, 1))\ny = self.pwconv1(y)\n"
            "y = nn.functional.gelu(y)\ny = self.pwconv2(y)\n"
            "x = torch.permute(self.gamma * y, (0, 3, 1, 2))",
        )
    guard = _pick(
        rng,
        "if self.training and self.drop_path > 0:",
        "if self.drop_path > 0.0 and self.training:",
    )
    indented = "\n".join("    " + line for line in mask.splitlines())
    forward = f"residual = x\nx = self.dwconv(x)\n{body}\n{guard}\n{indented}\nreturn residual + x"
    return init, forward


def inverted_residual(h: Habits, rng: random.Random) -> tuple[str, str]:
    hidden = _pick(
        rng, "hidden = in_channels * expand_ratio", "hidden = expand_ratio * in_channels"
    )
    expand = _pick(
        rng,
        "self.expand = None\nself.bn1 = None\nif expand_ratio != 1:\n"
        f"    self.expand = {h.conv('in_channels', 'hidden', 1, '1', 0)}\n"
        "    self.bn1 = nn.BatchNorm2d(hidden)",
        "if expand_ratio == 1:\n    self.expand, self.bn1 = None, None\nelse:\n"
        f"    self.expand = {h.conv('in_channels', 'hidden', 1, '1', 0)}\n"
        "    self.bn1 = nn.BatchNorm2d(hidden)",
    )
    depthwise = "self.dwconv = " + h.conv("hidden", "hidden", 3, "stride", 1, ", groups=hidden")
    residual = _pick(
        rng,
        "self.use_residual = stride == 1 and in_channels == out_channels",
        "self.use_residual = in_channels == out_channels and stride == 1",
    )
    init = "\n".join(
        [
            hidden,
            residual,
            expand,
            depthwise,
            "self.bn2 = nn.BatchNorm2d(hidden)",
            "self.project = " + h.conv("hidden", "out_channels", 1, "1", 0),
            "self.bn3 = nn.BatchNorm2d(out_channels)",
        ]
    )
    relu6 = _pick(rng, "F.relu6({})", "torch.clamp({}, 0, 6)", "({}).clamp(0.0, 6.0)")
    if h.inline_if:
        first = (
            "h = " + relu6.format("self.bn1(self.expand(x))") + " if self.expand is not None else x"
        )
    else:
        first = "h = x\nif self.expand is not None:\n    h = " + relu6.format(
            "self.bn1(self.expand(h))"
        )
    if h.nested:
        rest = "h = self.bn3(self.project(" + relu6.format("self.bn2(self.dwconv(h))") + "))"
    else:
        rest = (
            "h = self.dwconv(h)\nh = self.bn2(h)\nh = "
            + relu6.format("h")
            + "\nh = self.project(h)\nh = self.bn3(h)"
        )
    end = (
        "return x + h if self.use_residual else h"
        if h.inline_if
        else "if self.use_residual:\n    return h + x\nreturn h"
    )
    return init, "\n".join([first, rest, end])


def _margin_init(rng: random.Random, names: list[str]) -> str:
    weight = _pick(
        rng,
        "self.weight = nn.Parameter(torch.empty(num_classes, in_features))\n"
        "nn.init.xavier_uniform_(self.weight)",
        "self.weight = nn.Parameter(torch.randn(num_classes, in_features) * 0.01)",
        "self.weight = nn.Parameter(torch.Tensor(num_classes, in_features))\n"
        "nn.init.normal_(self.weight, std=0.01)",
    )
    assigned = [f"self.{name} = {name}" for name in names]
    rng.shuffle(assigned)
    return "\n".join([*assigned, weight] if rng.random() < 0.5 else [weight, *assigned])


def _cosine(h: Habits, clamp: bool) -> str:
    lines = [
        "w = self.weight.to(embeddings.dtype)\n"
        "cos = F.normalize(embeddings, dim=1) @ F.normalize(w, dim=1).t()",
        "cos = F.linear(F.normalize(embeddings), F.normalize(self.weight.to(embeddings.dtype)))",
        "e = embeddings / embeddings.norm(dim=1, keepdim=True).clamp_min(1e-12)\n"
        "w = self.weight.to(embeddings.dtype)\n"
        "w = w / w.norm(dim=1, keepdim=True).clamp_min(1e-12)\ncos = torch.matmul(e, w.T)",
    ][h.normalize]
    return lines + ("\ncos = cos.clamp(-1, 1)" if clamp else "")


def _one_hot(h: Habits) -> str:
    return [
        "onehot = F.one_hot(labels, cos.shape[1]).to(cos.dtype)",
        "onehot = torch.zeros_like(cos)\nonehot.scatter_(1, labels.view(-1, 1), 1.0)",
        "onehot = torch.zeros_like(cos)\nonehot[torch.arange(cos.size(0)), labels] = 1",
    ][h.onehot]


def arcface(h: Habits, rng: random.Random) -> tuple[str, str]:
    sine = _pick(
        rng,
        "sin = torch.sqrt((1 - " + h.sq("cos") + ").clamp(min=1e-12))",
        "sin = (1.0 - " + h.sq("cos") + ").clamp_min(1e-12).sqrt()",
    )
    if h.temporaries:
        phi = (
            "threshold = math.cos(math.pi - self.m)\nfallback = cos - math.sin(self.m) * self.m\n"
            "phi = cos * math.cos(self.m) - sin * math.sin(self.m)\n"
            "phi = torch.where(cos - threshold > 0, phi, fallback)"
        )
    else:
        phi = (
            "phi = torch.where(cos > math.cos(math.pi - self.m), cos * math.cos(self.m) - "
            "sin * math.sin(self.m), cos - self.m * math.sin(self.m))"
        )
    end = _pick(
        rng,
        "return self.s * (onehot * phi + (1 - onehot) * cos)",
        "logits = torch.where(onehot.bool(), phi, cos)\nreturn logits * self.s",
    )
    forward = "\n".join([_cosine(h, True), sine, phi, _one_hot(h), end])
    return _margin_init(rng, ["s", "m"]), forward


def cosface(h: Habits, rng: random.Random) -> tuple[str, str]:
    end = (
        "logits = cos - onehot * self.m\nreturn logits * self.s"
        if h.temporaries
        else "return self.s * (cos - self.m * onehot)"
    )
    return _margin_init(rng, ["s", "m"]), "\n".join([_cosine(h, False), _one_hot(h), end])


def sphereface(h: Habits, rng: random.Random) -> tuple[str, str]:
    init = _pick(rng, "self.m = int(m)", "assert m >= 1\nself.m = m")
    init += "\n" + _margin_init(rng, [])
    cheb = _pick(
        rng,
        "a, b = torch.ones_like(cos), cos\nfor _ in range(self.m - 1):\n"
        "    a, b = b, 2 * cos * b - a\ncos_m = b",
        "polys = [torch.ones_like(cos), cos]\nwhile len(polys) <= self.m:\n"
        "    polys.append(2 * cos * polys[-1] - polys[-2])\ncos_m = polys[self.m]",
    )
    forward = "\n".join(
        [
            _pick(
                rng,
                "norm = embeddings.norm(dim=1, keepdim=True)",
                "norm = torch.linalg.norm(embeddings, dim=1).unsqueeze(1)",
            ),
            _cosine(h, True),
            cheb,
            "k = torch.floor(self.m * torch.acos(cos).detach() / math.pi).clamp(max=self.m - 1)",
            _pick(
                rng,
                "psi = (-1) ** k * cos_m - 2 * k",
                "sign = 1 - 2 * (k % 2)\npsi = sign * cos_m - 2 * k",
            ),
            _one_hot(h),
            "return norm * (onehot * psi + (1 - onehot) * cos)",
        ]
    )
    return init, forward


def triplet_loss(h: Habits, rng: random.Random) -> tuple[str, str]:
    init = _pick(rng, "self.margin = margin", "self.margin = float(margin)")
    d_pos, d_neg = h.sum1(h.sq("anchor - positive")), h.sum1(h.sq("anchor - negative"))
    gap = _pick(rng, "{p} - {n} + self.margin", "self.margin + {p} - {n}")
    if h.temporaries:
        forward = (
            f"d_pos = {d_pos}\nd_neg = {d_neg}\n"
            f"losses = {h.rectify(gap.format(p='d_pos', n='d_neg'))}\n"
            f"return {h.avg('losses')}"
        )
    else:
        forward = f"return {h.avg(h.rectify(gap.format(p=d_pos, n=d_neg)))}"
    return init, forward


def batch_hard_triplet_loss(h: Habits, rng: random.Random) -> tuple[str, str]:
    init = _pick(rng, "self.margin = margin", "self.margin = float(margin)")
    distances = _pick(
        rng,
        "d = " + h.sq("embeddings.unsqueeze(1) - embeddings.unsqueeze(0)") + ".sum(-1)",
        "diff = embeddings[:, None] - embeddings[None]\nd = " + h.sq("diff") + ".sum(dim=2)",
    )
    hardest = _pick(
        rng,
        "hp = torch.where(pos, d, torch.full_like(d, -float('inf'))).max(dim=1).values\n"
        "hn = torch.where(neg, d, torch.full_like(d, float('inf'))).min(dim=1).values",
        "hp = d.masked_fill(~pos, float('-inf')).amax(1)\n"
        "hn = d.masked_fill(~neg, float('inf')).amin(1)",
    )
    end = (
        f"loss = {h.rectify('hp[ok] - hn[ok] + self.margin')}\nreturn {h.avg('loss')}"
        if h.temporaries
        else f"return {h.avg(h.rectify('hp[ok] - hn[ok] + self.margin'))}"
    )
    forward = "\n".join(
        [
            distances,
            _pick(
                rng,
                "same = labels.unsqueeze(0) == labels.unsqueeze(1)",
                "same = labels[:, None] == labels[None, :]",
            ),
            _pick(
                rng,
                "pos = same & ~torch.eye(len(labels), dtype=torch.bool, device=d.device)",
                "pos = same.clone()\npos.fill_diagonal_(False)",
            ),
            "neg = ~same",
            _pick(
                rng,
                "ok = pos.any(1) & neg.any(1)",
                "ok = torch.logical_and(pos.any(dim=1), neg.any(dim=1))",
            ),
            "if not ok.any():\n    return embeddings.sum() * 0"
            if h.inline_if
            else "if ok.sum() == 0:\n    return (embeddings * 0).sum()",
            hardest,
            end,
        ]
    )
    return init, forward


def center_loss(h: Habits, rng: random.Random) -> tuple[str, str]:
    init = _pick(
        rng,
        "self.centers = nn.Parameter(torch.randn(num_classes, feat_dim))",
        "self.centers = nn.Parameter(torch.zeros(num_classes, feat_dim).normal_())",
    )
    pick = _pick(
        rng,
        "c = self.centers.to(features.dtype)[labels]",
        "c = torch.index_select(self.centers, 0, labels).to(features.dtype)",
    )
    half = _pick(rng, "0.5 * {}", "{} / 2")
    if h.temporaries:
        forward = (
            f"{pick}\ndist = {h.sum1(h.sq('features - c'))}\nreturn {half.format(h.avg('dist'))}"
        )
    else:
        forward = f"{pick}\nreturn {half.format(h.avg(h.sum1(h.sq('features - c'))))}"
    return init, forward


WRITERS = {
    contract.BASIC_BLOCK: basic_block,
    contract.BOTTLENECK: bottleneck,
    contract.CONVNEXT_BLOCK: convnext_block,
    contract.INVERTED_RESIDUAL: inverted_residual,
    contract.ARCFACE: arcface,
    contract.COSFACE: cosface,
    contract.SPHEREFACE: sphereface,
    contract.TRIPLET_LOSS: triplet_loss,
    contract.BATCH_HARD_TRIPLET_LOSS: batch_hard_triplet_loss,
    contract.CENTER_LOSS: center_loss,
}


def _fill(source: str, bodies: tuple[str, str]) -> str:
    """Replace the cell's two solution regions (__init__, forward) with `bodies`."""
    parts = iter(bodies)

    def replace(match: re.Match) -> str:
        indent = match.group(1)
        return "\n".join(indent + line if line else line for line in next(parts).splitlines())

    return SOLUTION.sub(replace, source)


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def independent_notebook(source: nbformat.NotebookNode, seed: int) -> nbformat.NotebookNode:
    """The source notebook as one more student would have written its ten components."""
    rng = random.Random(seed)
    habits = Habits.draw(rng)
    notebook = nbformat.from_dict(source)
    for cell in notebook.cells:
        writer = WRITERS.get(_grade_id(cell))
        if writer is not None:
            cell.source = _fill(cell.source, writer(habits, rng))
    return notebook


def components_of(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> source of each of the ten rewritten cells."""
    return {_grade_id(c): c.source for c in notebook.cells if _grade_id(c) in WRITERS}


def rename_identifiers(cell_source: str) -> str:
    """The cell with every function's local variables renamed, reformatted, comments dropped.

    Parameters, attributes, globals and class attributes keep their names: they are the
    contract, and the copy must still run.
    """
    tree = ast.parse(cell_source)
    fresh = (f"v{i}_{word}" for i, word in enumerate(itertools.cycle(["tmp", "val", "acc"])))
    for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
        parameters = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
        local = {
            n.id
            for n in ast.walk(function)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id not in parameters
        }
        names = {name: next(fresh) for name in sorted(local)}
        for node in ast.walk(function):
            if isinstance(node, ast.Name) and node.id in names:
                node.id = names[node.id]
    return ast.unparse(tree)


def reorder_methods(cell_source: str) -> str:
    """The cell with each class's methods in reverse order (forward before __init__)."""
    tree = ast.parse(cell_source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            methods = [n for n in node.body if isinstance(n, ast.FunctionDef)]
            others = [n for n in node.body if not isinstance(n, ast.FunctionDef)]
            node.body = others + methods[::-1]
    return ast.unparse(tree)


def recomment(cell_source: str) -> str:
    """The cell with a comment on every other line and blank lines doubled."""
    lines = []
    for number, line in enumerate(cell_source.splitlines()):
        stripped = line.rstrip()
        lines.append(f"{stripped}  # step {number}" if number % 2 and stripped else stripped)
        if not stripped:
            lines.append("")
    return "\n".join(lines)
