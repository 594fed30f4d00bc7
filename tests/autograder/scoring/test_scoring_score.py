"""score_submission: values per split, accepted oddities, staff errors, and the CLI report."""

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score

from autograder.scoring import InvalidSubmission, KeysError, TaskScore, score_submission
from facekit.base.contract import CLASSIFICATION, KEYS_VER, SUBMISSION_COLUMNS, VERIFICATION
from facekit.cli.main import main

VERIFICATION_CSV = (
    b"pair_id,score\np1,0.9\np2,0.1\np3,0.5\np4,0.5\np5,0.3\np6,0.2\np7,0.3\np8,0.7\n"
)
CLASSIFICATION_CSV = (
    b"id,label\nimg_0.jpg,alice\nimg_1.jpg,bob\nimg_2.jpg,alice\n"
    b"img_3.jpg,alice\nimg_4.jpg,carol\nimg_5.jpg,carol\n"
)


def test_verification_scores_per_split(keys_dir: Path) -> None:
    """Public, private and overall AUC equal scikit-learn's on the rows of each split."""
    score = score_submission(VERIFICATION, VERIFICATION_CSV, keys_dir)
    labels = np.array([1, 0, 1, 0, 1, 0, 0, 1])
    scores = np.array([0.9, 0.1, 0.5, 0.5, 0.3, 0.2, 0.3, 0.7])
    public = np.array([1, 1, 0, 0, 1, 0, 1, 0], dtype=bool)
    assert score.task == VERIFICATION and score.metric == "roc_auc"
    assert score.public == pytest.approx(roc_auc_score(labels[public], scores[public]), abs=1e-12)
    assert score.private == pytest.approx(
        roc_auc_score(labels[~public], scores[~public]), abs=1e-12
    )
    assert score.overall == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert set(score.details) >= {"eer", "tar_at_far_1e-3"}
    assert score.notes == ()


def test_classification_scores_per_split(keys_dir: Path) -> None:
    """Accuracy on public (img_0, 2, 4) and private (img_1, 3, 5) rows."""
    score = score_submission(CLASSIFICATION, CLASSIFICATION_CSV, keys_dir)
    assert score == TaskScore(
        CLASSIFICATION, "accuracy", public=1 / 3, private=1.0, overall=4 / 6, details={}
    )


def test_row_order_does_not_matter(keys_dir: Path) -> None:
    """Rows are matched by id, not position."""
    header, *rows = VERIFICATION_CSV.decode().splitlines()
    shuffled = "\n".join([header, *reversed(rows)]).encode()
    assert score_submission(VERIFICATION, shuffled, keys_dir) == score_submission(
        VERIFICATION, VERIFICATION_CSV, keys_dir
    )


def test_bom_crlf_whitespace_are_accepted(keys_dir: Path, tmp_path: Path) -> None:
    """Excel-style files (BOM, CRLF, spaces, blank lines) score the same, with a note on the BOM."""
    text = VERIFICATION_CSV.decode().replace(",", " , ").replace("\n", "\r\n") + "\r\n\r\n"
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    score = score_submission(VERIFICATION, path, keys_dir)
    plain = score_submission(VERIFICATION, VERIFICATION_CSV, keys_dir)
    assert (score.public, score.private, score.overall) == (
        plain.public,
        plain.private,
        plain.overall,
    )
    assert score.notes == ("ignored a UTF-8 byte-order mark (BOM) at the start of the file",)


def test_unknown_task(keys_dir: Path) -> None:
    """An unknown task names the choices."""
    with pytest.raises(ValueError, match="unknown task 'detection': expected one of"):
        score_submission("detection", VERIFICATION_CSV, keys_dir)


def _broken_keys(tmp_path: Path, keys_dir: Path, text: str) -> Path:
    broken = tmp_path / "keys"
    shutil.copytree(keys_dir, broken)
    (broken / KEYS_VER).write_text(text)
    return broken


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("pair_id,label\np1,1\n", "wrong header"),
        ("pair_id,label,usage\np1,1,Public\np1,0,Private\n", "duplicate id 'p1'"),
        ("pair_id,label,usage\np2,1,Public\np1,0,Private\np2,0,Private\n", "duplicate id 'p2'"),
        ("pair_id,label,usage\np1,yes,Public\n", "expected 0 or 1, found 'yes'"),
        ("pair_id,label,usage\np1,1,public\n", "expected one of ('Public', 'Private')"),
        ("pair_id,label,usage\n", "no rows"),
        ("pair_id,label,usage\np1,1,Public\np2,0,Public\n", "no Private rows"),
        ("pair_id,label,usage\np1,1,Public\np2,0,Public\np3,1,Private\n", "only one label"),
    ],
)
def test_bad_keys_are_a_staff_error(tmp_path: Path, keys_dir: Path, text: str, words: str) -> None:
    """Defective keys raise KeysError (never InvalidSubmission) naming the defect."""
    with pytest.raises(KeysError, match=KEYS_VER) as caught:
        score_submission(VERIFICATION, VERIFICATION_CSV, _broken_keys(tmp_path, keys_dir, text))
    assert words in str(caught.value)


