"""Code similarity: planted copies outrank independent work; starter code is never evidence."""

import csv
import itertools
import os
import shutil
import subprocess
import sys

import nbformat
import pytest
import torch

from autograder.similarity.detect import SimilarityOptions, detect_similarity
from autograder.similarity.report import PAIRS_CSV
from facekit.base.contract import (
    ARCFACE,
    BASIC_BLOCK,
    BOTTLENECK,
    CONVNEXT_BLOCK,
    INVERTED_RESIDUAL,
    TRIPLET_LOSS,
)
from facekit.base.paths import HANDOUT_NOTEBOOK, SOLUTION_NOTEBOOK
from facekit.cli.main import main
from facekit.notebook.extract import extract_module, import_module_from_source
from facekit.notebook.reference import load_reference

INDEPENDENT = 32
PLANTED = {  # copier -> victim
    "copy_renamed": "student_00",
    "copy_reordered": "student_01",
    "copy_recommented": "student_02",
    "copy_disguised": "student_03",
    "copy_partial": "student_04",
}


@pytest.fixture(scope="module")
def source():
    return nbformat.read(SOLUTION_NOTEBOOK, as_version=4)


def _with_components(notebook, replacements):
    copy = nbformat.from_dict(notebook)
    for cell in copy.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in replacements:
            cell.source = replacements[grade_id]
    return copy


def _planted(corpus, notebooks, source):
    rename_identifiers, reorder_methods = corpus.rename_identifiers, corpus.reorder_methods
    recomment = corpus.recomment

    def disguise(victim, transform, only=None):
        parts = corpus.components_of(notebooks[victim])
        chosen = {k: transform(v) for k, v in parts.items() if only is None or k in only}
        return chosen

    # About half the code by volume: the four blocks, ArcFace and the triplet loss.
    half = [BASIC_BLOCK, BOTTLENECK, CONVNEXT_BLOCK, INVERTED_RESIDUAL, ARCFACE]
    half.append(TRIPLET_LOSS)
    own = corpus.independent_notebook(source, seed=1000)
    return {
        "copy_renamed": _with_components(
            notebooks["student_00"], disguise("student_00", rename_identifiers)
        ),
        "copy_reordered": _with_components(
            notebooks["student_01"], disguise("student_01", reorder_methods)
        ),
        "copy_recommented": _with_components(
            notebooks["student_02"], disguise("student_02", recomment)
        ),
        "copy_disguised": _with_components(
            notebooks["student_03"],
            disguise("student_03", lambda s: recomment(reorder_methods(rename_identifiers(s)))),
        ),
        "copy_partial": _with_components(
            own, disguise("student_04", rename_identifiers, only=set(half))
        ),
    }


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory, source, corpus):
    """32 independent students and 5 planted copies, one notebook each."""
    folder = tmp_path_factory.mktemp("class")
    notebooks = {
        f"student_{i:02d}": corpus.independent_notebook(source, seed=i) for i in range(INDEPENDENT)
    }
    notebooks.update(_planted(corpus, notebooks, source))
    for name, notebook in notebooks.items():
        nbformat.write(notebook, folder / f"{name}.ipynb")
    return folder


def _compare(reference, student, name, args, inputs, train):
    expected, got = getattr(reference, name)(*args), getattr(student, name)(*args)
    got.load_state_dict(expected.state_dict())
    expected.double().train(train), got.double().train(train)
    torch.manual_seed(0)
    want = expected(*inputs)
    torch.manual_seed(0)
    have = got(*inputs)
    assert torch.allclose(want, have, atol=1e-9), f"{name}: max abs err {(want - have).abs().max()}"


def test_every_generated_student_is_correct(source, corpus):
    """Does every component of every generated student, and of disguised copies, match the
    reference (outputs)?"""
    reference = load_reference()
    torch.manual_seed(0)
    image = torch.randn(3, 8, 6, 6, dtype=torch.float64)
    emb, labels = torch.randn(6, 5, dtype=torch.float64), torch.tensor([0, 1, 0, 2, 1, 3])
    cases = [
        ("BasicBlock", (8, 16, 2), (image,), True),
        ("BasicBlock", (8, 8, 1), (image,), False),
        ("Bottleneck", (8, 4, 1), (image,), True),
        ("Bottleneck", (8, 4, 2), (image,), False),
        ("ConvNeXtBlock", (8, 0.0, 0.5), (image,), True),
        ("ConvNeXtBlock", (8, 0.5, 0.5), (image,), False),
        ("InvertedResidual", (8, 8, 1, 6), (image,), True),
        ("InvertedResidual", (8, 16, 2, 1), (image,), False),
        ("ArcFace", (5, 4), (emb, labels), True),
        ("CosFace", (5, 4), (emb, labels), True),
        ("SphereFace", (5, 4), (emb, labels), True),
        ("TripletLoss", (), (emb[:3], emb[3:], -emb[:3]), True),
        ("BatchHardTripletLoss", (), (emb, labels), True),
        ("CenterLoss", (4, 5), (emb, labels), True),
    ]
    students = [corpus.independent_notebook(source, seed=seed) for seed in range(INDEPENDENT)]
    disguise = corpus.rename_identifiers, corpus.reorder_methods, corpus.recomment
    parts = corpus.components_of(students[0])
    for transform in disguise:  # a planted copy is still working code
        students.append(_with_components(students[0], {k: transform(v) for k, v in parts.items()}))
    for index, notebook in enumerate(students):
        student = import_module_from_source(extract_module(notebook).source, f"student_{index}")
        for name, args, inputs, train in cases:
            _compare(reference, student, name, args, inputs, train)


