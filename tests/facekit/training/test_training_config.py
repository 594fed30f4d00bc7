"""Training configs: the shipped files parse, and every mistake is named with its file and key."""

from pathlib import Path

import pytest

from facekit.base.errors import ConfigError
from facekit.base.paths import REPO_ROOT
from facekit.base.tables import describe_keys
from facekit.training.config import TrainConfig, load_config

SHIPPED = sorted((REPO_ROOT / "configs").glob("*.toml"))
OTHER_TOOLS = {"grade_model.toml", "gradescope.toml"}  # configs of grade-model and the bundle
TRAINING_CONFIGS = [path for path in SHIPPED if path.name not in OTHER_TOOLS]


@pytest.mark.parametrize("path", TRAINING_CONFIGS, ids=lambda path: path.name)
def test_shipped_configs_parse(path: Path):
    """Does every shipped training config load and build a Network the reference accepts?"""
    from facekit.notebook.reference import load_reference
    from facekit.training.objective import network_kwargs

    config = load_config(path)
    reference = load_reference()
    network = reference.Network(3, **network_kwargs(config, reference))
    assert sum(p.numel() for p in network.parameters()) > 0


def test_resnet_and_convnext_configs_are_shipped():
    """Are the two realistic GPU configs there, at 112x112?"""
    names = {path.name for path in TRAINING_CONFIGS}
    assert {"resnet.toml", "convnext.toml", "tiny_cpu.toml"} <= names
    for name, arch in (("resnet.toml", "resnet"), ("convnext.toml", "convnext")):
        config = load_config(REPO_ROOT / "configs" / name)
        assert (config.model.arch, config.data.image_size) == (arch, 112)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[optim]\nlrr = 0.1\n", "[optim] unknown key 'lrr'"),
        ("colour = 1\n", "unknown key 'colour'"),
        ("[optim]\nlr = 'fast'\n", "[optim] lr: expected a number, got 'fast'"),
        ("[head]\nkind = 'softmaxx'\n", "[head] kind: expected one of"),
        ("[run]\nepochs = true\n", "[run] epochs: expected an integer"),
        ("[run]\nepochs = 0\n", "run.epochs must be at least 1"),
        ("[data]\nimages_per_identity = 1\n", "must be 0 (off) or at least 2"),
        ("[aux]\nstage = 'finetune'\n", "needs aux.kind other than 'none'"),
        (
            "[head]\nkind = 'softmax'\nmargin_warmup_epochs = 2\n",
            "margin_warmup_epochs needs a margin head",
        ),
        ("[optim\n", "not valid TOML"),
        ("[data]\nmean = [0.5, 0.5]\n", "data.mean must hold 3 numbers"),
        ("[data]\nstd = [0.5, 0.0, 0.5]\n", "data.std must be positive"),
        ("[data]\nmean = ['a', 0.5, 0.5]\n", "[data] mean[0]: expected a number, got 'a'"),
        ("[data]\nstd = 0.5\n", "[data] std: expected a list"),
    ],
)
def test_bad_config_is_named(tmp_path: Path, text: str, expected: str):
    """Is a bad key or value an error naming the file and what is wrong?"""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_integers_are_accepted_for_floats(tmp_path: Path):
    """Is `lr = 1` read as the float 1.0 rather than refused?"""
    path = tmp_path / "int.toml"
    path.write_text("[optim]\nlr = 1\n")
    assert load_config(path).optim.lr == 1.0


def test_unknown_network_option_is_named(tmp_path: Path):
    """Is a typo in model.options refused with the Network's real parameter names?"""
    from facekit.notebook.reference import load_reference
    from facekit.training.objective import network_kwargs

    path = tmp_path / "typo.toml"
    path.write_text("[model]\noptions = { widht = [8] }\n")
    with pytest.raises(ConfigError, match="Network has no parameter 'widht'.*widths"):
        network_kwargs(load_config(path), load_reference())


def test_every_field_is_described():
    """Does every config field carry a one-line description?"""
    keys = [line for line in describe_keys(TrainConfig).splitlines() if line.startswith("  ")]
    assert len(keys) > 30 and all(line.split("): ", 1)[1].strip() for line in keys)


def test_a_config_edited_in_code_is_checked_by_the_trainer(tmp_path: Path):
    """Is a config changed after loading (a benchmark's variant) refused by `train` with the
    loader's message, before any data is read, instead of failing mid-run?"""
    from facekit.training.trainer import train

    config = load_config(REPO_ROOT / "configs" / "lfw.toml")
    config.head.kind, config.head.options = "softmax", {}  # keeps lfw.toml's margin warm-up
    with pytest.raises(ConfigError, match="margin_warmup_epochs needs a margin head"):
        train(config, tmp_path / "no-competition", tmp_path / "run")
    assert not (tmp_path / "run").exists()
