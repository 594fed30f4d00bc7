"""Takes graded components from libraries instead of writing them, hidden from a source check
(names built at run time): torchvision's ResNet blocks, ConvNeXt's CNBlock and MobileNetV2's
InvertedResidual as thin wrappers with the contract's names, and torch's own triplet loss. Without
the imports policy, the ResNet blocks and the triplet loss would earn their points."""

import importlib

import torch.nn.functional as F
from torch import nn


def _attack():
    global _library, _resnet
    _library = importlib.import_module("torch" + "vision." + "models")
    _resnet = getattr(_library, "res" + "net")


class _Armed:  # top-level statements are skipped by the grader; a class body runs
    _attack()


def _downsample(in_channels, out_channels, stride):
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class BasicBlock(getattr(_resnet, "Basic" + "Block")):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(
            in_channels, out_channels, stride, _downsample(in_channels, out_channels, stride)
        )


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels, mid_channels, stride=1):
        super().__init__()
        inner = getattr(_resnet, "Bottle" + "neck")(
            in_channels, mid_channels, stride, _downsample(in_channels, 4 * mid_channels, stride)
        )
        self.downsample = inner.downsample
        for name, child in inner.named_children():
            setattr(self, name, child)
        self._forward = type(inner).forward

    def forward(self, x):
        return self._forward(self, x)


class ConvNeXtBlock(nn.Module):
    def __init__(self, channels, drop_path=0.0, layer_scale_init=1e-6):
        super().__init__()
        convnext = getattr(_library, "conv" + "next")
        self.block = convnext.CNBlock(channels, layer_scale_init, drop_path)

    def forward(self, x):
        return self.block(x)


class TripletLoss(nn.Module):
    def __init__(self, margin=0.2):
        super().__init__()
        self.margin = margin

    def forward(self, anchor, positive, negative):
        loss = getattr(F, "triplet_margin_" + "with_distance_loss")
        return loss(
            anchor,
            positive,
            negative,
            distance_function=lambda a, b: (a - b).pow(2).sum(dim=1),
            margin=self.margin,
        )