def test_cli_keys_error_exit_code(tmp_path: Path, capsys) -> None:
    """Missing keys: staff setup, exit 2, and a message saying it is a staff error."""
    submission = tmp_path / "sub.csv"
    submission.write_bytes(VERIFICATION_CSV)
    assert main(["score", VERIFICATION, str(submission), "--keys", str(tmp_path / "no")]) == 2
    assert "staff error" in capsys.readouterr().err


@pytest.mark.parametrize("task", [CLASSIFICATION, VERIFICATION])
def test_cli_report_golden(task: str, keys_dir: Path, tmp_path: Path, golden, capsys) -> None:
    """The printed report matches its golden file."""
    submission = tmp_path / f"{task}.csv"
    submission.write_bytes(CLASSIFICATION_CSV if task == CLASSIFICATION else VERIFICATION_CSV)
    assert main(["score", task, str(submission), "--keys", str(keys_dir)]) == 0
    golden(f"score_{task}.txt", capsys.readouterr().out)


def test_cli_roc_plot(keys_dir: Path, tmp_path: Path, capsys) -> None:
    """--plot writes a PNG."""
    submission = tmp_path / "sub.csv"
    submission.write_bytes(VERIFICATION_CSV)
    plot = tmp_path / "plots" / "roc.png"
    args = ["score", VERIFICATION, str(submission), "--keys", str(keys_dir), "--plot", str(plot)]
    assert main(args) == 0
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_quoted_fields_are_accepted(keys_dir: Path) -> None:
    """A fully quoted CSV (as some tools write) scores like the plain one."""
    lines = VERIFICATION_CSV.decode().splitlines()
    quoted = "\n".join(",".join(f'"{field}"' for field in line.split(",")) for line in lines)
    assert score_submission(VERIFICATION, quoted.encode(), keys_dir) == score_submission(
        VERIFICATION, VERIFICATION_CSV, keys_dir
    )


@pytest.mark.parametrize("task", [CLASSIFICATION, VERIFICATION])
@pytest.mark.parametrize("order", ["keys", "reversed"])
def test_fast_and_checked_paths_agree(task: str, order: str, keys_dir: Path) -> None:
    """The columnar path for clean files gives exactly the row-by-row checker's values."""
    from autograder.scoring.submission import _checked_values, _plain_values
    from facekit.base.errors import ProblemList
    from facekit.base.keys import load_keys

    keys = load_keys(task, keys_dir)
    header, *rows = (
        (CLASSIFICATION_CSV if task == CLASSIFICATION else VERIFICATION_CSV).decode().split()
    )
    text = "\n".join([header, *(reversed(rows) if order == "reversed" else rows)]) + "\n"
    fast = _plain_values(keys, text.encode())
    checked = _checked_values(keys, text, ProblemList("sub.csv"))
    assert fast is not None and fast.dtype == checked.dtype
    assert list(fast) == list(checked)


@pytest.mark.parametrize(
    "text",
    [
        'pair_id,score\n"p1",0.5\n',
        "pair_id,score\np1,0.5\n\np2,0.1\n",
        "pair_id,score\np1,0.5,1\np2\n",
        "pair_id, score\np1,0.5\n",
        "pair_id,score\rp1,0.5\r",
        "pair_id,score\np1,\n",
        "pair_id,score\np1,1_0\n",
        "pair_id,score\np1,0.5\n\xe9,1\n",
    ],
)
def test_irregular_files_leave_the_fast_path(text: str) -> None:
    """Quotes, blank lines, uneven rows, spaced headers, bare CR, empty or odd numbers, bad UTF-8:
    left to the precise reader."""
    from facekit.base.columnar import plain_columns

    data = text.encode("latin-1")
    assert plain_columns(data, SUBMISSION_COLUMNS[VERIFICATION], {"score": pa.float64()}) is None


