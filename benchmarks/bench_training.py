"""Training throughput (images/s) and model FLOP utilisation (MFU) at 112x112.

Run: `python benchmarks/bench_training.py [--device cuda] [--quick]`. Times the same training
step (uint8 batch -> normalise -> autocast forward -> cross-entropy -> backward -> SGD step) for
the reference Network built from configs/resnet.toml and configs/convnext.toml and for
torchvision's resnet18, resnet50 and convnext_tiny, in one process on one device. FLOPs of one
forward+backward come from torch.utils.flop_counter.FlopCounterMode; MFU = FLOPs per step / step
time / peak FLOP/s (--peak-tflops, default by GPU name, e.g. H100 bf16 dense 989). On CPU MFU is
printed as n/a (no meaningful peak). Inputs are random: this measures the model, not the loader
(see bench_pipeline.py for that).

Then the targets of issue 15, each with its figure and whether it is met: every reference model's
images/s at least 1.0x the torchvision model nearest to it in FLOPs per image, and its achieved
FLOP/s at least torchvision resnet50's (convolutional nets are memory-bound, so the comparison is
with the best-tuned peer; MFU is printed for the record).
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from facekit.base.paths import REPO_ROOT
from facekit.notebook.reference import load_reference
from facekit.sandbox_side.inference import normalize
from facekit.training.config import load_config
from facekit.training.objective import network_kwargs
from facekit.training.trainer import AUTOCAST_DTYPES, resolve_device

from bench_common import bench_parser

# Dense (no sparsity) peak TFLOP/s for bf16/fp16 tensor cores, by a substring of the GPU's name.
PEAK_TFLOPS = {
    "H200": 989.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "A10G": 125.0,
    "L4": 121.0,
    "V100": 125.0,
    "T4": 65.0,
    "4090": 165.0,
}


class LogitsOnly(nn.Module):
    """The reference Network's logits, so every model returns a (N, C) tensor."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)["out"]


@dataclass(frozen=True)
class Measured:
    """One model's figures."""

    images_per_second: float
    flops_per_second: float  # achieved: FLOPs of one step / step time

    @property
    def gflop_per_image(self) -> float:
        return self.flops_per_second / self.images_per_second / 1e9


def targets(measured: dict[str, Measured]) -> list[str]:
    """A line per target: the figure next to it, and whether it is met."""
    peers = {name: m for name, m in measured.items() if name.startswith("torchvision")}
    lines = []
    for name, mine in measured.items():
        if not name.startswith("reference") or not peers:
            continue
        peer = min(
            peers, key=lambda p: abs(math.log(peers[p].gflop_per_image / mine.gflop_per_image))
        )
        ratio = mine.images_per_second / peers[peer].images_per_second
        lines.append(
            f"TARGET {name} images/s >= 1.0x {peer} (nearest in FLOPs: "
            f"{mine.gflop_per_image:.2f} vs {peers[peer].gflop_per_image:.2f} GFLOP/img): "
            f"{ratio:.2f}x ({'met' if ratio >= 1.0 else 'NOT met'})"
        )
        best = measured.get("torchvision resnet50")
        if best is not None:
            ok = mine.flops_per_second >= best.flops_per_second
            lines.append(
                f"TARGET {name} achieved TFLOP/s >= torchvision resnet50's: "
                f"{mine.flops_per_second / 1e12:.2f} vs {best.flops_per_second / 1e12:.2f} "
                f"({'met' if ok else 'NOT met'})"
            )
    return lines


def models(num_classes: int) -> dict[str, Callable[[], nn.Module]]:
    """Name -> constructor of every benchmarked model."""
    reference = load_reference()
    built = {}
    for name in ("resnet", "convnext"):
        config = load_config(REPO_ROOT / "configs" / f"{name}.toml")
        kwargs = network_kwargs(config, reference)
        built[f"reference {name}"] = lambda k=kwargs: LogitsOnly(
            reference.Network(num_classes, **k)
        )
    built["torchvision resnet18"] = lambda: torchvision.models.resnet18(num_classes=num_classes)
    built["torchvision resnet50"] = lambda: torchvision.models.resnet50(num_classes=num_classes)
    built["torchvision convnext_tiny"] = lambda: torchvision.models.convnext_tiny(
        num_classes=num_classes
    )
    return built