@pytest.mark.slow
def test_planted_copies_rank_above_every_independent_pair(class_folder, tmp_path):
    """Do renamed, reordered, re-commented and partial copies all outrank independent pairs?"""
    result = detect_similarity([class_folder], tmp_path / "report", SimilarityOptions(jobs=2))
    planted = {frozenset(pair) for pair in PLANTED.items()}
    scores = {frozenset((p.student_a, p.student_b)): p.score for p in result.pairs}
    students = [f"student_{i:02d}" for i in range(INDEPENDENT)] + list(PLANTED)
    independent = [
        scores.get(frozenset(pair), 0.0)
        for pair in itertools.combinations(students, 2)
        if frozenset(pair) not in planted
        and not {PLANTED.get(pair[0]), PLANTED.get(pair[1])} & set(pair)
    ]
    lowest_planted = min(scores.get(pair, 0.0) for pair in planted)
    assert lowest_planted > max(independent), (lowest_planted, max(independent))
    ranked = [frozenset((p.student_a, p.student_b)) for p in result.pairs[: len(planted)]]
    assert set(ranked) == planted
    with (tmp_path / "report" / "pairs.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert frozenset((rows[0]["student_a"], rows[0]["student_b"])) in planted
    page = (tmp_path / "report" / "pairs" / "1.html").read_text()
    assert "<mark>" in page


@pytest.mark.slow
def test_the_same_class_gets_the_same_report_whatever_the_callers_hash_salt(class_folder, tmp_path):
    """Run from two processes with different string-hash salts, does `facekit similarity` write
    the same pairs.csv (copydetect hashes with Python's salted hash())?"""
    written = []
    for salt in ("1", "2"):
        out = tmp_path / f"salt{salt}"
        subprocess.run(
            [sys.executable, "-m", "facekit", "similarity", str(class_folder), "--out", str(out)]
            + ["--jobs", "2"],
            env={**os.environ, "PYTHONHASHSEED": salt},
            check=True,
            capture_output=True,
        )
        written.append((out / PAIRS_CSV).read_bytes())
    assert written[0] == written[1]


def test_handout_alone_is_never_similar(tmp_path):
    """Do two notebooks holding nothing but the handout's starter code share nothing?"""
    for name in ("a", "b"):
        shutil.copy(HANDOUT_NOTEBOOK, tmp_path / f"{name}.ipynb")
    result = detect_similarity([tmp_path], tmp_path / "report")
    assert result.pairs == []
    assert (tmp_path / "report" / "pairs.csv").read_text().count("\n") == 1


def test_report_escapes_names_and_code(tmp_path, source, corpus):
    """Are student names and code escaped in HTML, and formula-like names neutralised in CSV?"""
    submitted = tmp_path / "submitted"
    notebook = corpus.independent_notebook(source, seed=3)
    for cell in notebook.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == TRIPLET_LOSS:
            cell.source += "\n# </pre><script>alert(1)</script>\n"
    for student in ("=HYPERLINK(1)", "<img src=x onerror=alert(1)>"):
        folder = submitted / student / "hw2p2"
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / "hw2p2.ipynb")
    detect_similarity([submitted], tmp_path / "report")
    index = (tmp_path / "report" / "index.html").read_text()
    page = (tmp_path / "report" / "pairs" / "1.html").read_text()
    assert "<img src=x" not in index and "&lt;img src=x" in index
    assert "<script>" not in page and "&lt;/pre&gt;&lt;script&gt;" in page
    assert "'=HYPERLINK(1)" in (tmp_path / "report" / "pairs.csv").read_text()


def test_unreadable_notebook_is_reported_not_fatal(tmp_path, source, corpus, capsys):
    """Is a broken notebook named in the notes while the rest are still compared?"""
    for seed in (1, 2):
        nbformat.write(corpus.independent_notebook(source, seed=seed), tmp_path / f"s{seed}.ipynb")
    (tmp_path / "broken.ipynb").write_text("{not json")
    assert main(["similarity", str(tmp_path), "--out", str(tmp_path / "r"), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "broken: not compared" in out and "2 notebooks compared" in out


def test_missing_folder_is_a_clear_error(tmp_path, capsys):
    """Does a path that does not exist give a one-line error and exit 2 (usage, as in `grade`)?"""
    assert main(["similarity", str(tmp_path / "nope"), "--out", str(tmp_path / "r")]) == 2
    assert "facekit similarity:" in capsys.readouterr().err
