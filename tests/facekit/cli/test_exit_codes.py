"""Every command exits with the documented code for each error kind, with `facekit COMMAND: `."""

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder.errors import GraderFault
from autograder.sandbox import REQUIRED_PROTECTIONS
from data_tools.build import BuildConfig, build_competition
from data_tools.synth import generate_identities
from facekit.base.contract import KEYS_CLS, KEYS_VER, VERIFICATION
from facekit.base.errors import ERROR_KINDS, InputError, KitFault, SetupError
from facekit.base.paths import REPO_ROOT
from facekit.cli.main import COMMANDS, DEBUG_ENV, build_parser, main
from facekit.demo import DemoError
from facekit.training.checkpoint import CheckpointError

SCORING_KEYS = REPO_ROOT / "tests" / "autograder" / "scoring" / "keys"
BAD_CSV = REPO_ROOT / "tests" / "autograder" / "scoring" / "bad_submissions" / "ver_binary.csv"
COURSE_EXAMPLE = REPO_ROOT / "autograder" / "scoring" / "course_example.toml"
WEAKER = "--allow-weaker-sandbox=" + ",".join(REQUIRED_PROTECTIONS)  # no sandbox is started


@dataclass(frozen=True)
class Case:
    """One command line, what it should exit with, and (for a kit fault) what to break first.

    `argv` items may name files of the `files` fixture as {name}. `breaks` is "module.function"
    made to raise `raises` before the command runs.
    """

    id: str
    argv: list[str]
    code: int
    breaks: str = ""
    raises: Exception = field(default_factory=lambda: RuntimeError("boom"))


INPUT = InputError.exit_code
SETUP = SetupError.exit_code
FAULT = KitFault.exit_code

