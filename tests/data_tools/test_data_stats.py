"""Competition statistics: the numbers agree with the manifest and the plot is written."""

import json

import pytest

from data_tools.errors import DataToolsError
from data_tools.stats import competition_stats, format_stats, plot_stats
from facekit.base import contract
from facekit.cli.main import main


def test_stats_agree_with_the_manifest(built_competition):
    """Split counts, per-identity counts (with test labels) and pair balance match the build."""
    comp, keys = built_competition
    counts = json.loads((comp / contract.MANIFEST).read_text())["counts"]
    stats = competition_stats(comp, keys)
    assert stats.split_images == {
        "train": counts["train_images"],
        "dev": counts["dev_images"],
        "test": counts["test_images"],
        "ver": counts["ver_images"],
    }
    assert sum(stats.images_per_identity.values()) == sum(
        counts[k] for k in ("train_images", "dev_images", "test_images")
    )
    assert stats.pair_labels == {
        "val": {"same": 10, "different": 10},
        "test": {"same": 15, "different": 15},
    }
    assert dict(stats.image_sizes) == {(32, 32): sum(stats.split_images.values())}
    assert "val pairs: 10 same, 10 different" in format_stats(stats)


def test_plot_is_a_png(tmp_path, built_competition):
    comp, _ = built_competition
    plot_stats(competition_stats(comp), tmp_path / "plots" / "stats.png")
    assert (tmp_path / "plots" / "stats.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in (tmp_path / "plots").iterdir()] == ["stats.png"]


def test_not_a_competition_is_an_error(tmp_path):
    with pytest.raises(DataToolsError, match="is not a competition directory"):
        competition_stats(tmp_path)


def test_cli_stats(tmp_path, built_competition, capsys):
    """`facekit data stats COMP --plot FILE` prints the summary and writes the plot."""
    comp, keys = built_competition
    plot = tmp_path / "stats.png"
    assert main(["data", "stats", str(comp), "--keys", str(keys), "--plot", str(plot)]) == 0
    assert "images per split: train" in capsys.readouterr().out and plot.is_file()
    assert main(["data", "stats", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("facekit data: ")
