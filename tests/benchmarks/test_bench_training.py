"""bench_training.py's targets: the figures beside issue 15's targets, met or not."""

import pytest


@pytest.mark.parametrize(
    ("reference", "peer_speed", "expected"),
    [
        ((1000.0, 2.0e12), 900.0, ["1.11x (met)", "2.00 vs 1.50 (met)"]),
        ((800.0, 1.0e12), 900.0, ["0.89x (NOT met)", "1.00 vs 1.50 (NOT met)"]),
    ],
)
def test_targets_compare_with_nearest_flops_and_resnet50(
    bench_training, reference, peer_speed, expected
):
    """Is the reference compared with the torchvision model nearest in FLOPs per image, and its
    FLOP/s with resnet50's?"""
    measured = bench_training.Measured
    figures = {
        "reference resnet": measured(*reference),  # 2 or 1.25 GFLOP/img
        "torchvision resnet18": measured(5000.0, 5000.0 * 0.6e9),  # 0.6 GFLOP/img
        "torchvision resnet50": measured(peer_speed, 1.5e12),  # ~1.7 GFLOP/img: nearest
    }
    lines = bench_training.targets(figures)
    assert len(lines) == 2
    assert "torchvision resnet50 (nearest in FLOPs" in lines[0] and lines[0].endswith(expected[0])
    assert lines[1].endswith(expected[1])
    assert all(line.startswith("TARGET reference resnet") for line in lines)


def test_no_targets_without_peers(bench_training):
    """Does a run limited to reference models (--only reference) print no target?"""
    assert bench_training.targets({"reference resnet": bench_training.Measured(1.0, 1.0)}) == []
