"""Fixtures shared by the autograder tests: the cheat corpus of batch/cheaters.

Each cheaters/<name>.py is one cheat, pasted as a student's cell; a file named in AIMED holds one
sabotage written once and planted as one cheat per target. Tokens in a cell (`__OUT__`,
`__KEYS__`, `__REPO__`) stand for the paths of the grading run the cheat hunts for.
"""

from pathlib import Path

import pytest

from autograder.sandbox import REPO_ROOT

CHEATERS_DIR = Path(__file__).with_name("batch") / "cheaters"
# cheat -> (the file of its sabotage, what the file's __TARGET__ becomes)
AIMED = {
    "link_answers_to_dev_zero": ("link_answers_to_target", "/dev/zero"),
    "link_answers_to_grader_stdin": ("link_answers_to_target", "/proc/self/fd/0"),
}


def _cheat_cells() -> dict[str, str]:
    """Every cheat's cell by name, tokens left in."""
    shared = {file for file, _ in AIMED.values()}
    cells = {p.stem: p.read_text() for p in CHEATERS_DIR.glob("*.py") if p.stem not in shared}
    for cheat, (file, target) in AIMED.items():
        cells[cheat] = (CHEATERS_DIR / f"{file}.py").read_text().replace("__TARGET__", target)
    return dict(sorted(cells.items()))


CHEATS = _cheat_cells()


@pytest.fixture(params=list(CHEATS))
def cheat(request) -> str:
    """Each cheat of the corpus in turn: its name, which is also the student it is graded as."""
    return request.param


@pytest.fixture(scope="session")
def cheat_names() -> list[str]:
    """The names of every cheat of the corpus, sorted."""
    return list(CHEATS)


@pytest.fixture(scope="session")
def cheat_cell():
    """`cheat_cell(name, out, keys)`: the cheat's cell hunting for this run's out dir and keys
    (and the repository)."""

    def cell(name: str, out: Path, keys: Path) -> str:
        code = CHEATS[name]
        for token, value in {"__OUT__": out, "__KEYS__": keys, "__REPO__": REPO_ROOT}.items():
            code = code.replace(token, str(value))
        return code

    return cell
