"""Pieces of the training loop: schedule, EMA, preprocessing, objective under CPU autocast."""

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from facekit.base.contract import ARCFACE, COSFACE, SPHEREFACE
from facekit.sandbox_side import inference
from facekit.training.config import TrainConfig
from facekit.training.ema import ModelEma
from facekit.training.trainer import lr_factor


def test_lr_warms_up_then_decays_by_cosine():
    """Linear to 1 over the warm-up, cosine down to min_ratio at the end."""
    factors = [lr_factor(step, 100, 10, 0.01) for step in range(101)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert factors[10] == pytest.approx(1.0)
    assert factors[55] == pytest.approx(0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert factors[100] == pytest.approx(0.01)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:], strict=False))


def test_ema_follows_the_model():
    """e <- decay*e + (1-decay)*w for floats; integer buffers are copied."""
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    ema = ModelEma(model, decay=0.9)
    before = ema.module[0].weight.clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
    model[1].num_batches_tracked += 5
    ema.update(model)
    expected = 0.9 * before + 0.1 * model[0].weight
    assert torch.allclose(ema.module[0].weight, expected), (ema.module[0].weight - expected).abs()
    assert int(ema.module[1].num_batches_tracked) == 5


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".pgm"])
def test_eval_image_reads_every_format(tmp_path: Path, suffix: str):
    """JPEG, PNG and grayscale PGM all become uint8 RGB (3, S, S)."""
    path = tmp_path / f"face{suffix}"
    mode = "L" if suffix == ".pgm" else "RGB"
    Image.new(mode, (23, 31), color=128 if mode == "L" else (10, 200, 30)).save(path)
    image = inference.eval_image(path, 16)
    assert image.shape == (3, 16, 16) and image.dtype == torch.uint8


def test_normalize_keeps_channels_last():
    """uint8 (N, 3, H, W) -> float normalised, NHWC when asked."""
    images = torch.full((2, 3, 4, 4), 255, dtype=torch.uint8)
    out = inference.normalize(images, channels_last=True)
    assert out.is_contiguous(memory_format=torch.channels_last)
    expected = (1.0 - inference.MEAN[0]) / inference.STD[0]
    assert torch.allclose(out[:, 0], torch.full_like(out[:, 0], expected))


@pytest.mark.parametrize("head", ["softmax", ARCFACE, COSFACE, SPHEREFACE])
@pytest.mark.parametrize("aux", ["none", "center", "triplet"])
def test_objective_trains_under_bf16_autocast_channels_last(head: str, aux: str):
    """Does every head and auxiliary loss give a finite loss and gradients in bf16 on CPU?"""
    from facekit.notebook.reference import load_reference
    from facekit.training.objective import TrainingModel, measure_embedding_dim, network_kwargs

    config = TrainConfig()
    config.model.options = {"depths": [1, 1], "widths": [8, 16], "embedding_dim": 16}
    config.head.kind, config.aux.kind = head, aux
    reference = load_reference()
    network = reference.Network(5, **network_kwargs(config, reference))
    network = network.to(memory_format=torch.channels_last)
    model = TrainingModel(network, config, reference, 5, measure_embedding_dim(network, 16, "cpu"))
    images = torch.randn(8, 3, 16, 16).contiguous(memory_format=torch.channels_last)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 4])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, logits, parts = model(images, labels)
    loss.backward()
    assert torch.isfinite(loss) and logits.shape == (8, 5)
    assert set(parts) >= {"ce"} and (head == "softmax") == ("head" not in parts)
    grads = [p.grad for p in network.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("world_size", [1, 2])
def test_identity_batches_hold_p_identities_of_k_images(world_size: int):
    """Each batch: batch_size / K identities, K images each; ranks get different batches."""
    from facekit.training.data import IdentityBatchSampler

    labels = [label for label in range(10) for _ in range(3 + label % 4)]
    per_rank = []
    for rank in range(world_size):
        sampler = IdentityBatchSampler(labels, 8, 4, seed=1, rank=rank, world_size=world_size)
        sampler.set_epoch(2)
        batches = list(sampler)
        assert len(batches) == len(sampler) >= 1
        for batch in batches:
            identities = [labels[index] for index in batch]
            assert len(batch) == 8 and sorted(identities.count(i) for i in set(identities)) == [
                4,
                4,
            ]
        per_rank.append(batches)
    if world_size == 2:
        assert per_rank[0] != per_rank[1]


def test_identity_batches_need_a_multiple_of_k():
    """batch_size not divisible by images_per_identity is a clear error."""
    from facekit.training.data import DataError, IdentityBatchSampler

    with pytest.raises(DataError, match=r"data.batch_size \(10\) must be a multiple"):
        IdentityBatchSampler([0, 0, 1, 1], 10, 4, seed=0)


def test_margin_warms_up_linearly_per_epoch():
    """m grows as m * epoch / warm-up epochs from 0, then stays at the configured m."""
    from facekit.notebook.reference import load_reference
    from facekit.training.objective import TrainingModel

    config = TrainConfig()
    config.head.options, config.head.margin_warmup_epochs = {"s": 16.0, "m": 0.4}, 4
    network = torch.nn.Identity()
    model = TrainingModel(network, config, load_reference(), 5, 8)
    margins = []
    for epoch in range(6):
        model.warm_up_margin(epoch)
        margins.append(model.head.m)
    assert margins == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.4])


