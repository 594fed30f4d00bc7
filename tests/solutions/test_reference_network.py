"""Is the reference Network what the notebook and DESIGN.md describe?"""

import pytest
import torch

from facekit.base.contract import BOTTLENECK, INVERTED_RESIDUAL

TINY = dict(widths=(4, 8, 8, 16), depths=(1, 2, 1, 1), embedding_dim=12)
VARIANTS = [
    ("resnet", None),
    ("resnet", "basic"),
    ("resnet", BOTTLENECK),
    ("resnet", INVERTED_RESIDUAL),
    ("convnext", None),
]


@pytest.mark.parametrize(("arch", "block"), VARIANTS)
def test_network_returns_feats_and_logits(reference, arch, block):
    """Does forward return {"feats": (N, D), "out": (N, C)} with out = classifier(feats)?"""
    torch.manual_seed(0)
    model = reference.Network(5, arch=arch, block=block, **TINY)
    result = model(torch.randn(3, 3, 32, 32))
    assert set(result) == {"feats", "out"}
    assert tuple(result["feats"].shape) == (3, 12)
    assert tuple(result["out"].shape) == (3, 5)
    torch.testing.assert_close(result["out"], model.classifier(result["feats"]))


@pytest.mark.parametrize(("arch", "block"), [("resnet", "basic"), ("convnext", None)])
def test_default_network_reaches_7x7_on_112_faces(reference, arch, block):
    """With the default configuration, is a 112x112 face a 7x7 map before pooling?"""
    model = reference.Network(10, arch=arch, block=block).eval()
    sizes = []
    model.stages[-1].register_forward_hook(lambda _, __, output: sizes.append(output.shape))
    with torch.no_grad():
        result = model(torch.randn(1, 3, 112, 112))
    assert tuple(sizes[0][-2:]) == (7, 7)
    assert tuple(result["feats"].shape) == (1, 512)
    assert tuple(result["out"].shape) == (1, 10)


def test_network_stages_use_the_graded_blocks(reference):
    """Are the stages built from the notebook's own blocks, first blocks of later stages strided?"""
    model = reference.Network(3, block=BOTTLENECK, **TINY)
    blocks = [block for stage in model.stages for block in stage]
    assert all(isinstance(block, reference.Bottleneck) for block in blocks)
    first_strides = [stage[0].conv2.stride for stage in model.stages]
    assert first_strides == [(1, 1), (2, 2), (2, 2), (2, 2)]
    model = reference.Network(3, arch="convnext", **TINY)
    assert sum(isinstance(m, reference.ConvNeXtBlock) for m in model.modules()) == sum(
        TINY["depths"]
    )


def test_convnext_drop_path_grows_linearly(reference):
    """Does stochastic depth grow from 0 to drop_path over the blocks, as in ConvNeXt?"""
    model = reference.Network(3, arch="convnext", drop_path=0.3, **TINY)
    rates = [m.drop_path for m in model.modules() if isinstance(m, reference.ConvNeXtBlock)]
    torch.testing.assert_close(torch.tensor(rates), torch.linspace(0.0, 0.3, len(rates)))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (dict(arch="vit"), "arch must be one of ['convnext', 'resnet'], got 'vit'"),
        (dict(block="dense"), "got 'dense'"),
        (dict(arch="convnext", block="basic"), "block for arch='convnext' must be None"),
        (dict(depths=(1, 1), widths=(4, 8, 16)), "depths=(1, 1) and widths=(4, 8, 16)"),
    ],
)
def test_network_rejects_bad_configuration(reference, arguments, message):
    """Does a bad configuration raise ValueError naming the expected and received values?"""
    with pytest.raises(ValueError) as error:
        reference.Network(3, **arguments)
    assert message in str(error.value)


def test_network_warns_when_a_block_was_redefined_after_it(reference):
    """Does Network warn when a block's cell was re-run without re-running the Network cell?"""
    namespace = vars(reference)
    original = namespace["BasicBlock"]

    class BasicBlock(original):  # the student's edited block, defined after the Network cell
        pass

    namespace["BasicBlock"] = BasicBlock
    try:
        with pytest.warns(UserWarning, match="BasicBlock was redefined .* re-run the Network cell"):
            reference.Network(5, widths=(4, 8), depths=(1, 1))
    finally:
        namespace["BasicBlock"] = original


def test_network_is_silent_when_its_blocks_are_current(reference, recwarn):
    """Does a freshly run notebook build its Network without that warning?"""
    reference.Network(5, widths=(4, 8), depths=(1, 1))
    assert not [w for w in recwarn if "redefined" in str(w.message)]
