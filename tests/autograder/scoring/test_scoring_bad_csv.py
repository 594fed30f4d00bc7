"""The bad-CSV corpus: each defect gets one clear, located message, from the API and the CLI."""

import subprocess
import sys
from pathlib import Path

import pytest

from autograder.scoring import InvalidSubmission, score_submission
from facekit.base.contract import CLASSIFICATION, VERIFICATION
from facekit.cli.main import main

# file in bad_submissions/, line, column, words the message must contain
CORPUS = [
    ("ver_wrong_header.csv", 1, None, "expected 'pair_id,score', found 'pair_id,similarity'"),
    ("ver_missing_header.csv", 1, None, "is the header row missing?"),
    ("ver_semicolons.csv", 1, None, "separated by semicolons"),
    ("cls_verification_header.csv", 1, None, "a verification submission?"),
    ("ver_missing_ids.csv", None, "pair_id", "3 of 8 ids missing: 'p6', 'p7', 'p8'"),
    ("ver_header_only.csv", None, "pair_id", "8 of 8 ids missing"),
    ("ver_unknown_id.csv", 10, "pair_id", "unknown id 'p99'"),
    ("ver_duplicate_id.csv", 10, "pair_id", "duplicate id 'p3' (first on line 4)"),
    ("ver_empty_id.csv", 10, "pair_id", "empty id"),
    ("ver_empty_score.csv", 5, "score", "empty score"),
    ("ver_non_numeric_score.csv", 5, "score", "not a number: 'high'"),
    ("ver_nan_score.csv", 5, "score", "finite number, found 'NaN'"),
    ("ver_inf_score.csv", 5, "score", "finite number, found '-inf'"),
    ("ver_extra_field.csv", 5, None, "expected 2 fields (pair_id,score), found 3"),
    ("ver_missing_field.csv", 5, None, "expected 2 fields (pair_id,score), found 1"),
    ("ver_unclosed_quote.csv", 5, None, "quoted field is never closed"),
    ("cls_unknown_label.csv", 4, "label", "label 'mallory' is not a known identity"),
    ("cls_empty_label.csv", 4, "label", "empty label"),
    ("ver_utf16.csv", None, None, "UTF-16 encoded: save it as UTF-8"),
    ("ver_latin1.csv", 9, None, "not valid UTF-8 (byte 0xe9)"),
    ("ver_empty_file.csv", None, None, "file is empty"),
    ("ver_binary.csv", 1, None, "NUL bytes"),
]


def _task(name: str) -> str:
    return CLASSIFICATION if name.startswith("cls_") else VERIFICATION


def test_corpus_is_complete(bad_submissions: Path) -> None:
    """Every file of the corpus is in the table (and the table names no missing file)."""
    assert sorted(path.name for path in bad_submissions.iterdir()) == sorted(
        name for name, *_ in CORPUS
    )
    assert len(CORPUS) + 1 >= 15  # +1: the size limit, tested below without a file


@pytest.mark.parametrize(("name", "line", "column", "words"), CORPUS, ids=[c[0] for c in CORPUS])
def test_api_reports_the_defect(
    bad_submissions: Path,
    keys_dir: Path,
    name: str,
    line: int | None,
    column: str | None,
    words: str,
) -> None:
    """Is the first problem located (file, line, column) and explained?"""
    with pytest.raises(InvalidSubmission) as caught:
        score_submission(_task(name), bad_submissions / name, keys_dir)
    first = caught.value.problems[0]
    assert (first.file, first.line, first.column) == (name, line, column), str(caught.value)
    assert words in first.message
    assert str(first) in str(caught.value)


@pytest.mark.parametrize(("name", "line", "column", "words"), CORPUS, ids=[c[0] for c in CORPUS])
def test_cli_reports_the_defect(
    bad_submissions: Path,
    keys_dir: Path,
    capsys: pytest.CaptureFixture,
    name: str,
    line: int | None,
    column: str | None,
    words: str,
) -> None:
    """`facekit score` exits 1 with the located message on stderr and prints no score."""
    code = main(["score", _task(name), str(bad_submissions / name), "--keys", str(keys_dir)])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.startswith("facekit score: invalid submission (")
    assert words in err and name in err
    if line is not None:
        assert f"line {line}" in err


def test_size_limit_is_checked_first(keys_dir: Path) -> None:
    """A file over max_bytes is rejected by its size alone, with both sizes in the message."""
    huge = b"pair_id,score\n" + b"p1,0.5\n" * 200_000
    with pytest.raises(InvalidSubmission, match=r"file is 1\.3 MB, over the limit of 1\.0 MB"):
        score_submission(VERIFICATION, huge, keys_dir, max_bytes=1024 * 1024)


def test_size_limit_from_the_cli(tmp_path: Path, keys_dir: Path, capsys) -> None:
    """`--max-bytes` applies to a path before the file is read."""
    path = tmp_path / "big.csv"
    path.write_bytes(b"pair_id,score\n" + b"p1,0.5\n" * 100)
    assert main(["score", VERIFICATION, str(path), "--keys", str(keys_dir), "--max-bytes", "100"])
    assert "big.csv: file is 714 bytes, over the limit of 100 bytes" in capsys.readouterr().err


def test_every_problem_is_listed_with_a_cap(keys_dir: Path) -> None:
    """All problems are found; the message lists 20 and counts the rest."""
    rows = "".join(f"p{i},bad\n" for i in range(1, 9)) + "".join(f"x{i},1\n" for i in range(30))
    with pytest.raises(InvalidSubmission) as caught:
        score_submission(VERIFICATION, ("pair_id,score\n" + rows).encode(), keys_dir)
    assert caught.value.count == 38
    message = str(caught.value)
    assert message.count("\n") == 20 and message.endswith("... and 18 more problems")


def test_missing_submission_file(keys_dir: Path, capsys) -> None:
    """A submission path that does not exist is the user's problem, not a traceback."""
    assert main(["score", VERIFICATION, "nowhere.csv", "--keys", str(keys_dir)]) == 1
    assert "nowhere.csv: cannot read the file" in capsys.readouterr().err


def test_real_process_prints_no_traceback(bad_submissions: Path, keys_dir: Path) -> None:
    """Through a real `python -m facekit` process: exit 1, a message, no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "facekit", "score", VERIFICATION]
        + [str(bad_submissions / "ver_nan_score.csv"), "--keys", str(keys_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "ver_nan_score.csv, line 5, column 'score'" in result.stderr