@pytest.mark.parametrize("warmup_epochs", [0, 4])
def test_sphereface_logits_blend_in_from_margin_free_ones(warmup_epochs: int):
    """SphereFace's integer m stays; its logits are mixed with ‖x‖ cos θ as its paper trains
    them: only margin-free at epoch 0 of a warm-up, then a growing share of its own, up to
    SPHEREFACE_SHARE (at once without a warm-up)."""
    from facekit.notebook.reference import load_reference
    from facekit.training.objective import SPHEREFACE_SHARE, TrainingModel

    config = TrainConfig()
    config.head.kind, config.head.options = SPHEREFACE, {}
    config.head.margin_warmup_epochs = warmup_epochs
    model = TrainingModel(torch.nn.Identity(), config, load_reference(), 5, 8)
    feats = torch.randn(6, 8, generator=torch.Generator().manual_seed(0)) * 3
    labels = torch.tensor([0, 1, 2, 3, 4, 0])
    cosine = F.linear(F.normalize(feats), F.normalize(model.head.weight))
    plain, sphere = feats.norm(dim=1, keepdim=True) * cosine, model.head(feats, labels)
    ramp = [(0, 0.0), (1, 0.25), (3, 0.75), (4, 1.0), (9, 1.0)] if warmup_epochs else [(0, 1.0)]
    for epoch, fraction in ramp:
        model.warm_up_margin(epoch)
        share = fraction * SPHEREFACE_SHARE
        expected = share * sphere + (1 - share) * plain
        blended = model._head_logits(feats, labels)
        assert model.head.m == 4 and torch.allclose(blended, expected, atol=1e-5), epoch


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([1, 2], "must be a dict"),
        ({"image_size": 0}, "image_size must be a positive integer"),
        ({"image_size": True}, "image_size must be a positive integer"),
        ({"image_size": 1.5}, "image_size must be a positive integer"),
        ({"mean": [0.5, 0.5]}, "mean must be 3 numbers"),
        ({"mean": "0.5"}, "mean must be 3 numbers"),
        ({"std": [0.5, 0.5, 0.0]}, "std must be positive"),
        ({"resize": "nearest"}, "resize must be one of bilinear-antialias"),
        ({"channel_order": "GRB"}, "channel_order must be one of RGB, BGR"),
        ({"interpolation": "bicubic"}, "unknown field 'interpolation'"),
    ],
)
def test_malformed_preprocessing_is_named(raw, message: str):
    """Is every malformed preprocessing record refused with the field that is wrong?"""
    with pytest.raises(ValueError, match=message):
        inference.Preprocessing.from_dict(raw)


def test_preprocessing_round_trips_and_fills_defaults():
    """Does a stored record read back as itself, and a partial one take the course defaults?"""
    chosen = inference.Preprocessing(64, (0.4, 0.5, 0.6), (0.2, 0.3, 0.4), channel_order="BGR")
    assert inference.Preprocessing.from_dict(chosen.to_dict()) == chosen
    assert inference.Preprocessing.from_dict({"image_size": 64}) == inference.Preprocessing(64)


def test_bgr_preprocessing_swaps_channels():
    """Is channel_order BGR the RGB normalisation with the channels reversed?"""
    images = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)
    rgb = inference.normalize(images)
    bgr = inference.normalize(
        images.flip(1), preprocessing=inference.Preprocessing(channel_order="BGR")
    )
    assert torch.equal(rgb, bgr)


def test_normalize_matches_torchvision_transforms():
    """Does normalize give bit for bit what the notebook's ToDtype(scale) + Normalize gives?"""
    from torchvision.transforms import v2

    images = torch.randint(0, 256, (2, 3, 5, 5), dtype=torch.uint8)
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.3, 0.4)
    transform = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)])
    expected = torch.stack([transform(image) for image in images])
    got = inference.normalize(images, preprocessing=inference.Preprocessing(mean=mean, std=std))
    assert torch.equal(got, expected), f"max abs err {(got - expected).abs().max()}"