def peak_flops(device: torch.device, override_tflops: float | None) -> float | None:
    """Peak FLOP/s of `device` (None on CPU or an unknown GPU without --peak-tflops)."""
    if override_tflops:
        return override_tflops * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((tf * 1e12 for key, tf in PEAK_TFLOPS.items() if key in name), None)


def benchmark(model: nn.Module, args, device: torch.device) -> tuple[float, float]:
    """(images per second, FLOPs of one forward+backward) of the training step."""
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(device, memory_format=memory_format).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images = torch.randint(
        0,
        256,
        (args.batch_size, 3, args.image_size, args.image_size),
        dtype=torch.uint8,
        device=device,
    )
    labels = torch.randint(0, args.num_classes, (args.batch_size,), device=device)
    dtype = AUTOCAST_DTYPES[args.precision]
    step_model = torch.compile(model) if args.compile else model

    def step() -> None:
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = nn.functional.cross_entropy(
                step_model(normalize(images, args.channels_last)), labels
            )
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    with FlopCounterMode(display=False) as counter:
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = nn.functional.cross_entropy(model(normalize(images, args.channels_last)), labels)
        loss.backward()
    optimizer.zero_grad(set_to_none=True)
    for _ in range(args.warmup):
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    synchronize(device)
    seconds = (time.perf_counter() - start) / args.steps
    return args.batch_size / seconds, counter.get_total_flops() / seconds


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--batch-size", type=int, default=256, help="images per step")
    parser.add_argument("--image-size", type=int, default=112, help="square input side")
    parser.add_argument("--num-classes", type=int, default=8631, help="classifier outputs")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    parser.add_argument(
        "--precision",
        choices=["auto", *sorted(AUTOCAST_DTYPES)],
        default="auto",
        help="autocast dtype; auto: bf16 on CUDA, fp32 on CPU (CPUs without bf16 units emulate it)",
    )
    parser.add_argument(
        "--no-channels-last",
        dest="channels_last",
        action="store_false",
        help="keep NCHW instead of NHWC",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile each model")
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help="peak TFLOP/s for MFU (default: by GPU name)",
    )
    parser.add_argument("--only", default=None, help="benchmark models whose name contains this")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="CPU-sized run: batch 8, 1 warm-up, 2 timed steps, 1000 classes",
    )
    args = parser.parse_args()
    if args.quick:
        args.batch_size, args.warmup, args.steps, args.num_classes = 8, 1, 2, 1000
    device = resolve_device(args.device)
    if args.precision == "auto":
        args.precision = "bf16" if device.type == "cuda" else "fp32"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    peak = peak_flops(device, args.peak_tflops)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(
        f"device {name}; batch {args.batch_size} at {args.image_size}x{args.image_size}, "
        f"{args.precision}, channels_last={args.channels_last}, compile={args.compile}, "
        f"{args.num_classes} classes; peak "
        f"{'n/a' if peak is None else f'{peak / 1e12:.0f} TFLOP/s'}"
    )
    print(
        f"{'model':28s} {'params (M)':>10s} {'GFLOP/img':>10s} {'images/s':>10s} "
        f"{'TFLOP/s':>8s} {'MFU':>7s}"
    )
    measured: dict[str, Measured] = {}
    for label, build in models(args.num_classes).items():
        if args.only and args.only not in label:
            continue
        torch.manual_seed(0)
        model = build()
        parameters = sum(p.numel() for p in model.parameters()) / 1e6
        figures = measured[label] = Measured(*benchmark(model, args, device))
        mfu = "n/a" if peak is None else f"{figures.flops_per_second / peak:.1%}"
        print(
            f"{label:28s} {parameters:10.1f} {figures.gflop_per_image:10.2f} "
            f"{figures.images_per_second:10.1f} {figures.flops_per_second / 1e12:8.3f} {mfu:>7s}"
        )
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    for line in targets(measured):
        print(line)


if __name__ == "__main__":
    main()
