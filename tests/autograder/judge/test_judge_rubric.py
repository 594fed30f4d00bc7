"""The rubric file: loads, covers the contract, and rejects typos loudly."""

import pytest

from autograder.judge.rubric import RUBRIC_PATH, load_rubric, load_rubric_file
from facekit.base.contract import (
    ARCFACE,
    BATCH_HARD_TRIPLET_LOSS,
    COMPONENT_CLASSES,
    COMPONENTS,
)
from facekit.base.errors import ConfigError


def test_rubric_covers_the_contract():
    """Does the rubric grade exactly the contract's components, in its order, with points?"""
    rubric = load_rubric()
    assert tuple(c.id for c in rubric.components) == COMPONENTS
    assert {c.id: c.class_name for c in rubric.components} == COMPONENT_CLASSES
    assert all(component.max_points > 0 for component in rubric.components)
    assert sum(component.max_points for component in rubric.components) == 100


def test_rubric_has_the_required_edge_cases():
    """Are stride/channel changes, float64, eval mode and the loss edge cases all present?"""
    cases = {(c.id, case.name): case for c in load_rubric().components for case in c.cases}
    assert (ARCFACE, "theta_plus_m_beyond_pi") in cases
    assert (ARCFACE, "cos_theta_exactly_one") in cases
    assert (BATCH_HARD_TRIPLET_LOSS, "no_valid_triplet") in cases
    assert any(case.dtype == "float64" for case in cases.values())
    assert any(case.mode == "eval" for case in cases.values())
    assert any(case.ctor.get("stride") == 2 for case in cases.values())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('mode = "eval"', 'mdoe = "eval"'), "[components[0].cases[2]] unknown key 'mdoe'"),
        (
            ('dtype = "float64"', 'dtype = "float16"'),
            "dtype: expected one of 'float32', 'float64', got 'float16'",
        ),
        (
            ("[tolerance.float32]", "[tolerance.float32]\nabsolute = 1"),
            "[tolerance.float32] unknown key 'absolute'",
        ),
        (
            ('kind = "labels"', 'kind = "label"'),
            "kind: expected one of 'randn', 'labels', 'label_rows', got 'label'",
        ),
        (
            ('requires = ["mixed_labels_with_singleton"]', 'requires = ["mixed"]'),
            "unknown case(s) ['mixed']",
        ),
        (
            (f'id = "{ARCFACE}"', 'id = "arc_face"'),
            "[components[4]] id: 'arc_face' is not a component of the contract",
        ),
        (
            (f'id = "{ARCFACE}"', f'id = "{ARCFACE}"\nclass_name = "ArcFace"'),
            "[components[4]] unknown key 'class_name'",
        ),
    ],
)
def test_typos_are_errors(tmp_path, edit, message):
    """Is a misspelt key or a bad value an error that names it?"""
    text = RUBRIC_PATH.read_text(encoding="utf-8").replace(*edit, 1)
    path = tmp_path / "rubric.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_rubric_file(path)
    assert message in str(error.value)
