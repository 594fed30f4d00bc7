"""Does the sandbox refuse to run without a required protection, unless the TA names it?"""

import pytest

from autograder import sandbox
from autograder.sandbox import (
    PROTECTIONS,
    REQUIRED_PROTECTIONS,
    Limits,
    SandboxUnavailable,
    require_isolation,
    run_sandboxed,
)


@pytest.fixture
def machine_without(monkeypatch):
    """`machine_without(*names)`: pretend this machine lacks those protections."""

    def pretend(*names: str) -> None:
        report = {name: name not in names for name in PROTECTIONS}
        monkeypatch.setattr(sandbox, "isolation_report", lambda: report)

    return pretend


def test_required_protections_are_reported():
    """Is every required protection a key of the isolation report?"""
    assert set(REQUIRED_PROTECTIONS) <= set(PROTECTIONS)


@pytest.mark.parametrize(
    ("missing", "allowed", "refused"),
    [
        ((), (), ()),
        (("memory_cgroup",), (), ("memory_cgroup",)),
        (("memory_cgroup", "disk_quota"), ("disk_quota",), ("memory_cgroup",)),
        (("memory_cgroup", "disk_quota"), ("memory_cgroup", "disk_quota"), ()),
        (("unprivileged_user", "landlock_scope"), (), ()),  # not required: other layers cover it
    ],
)
def test_refusal_names_what_is_missing_and_the_flag(machine_without, missing, allowed, refused):
    """Is grading refused exactly when a required protection is missing and not allowed, with a
    message naming it, what it guarantees, and the flag that accepts it?"""
    machine_without(*missing)
    if not refused:
        assert require_isolation(allowed)
        return
    with pytest.raises(SandboxUnavailable) as caught:
        require_isolation(allowed)
    message = str(caught.value)
    for name in refused:
        assert f"- {name}: {REQUIRED_PROTECTIONS[name]}" in message
    assert f"--allow-weaker-sandbox={','.join(refused)}" in message
    assert "sandbox isolation: enforced [" in message


def test_run_refuses_before_starting_anything(machine_without, tmp_path):
    """Does run_sandboxed raise, without running the script, when a protection is missing?"""
    machine_without("unix_sockets_blocked")
    script = tmp_path / "touch.py"
    script.write_text("open('ran', 'w').write('yes')")
    with pytest.raises(SandboxUnavailable, match="unix_sockets_blocked"):
        run_sandboxed(script, tmp_path, Limits())
    assert not (tmp_path / "ran").exists()


def test_unknown_protection_names_are_rejected():
    """Is a misspelt --allow-weaker-sandbox name an error listing the valid ones?"""
    with pytest.raises(ValueError, match="unknown sandbox protection.*memory_cgrup"):
        Limits(allow_weaker=("memory_cgrup",))


@pytest.mark.parametrize(
    "command",
    [
        ["grade", "{nb}", "--out", "{out}"],
        ["grade-model", "--notebook", "{nb}", "--checkpoint", "{nb}", "--data", "{out}"]
        + ["--keys", "{out}", "--out", "{out}"],
    ],
)
def test_grading_commands_refuse_with_exit_2_and_accept_the_flag(
    machine_without, tmp_path, capsys, command
):
    """Do `facekit grade` and `grade-model` refuse (exit 2, naming the protection and the flag,
    writing nothing) on a machine without a required protection, and get past the check when the
    TA names it in --allow-weaker-sandbox?"""
    from facekit.cli.main import main

    machine_without("memory_cgroup")
    notebook, out = tmp_path / "missing.ipynb", tmp_path / "out"
    argv = [part.format(nb=notebook, out=out) for part in command]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert f"facekit {command[0]}: the sandbox cannot enforce" in error
    assert "--allow-weaker-sandbox=memory_cgroup" in error and not out.exists()
    main([*argv, "--allow-weaker-sandbox=memory_cgroup"])  # fails later: the files are missing
    assert "the sandbox cannot enforce" not in capsys.readouterr().err