CASES = [
    # data
    Case("data check: problems found", ["data", "check", "{empty}"], INPUT),
    Case("data build: no source", ["data", "build", "--src", "{missing}", "--out", "{tmp}/c",
                                   "--keys", "{tmp}/k", "--seed", "1"], SETUP),
    Case("data stats: kit fault", ["data", "stats", "{comp}"], FAULT,
         "data_tools.stats.competition_stats"),
    # release
    Case("release: source is not a notebook", ["release", "--source", "{text}", "--out",
                                                "{tmp}/h.ipynb"], SETUP),
    Case("release: kit fault", ["release", "--out", "{tmp}/h.ipynb"], FAULT,
         "facekit.notebook.release.write_handout"),
    # grade
    Case("grade: no such notebook", ["grade", "{missing}", "--out", "{tmp}/g", WEAKER], SETUP),
    Case("grade: grader fault", ["grade", "{notebook}", "--out", "{tmp}/g", WEAKER], FAULT,
         "autograder.batch.grade_batch", GraderFault("the reference scored 0")),
    # score
    Case("score: bad CSV", ["score", VERIFICATION, str(BAD_CSV), "--keys", str(SCORING_KEYS)],
         INPUT),
    Case("score: broken keys", ["score", VERIFICATION, str(BAD_CSV), "--keys", "{broken_keys}"],
         SETUP),
    Case("score: missing keys", ["score", VERIFICATION, str(BAD_CSV), "--keys", "{missing}"],
         SETUP),
    Case("score: kit fault", ["score", VERIFICATION, str(BAD_CSV), "--keys", "{keys}"], FAULT,
         "facekit.base.keys.load_keys"),
    # grades
    Case("grades: bad gradebook", ["grades", "--config", str(COURSE_EXAMPLE), "--gradebook",
                                   "{text}", "--leaderboard", "{text}", "--manual", "{text}",
                                   "--out", "{tmp}/g.csv"], INPUT),
    Case("grades: bad course file", ["grades", "--config", "{text}", "--gradebook", "{text}",
                                     "--leaderboard", "{text}", "--out", "{tmp}/g.csv"], SETUP),
    Case("grades: kit fault", ["grades", "--config", str(COURSE_EXAMPLE), "--gradebook", "{text}",
                               "--leaderboard", "{text}", "--out", "{tmp}/g.csv"], FAULT,
         "autograder.scoring.course_config.load_grades_config"),
    # kaggle-bundle
    Case("kaggle-bundle: cannot write", ["kaggle-bundle", "--keys", "{keys}", "--out",
                                         "{text}/sub"], INPUT),
    Case("kaggle-bundle: broken keys", ["kaggle-bundle", "--keys", "{broken_keys}", "--out",
                                        "{tmp}/kb"], SETUP),
    Case("kaggle-bundle: kit fault", ["kaggle-bundle", "--keys", "{keys}", "--out", "{tmp}/kb"],
         FAULT, "autograder.scoring.kaggle.write_kaggle_bundle"),
    # leaderboard
    Case("leaderboard roster: bad roster", ["leaderboard", "roster", "--db", "{db}", "{text}",
                                            "--out", "{tmp}/tokens.csv"], INPUT),
    Case("leaderboard serve: broken keys", ["leaderboard", "serve", "--db", "{db}", "--keys",
                                            "{broken_keys}", "--port", "0"], SETUP),
    Case("leaderboard serve: missing keys", ["leaderboard", "serve", "--db", "{db}", "--keys",
                                             "{missing}", "--port", "0"], SETUP),
    Case("leaderboard roster: kit fault", ["leaderboard", "roster", "--db", "{db}", "{text}",
                                           "--out", "{tmp}/tokens.csv"], FAULT,
         "autograder.leaderboard.roster.read_roster"),
    # submit
    Case("submit: server unreachable", ["submit", "--server", "http://127.0.0.1:9", "--token",
                                        "t", "--task", VERIFICATION, str(BAD_CSV)], INPUT),
    Case("submit: no token", ["submit", "--server", "http://127.0.0.1:9", "--task",
                              VERIFICATION, str(BAD_CSV)], SETUP),
    Case("submit: kit fault", ["submit", "--server", "http://127.0.0.1:9", "--token", "t",
                               "--task", VERIFICATION, str(BAD_CSV)], FAULT,
         "autograder.leaderboard.client.submit_file"),
    # train
    Case("train: unreadable checkpoint", ["train", "--config", "configs/tiny_cpu.toml", "--comp",
                                          "{comp}", "--out", "{tmp}/run"], INPUT,
         "facekit.training.trainer.train", CheckpointError("last.pt: not a checkpoint")),
    Case("train: no config", ["train", "--config", "{missing}", "--comp", "{comp}", "--out",
                              "{tmp}/run"], SETUP),
    Case("train: kit fault", ["train", "--config", "{missing}", "--comp", "{comp}", "--out",
                              "{tmp}/run"], FAULT, "facekit.training.config.load_config"),
    # grade-model
    Case("grade-model: invalid notebook", ["grade-model", "--notebook", "{text}", "--checkpoint",
                                           "{text}", "--comp", "{comp}", "--keys", "{keys}",
                                           WEAKER], INPUT),
    Case("grade-model: broken keys", ["grade-model", "--notebook", "{text}", "--checkpoint",
                                      "{text}", "--comp", "{comp}", "--keys", "{broken_keys}",
                                      WEAKER], SETUP),
    Case("grade-model: grader fault", ["grade-model", "--notebook", "{text}", "--checkpoint",
                                       "{text}", "--comp", "{comp}", "--keys", "{keys}", WEAKER],
         FAULT, "autograder.rescore.grade_model.grade_model", GraderFault("self-test failed")),
    # demo
    Case("demo: --out is not a demo", ["demo", "--out", "{tmp}"], SETUP),
    Case("demo: a step fails", ["demo", "--out", "{tmp}/demo"], FAULT, "facekit.cli.demo.run_demo",
         DemoError("the reference scored 0", "autograde")),
    # gradescope-bundle
    Case("gradescope-bundle: bad settings", ["gradescope-bundle", "--out", "{tmp}/gs", "--config",
                                             "{text}"], SETUP),
    Case("gradescope-bundle: kit fault", ["gradescope-bundle", "--out", "{tmp}/gs"], FAULT,
         "autograder.gradescope.bundle.build_bundle"),
    # similarity
    Case("similarity: no such folder", ["similarity", "{missing}", "--out", "{tmp}/s"], SETUP),
    Case("similarity: kit fault", ["similarity", "{notebook}", "--out", "{tmp}/s"], FAULT,
         "autograder.similarity.detect.detect_similarity"),
    # audit
    Case("audit: no class folder", ["audit", "{missing}", "--comp", "{comp}", "--keys", "{keys}",
                                    "--out", "{tmp}/a"], SETUP),
    Case("audit: grader fault", ["audit", "{empty}", "--comp", "{comp}", "--keys", "{keys}",
                                 "--out", "{tmp}/a"], FAULT, "autograder.audit.run.audit_class",
         GraderFault("the reference does not run")),
]  # fmt: skip


@pytest.fixture(scope="module")
def competition(tmp_path_factory) -> tuple[Path, Path]:
    """A small real competition directory and its keys (what grade-model and train read)."""
    root = tmp_path_factory.mktemp("exit_codes")
    generate_identities(root / "synth", identities=12, images_per_identity=8, size=32, seed=3)
    config = BuildConfig(seed=7, ver_identities=4, val_pairs=20, test_pairs=30)
    build_competition(root / "synth", root / "comp", root / "keys", config)
    return root / "comp", root / "keys"


