"""Exponential moving average of a model's weights, evaluated instead of the raw weights."""

import copy

import torch
from torch import nn


class ModelEma:
    """A frozen copy of `model` whose floating-point state follows it: e ← decay·e + (1−decay)·w.

    Buffers that are not floating point (BatchNorm's batch counters) are copied as they are.
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average one step towards `model`'s current weights."""
        averaged, current = [], []
        for ema_value, value in zip(
            self.module.state_dict().values(), model.state_dict().values(), strict=True
        ):
            if ema_value.is_floating_point():
                averaged.append(ema_value)
                current.append(value.detach())
            else:
                ema_value.copy_(value)
        torch._foreach_lerp_(averaged, current, 1.0 - self.decay)
