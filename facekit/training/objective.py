"""What training minimises: cross-entropy on the Network's logits plus a margin head and an
optional center or triplet loss on its embeddings, all built from the reference module.

The Network's own classifier (`out`) is what predicts identities at test time (and what
`grade-model` recomputes from a student's Network alone); the margin head shapes the embedding
space (`feats`) used for verification.
"""

import inspect
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from facekit.base.contract import ARCFACE, COMPONENT_CLASSES, COSFACE, SPHEREFACE
from facekit.base.errors import ConfigError
from facekit.training.config import TrainConfig

HEAD_CLASSES = {head: COMPONENT_CLASSES[head] for head in (ARCFACE, COSFACE, SPHEREFACE)}

SPHEREFACE_SHARE = 1 / 6
"""SphereFace's share of its target logit once warmed up: its paper trains with
(λ ‖x‖ cos θ + ‖x‖ ψ(θ)) / (1 + λ), λ annealed down to 5, never to 0. With ψ alone the target
logit starts near -‖x‖ and shrinking every embedding is the quickest way down the loss: the
--quick heads table's SphereFace stayed at chance (train accuracy 0.02) until this was added."""


def checked_kwargs(constructor: Any, options: dict[str, Any], where: str) -> dict[str, Any]:
    """`options` after checking every key is a parameter of `constructor` (typos are errors)."""
    parameters = inspect.signature(constructor).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(options)
    for key in options:
        if key not in parameters:
            raise ConfigError(
                f"{where}: {constructor.__name__} has no parameter {key!r} "
                f"(parameters: {', '.join(parameters)})"
            )
    return dict(options)


def network_kwargs(config: TrainConfig, reference: ModuleType) -> dict[str, Any]:
    """Keyword arguments (besides num_classes) for the reference Network, checked."""
    if "arch" in config.model.options:
        raise ConfigError("model.options: set the architecture with model.arch, not options.arch")
    kwargs = {"arch": config.model.arch, **config.model.options}
    return checked_kwargs(reference.Network, kwargs, "model.options")


def measure_embedding_dim(network: nn.Module, image_size: int, device: torch.device) -> int:
    """The Network's embedding_dim D of `feats` (N, D), from one forward pass on blank images."""
    was_training = network.training
    network.eval()
    with torch.no_grad():
        feats = network(torch.zeros(2, 3, image_size, image_size, device=device))["feats"]
    network.train(was_training)
    return int(feats.shape[1])


class TrainingModel(nn.Module):
    """Network + margin head + auxiliary loss as one module, so DDP synchronises all of them.

    forward(images (N, 3, S, S) float, labels (N,) long, aux_scale float) ->
    (loss scalar, logits (N, C), parts {name: detached scalar}).
    """

    def __init__(
        self,
        network: nn.Module,
        config: TrainConfig,
        reference: ModuleType,
        num_classes: int,
        embedding_dim: int,
    ):
        super().__init__()
        self.network = network
        self.label_smoothing = config.optim.label_smoothing
        self.head_weight = config.head.weight
        self.aux_weight = config.aux.weight
        self.head = None
        self.margin_warmup_epochs = config.head.margin_warmup_epochs
        # SphereFace's share of its logits against margin-free ones (see warm_up_margin).
        self.sphereface_share = SPHEREFACE_SHARE if config.head.kind == SPHEREFACE else None
        if config.head.kind != "softmax":
            head_class = getattr(reference, HEAD_CLASSES[config.head.kind])
            options = checked_kwargs(head_class, config.head.options, "head.options")
            self.head = head_class(embedding_dim, num_classes, **options)
            self.margin = float(self.head.m)
        elif config.head.options:
            raise ConfigError("head.options: the softmax head takes no options")
        self.center_loss = self.triplet_loss = None
        if config.aux.kind == "center":
            self.center_loss = reference.CenterLoss(num_classes, embedding_dim)
        elif config.aux.kind == "triplet":
            self.triplet_loss = reference.BatchHardTripletLoss(margin=config.aux.margin)

    def warm_up_margin(self, epoch: int) -> None:
        """Bring the head's margin in over the warm-up, by `epoch` (0-based) / warm-up epochs.

        An additive margin (ArcFace, CosFace) grows from 0 to m. SphereFace's m is an integer
        multiplying the angle, so instead its logits blend in from the margin-free ones,
        ‖x‖ cos θ, up to SPHEREFACE_SHARE, as its paper anneals them. A margin on randomly
        initialised embeddings asks for a separation the network cannot give yet; without it the
        head first learns to separate identities at all. It changes once per epoch, not per
        step, so a compiled model recompiles only a few times.
        """
        if self.head is None or not self.margin_warmup_epochs:
            return
        ramp = min(1.0, epoch / self.margin_warmup_epochs)
        if self.sphereface_share is not None:
            self.sphereface_share = SPHEREFACE_SHARE * ramp
        else:
            self.head.m = self.margin * ramp

    def _head_logits(self, feats: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The margin head's logits; SphereFace's blended with margin-free ones, ‖x‖ cos θ."""
        logits = self.head(feats, labels)
        if self.sphereface_share is None:
            return logits
        cosine = F.linear(F.normalize(feats, dim=1), F.normalize(self.head.weight.float(), dim=1))
        plain = feats.norm(dim=1, keepdim=True) * cosine
        return self.sphereface_share * logits + (1.0 - self.sphereface_share) * plain

    def forward(self, images: torch.Tensor, labels: torch.Tensor, aux_scale: float = 1.0):
        output = self.network(images)
        logits, feats = output["out"], output["feats"]
        parts = {"ce": F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing)}
        if self.head is not None:
            # Margin heads normalise; float32 keeps cos θ near ±1 accurate under autocast.
            margin_logits = self._head_logits(feats.float(), labels)
            parts["head"] = self.head_weight * F.cross_entropy(
                margin_logits, labels, label_smoothing=self.label_smoothing
            )
        if self.center_loss is not None:
            # Always computed (scaled by 0 before a fine-tuning stage) so DDP sees the centers used.
            parts["center"] = aux_scale * self.aux_weight * self.center_loss(feats.float(), labels)
        if self.triplet_loss is not None:
            parts["triplet"] = (
                aux_scale * self.aux_weight * self.triplet_loss(feats.float(), labels)
            )
        loss = sum(parts.values())
        return loss, logits, {name: value.detach() for name, value in parts.items()}