def test_bad_corpus_never_takes_the_fast_path(bad_submissions: Path, keys_dir: Path) -> None:
    """No defective file of the corpus is accepted by the columnar path."""
    from autograder.scoring.submission import _plain_values
    from facekit.base.keys import load_keys

    for path in sorted(bad_submissions.iterdir()):
        keys = load_keys(CLASSIFICATION if path.name.startswith("cls_") else VERIFICATION, keys_dir)
        assert _plain_values(keys, path.read_bytes()) is None, path.name


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("pair_id,score\n\n\np1,0.9\np2,high\n", 5, "not a number: 'high'"),
        ("pair_id,score\np1,0.9\np2\np3,x\n", 3, "found 1"),
        ('pair_id,score\np1,"0.9\n"\np2,x\n', 4, "not a number: 'x'"),
        ("\r\npair_id,score\r\np1,0.9\r\n\r\np2,nan\r\n", 5, "finite number"),
    ],
)
def test_line_numbers_are_physical(keys_dir: Path, text: str, line: int, words: str) -> None:
    """Blank lines, short rows and multi-line quoted fields never shift the line reported."""
    with pytest.raises(InvalidSubmission) as caught:
        score_submission(VERIFICATION, text.encode(), keys_dir)
    first = caught.value.problems[0]
    assert first.line == line and words in first.message, str(caught.value)


def test_cli_plot_needs_verification(keys_dir: Path, tmp_path: Path, capsys) -> None:
    """--plot with classification is a usage error (exit 2) before anything is read."""
    args = ["score", CLASSIFICATION, "x.csv", "--keys", str(keys_dir), "--plot", "roc.png"]
    assert main(args) == 2
    assert "needs the verification task" in capsys.readouterr().err


def test_cli_directory_as_submission(keys_dir: Path, tmp_path: Path, capsys) -> None:
    """A directory given as the submission is reported, not a traceback."""
    assert main(["score", VERIFICATION, str(tmp_path), "--keys", str(keys_dir)]) == 1
    assert "cannot read the file" in capsys.readouterr().err


ODD_NUMBERS = ["1.", "-.5", "+.5", ".e1", "1e", "1e+", "1e-5", "0x10", "1_0", " 1", "1 ", "1d"]
ODD_NUMBERS += ["infinity", "-inf", "nan", "+nan", "1e400", "-0", "00012", "1.5.2", "e5", "--1"]
ODD_NUMBERS += ["1e-400", "1E5", "INF", "0.5\x0b", "\u0663", "\uff11"]


@pytest.mark.parametrize("text", ODD_NUMBERS)
def test_fast_path_never_accepts_what_the_checker_refuses(text: str, keys_dir: Path) -> None:
    """For odd score spellings the columnar path either steps aside or agrees exactly."""
    from autograder.scoring.submission import _checked_values, _plain_values
    from facekit.base.errors import ProblemList
    from facekit.base.keys import load_keys

    keys = load_keys(VERIFICATION, keys_dir)
    data = VERIFICATION_CSV.decode().replace("p1,0.9", f"p1,{text}")
    fast = _plain_values(keys, data.encode())
    try:
        checked = _checked_values(keys, data, ProblemList("sub.csv"))
    except InvalidSubmission:
        assert fast is None
    else:
        assert fast is None or list(fast) == list(checked)


ODD_FILES = [
    VERIFICATION_CSV.replace(b"\n", b"\r", 3),  # bare CR line ends mixed with LF
    VERIFICATION_CSV.replace(b"\n", b"\r\n"),
    VERIFICATION_CSV.replace(b"p1,0.9\n", b"p1,0.9,\n"),  # trailing comma: a third field
    VERIFICATION_CSV.replace(b"p1,0.9\n", b"p1\t,0.9\n"),
    VERIFICATION_CSV.replace(b"p1,0.9\n", b"p1,0.9\np1,0.9\n"),  # a repeated row
    VERIFICATION_CSV.replace(b"p8,0.7\n", b"p8,0.7"),  # no final newline
    VERIFICATION_CSV + b"\n",
    VERIFICATION_CSV.replace(b"pair_id,score\n", b"pair_id,score,\n"),
    VERIFICATION_CSV.replace(b"p1,", b"P1,"),
]


@pytest.mark.parametrize("data", ODD_FILES, ids=range(len(ODD_FILES)))
def test_fast_path_agrees_on_odd_files(data: bytes, keys_dir: Path) -> None:
    """Odd line ends, fields and rows: the columnar path steps aside or agrees exactly."""
    from autograder.scoring.submission import _checked_values, _plain_values
    from facekit.base.errors import ProblemList
    from facekit.base.keys import load_keys

    keys = load_keys(VERIFICATION, keys_dir)
    fast = _plain_values(keys, data)
    try:
        checked = _checked_values(keys, data.decode(), ProblemList("sub.csv"))
    except InvalidSubmission:
        assert fast is None
    else:
        assert fast is None or list(fast) == list(checked)
