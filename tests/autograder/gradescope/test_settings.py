"""The `[gradescope]` table: defaults, per-component visibility, and errors that name the key."""

import pytest

from autograder.gradescope.settings import GradescopeSettings, settings_from_table
from facekit.base.contract import BASIC_BLOCK, NETWORK
from facekit.base.errors import ConfigError

IDS = (BASIC_BLOCK, NETWORK)


def test_defaults_show_everything():
    """Does a course file without a [gradescope] table show every result at once?"""
    settings = settings_from_table({"grade_model": {"batch": "ignored"}}, "course.toml", IDS)
    assert settings == GradescopeSettings()
    assert settings.for_component(NETWORK) == "visible"


def test_component_overrides_the_default():
    """Does a listed component get its own visibility and the others the default?"""
    table = {"test_visibility": "after_due_date", "tests": {NETWORK: "hidden"}}
    settings = settings_from_table({"gradescope": table}, "course.toml", IDS)
    assert settings.for_component(NETWORK) == "hidden"
    assert settings.for_component(BASIC_BLOCK) == "after_due_date"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"visibilty": "hidden"}, "[gradescope] unknown key 'visibilty'"),
        ({"visibility": "later"}, "[gradescope] visibility: expected one of"),
        ({"test_visibility": True}, "[gradescope] test_visibility: expected one of"),
        (
            {"tests": {"netwrk": "hidden"}},
            "[gradescope.tests] netwrk: no rubric component of that id",
        ),
        ({"tests": {NETWORK: "secret"}}, "[gradescope.tests] network: expected one of"),
        ({"tests": "hidden"}, "[gradescope] tests: expected a table"),
    ],
)
def test_bad_settings_name_file_and_key(table, message):
    """Is every mistake an error naming the file and the key, never silently ignored?"""
    with pytest.raises(ConfigError, match="course.toml") as error:
        settings_from_table({"gradescope": table}, "course.toml", IDS)
    assert message in str(error.value)


def test_unknown_table_is_named():
    """Is a top-level table no tool reads (a misspelt [gradescope]) an error naming it?"""
    with pytest.raises(ConfigError, match=r"course.toml: unknown table \[gradescop\]"):
        settings_from_table({"gradescop": {}}, "course.toml", IDS)


def test_toml_round_trip():
    """Does the copy written into the bundle read back as the same settings?"""
    import tomllib

    settings = GradescopeSettings("after_published", "after_due_date", {NETWORK: "hidden"})
    again = settings_from_table(tomllib.loads(settings.to_toml()), "bundle", IDS)
    assert again == settings


def test_allow_weaker_sandbox_names_are_checked_and_kept(tmp_path):
    """Are the sandbox protections a course accepts going without checked by name and carried
    into the bundle's copy of the table?"""
    from autograder.gradescope.settings import load_settings

    ids = (BASIC_BLOCK,)
    good = tmp_path / "good.toml"
    good.write_text('[gradescope]\nallow_weaker_sandbox = ["memory_cgroup", "process_limit"]\n')
    settings = load_settings(good, ids)
    assert settings.allow_weaker_sandbox == ["memory_cgroup", "process_limit"]
    assert 'allow_weaker_sandbox = ["memory_cgroup", "process_limit"]' in settings.to_toml()
    bad = tmp_path / "bad.toml"
    bad.write_text('[gradescope]\nallow_weaker_sandbox = ["memory_cgrup"]\n')
    with pytest.raises(ConfigError, match="unknown protection 'memory_cgrup'"):
        load_settings(bad, ids)