@pytest.fixture
def files(tmp_path, competition) -> dict[str, str]:
    """The paths the cases name: good and broken keys, a text file, a notebook, an empty dir."""
    comp, keys = competition
    broken = tmp_path / "broken_keys"
    broken.mkdir()
    for name in (KEYS_CLS, KEYS_VER):
        (broken / name).write_text("these are not keys\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "text.txt").write_text("not a notebook, CSV, roster or TOML = [\n")
    notebook = tmp_path / "alice.ipynb"
    shutil.copy(REPO_ROOT / "handout" / "hw2p2.ipynb", notebook)
    return {
        "tmp": str(tmp_path / "work"),
        "comp": str(comp),
        "keys": str(keys),
        "broken_keys": str(broken),
        "missing": str(tmp_path / "missing"),
        "empty": str(tmp_path / "empty"),
        "text": str(tmp_path / "text.txt"),
        "notebook": str(notebook),
        "db": f"sqlite:///{tmp_path / 'leaderboard.db'}",
    }


def _argv(case: Case, files: dict[str, str]) -> list[str]:
    Path(files["tmp"]).mkdir(exist_ok=True)
    if case.argv[:2] == ["demo", "--out"] and not case.breaks:  # a folder that is not a demo's
        (Path(files["tmp"]) / "thesis.tex").write_text("precious")
    return [part.format(**files) for part in case.argv]


def _raiser(error: Exception) -> Callable[..., None]:
    def raise_it(*args, **kwargs) -> None:
        raise error

    return raise_it


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_exit_code_and_prefix(case: Case, files, monkeypatch, capsys):
    """Does the command exit with its kind's code and say `facekit COMMAND: ` on stderr?"""
    monkeypatch.delenv("FACEKIT_TOKEN", raising=False)
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    monkeypatch.chdir(REPO_ROOT)
    if case.breaks:
        module, name = case.breaks.rsplit(".", 1)
        monkeypatch.setattr(f"{module}.{name}", _raiser(case.raises))
    argv = _argv(case, files)
    assert main(argv) == case.code
    err = capsys.readouterr().err
    assert f"facekit {argv[0]}: " in err, err
    assert "Traceback" not in err
    if case.code == FAULT and not isinstance(case.raises, KitFault):
        assert "bug in facekit" in err and type(case.raises).__name__ in err


def test_every_command_and_kind_has_a_case():
    """Does the table cover every command, and every kind at least once per kind?"""
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    assert commands == {case.argv[0] for case in CASES}
    assert len(commands) == len(COMMANDS)
    assert {case.code for case in CASES} == {kind.exit_code for kind in ERROR_KINDS}
    assert all(
        {SETUP, FAULT} <= {case.code for case in CASES if case.argv[0] == command}
        for command in commands
    )


@pytest.mark.parametrize("argv", [["score"], ["leaderboard", "serve"], ["grade-model"]])
def test_usage_errors_exit_2_with_the_prefix(argv, capsys):
    """Is a command-line usage error exit 2, `facekit COMMAND...: error: ...` (argparse)?"""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == SETUP
    assert f"facekit {' '.join(argv)}: error: " in capsys.readouterr().err


def test_debug_env_shows_the_traceback(files, monkeypatch, capsys):
    """With FACEKIT_DEBUG=1, does a kit fault still exit 3 and also print its traceback?"""
    monkeypatch.setenv(DEBUG_ENV, "1")
    monkeypatch.setattr("facekit.base.keys.load_keys", _raiser(RuntimeError("boom")))
    assert main(["score", VERIFICATION, str(BAD_CSV), "--keys", files["keys"]]) == FAULT
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: boom" in err
    assert "facekit score: the kit failed (RuntimeError: boom)" in err


def test_help_documents_every_kind(capsys):
    """Does `facekit --help` list each kind with its exit code (from ERROR_KINDS)?"""
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for kind in ERROR_KINDS:
        assert f"  {kind.exit_code}  {kind.kind}." in out
    assert DEBUG_ENV in out


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["score", VERIFICATION, str(BAD_CSV), "--keys", "{broken_keys}"]),
        pytest.param(
            ["leaderboard", "serve", "--db", "{db}", "--keys", "{broken_keys}", "--port", "0"],
            marks=pytest.mark.slow,
        ),
        pytest.param(
            ["grade-model", "--notebook", "{text}", "--checkpoint", "{text}", "--comp", "{comp}"]
            + ["--keys", "{broken_keys}", WEAKER],
            marks=pytest.mark.slow,
        ),
    ],
    ids=["score", "leaderboard serve", "grade-model"],
)
def test_broken_keys_exit_2_from_the_real_entry_point(argv, files):
    """Through a real `python -m facekit` process: broken keys are staff setup (exit 2) for
    `score`, `leaderboard serve` and `grade-model` alike, with the prefix and no traceback."""
    command = [sys.executable, "-m", "facekit", *(part.format(**files) for part in argv)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT, check=False
    )
    assert done.returncode == SETUP, done.stderr
    assert done.stderr.startswith(f"facekit {argv[0]}: ") and "Traceback" not in done.stderr
