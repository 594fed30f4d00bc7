"""Write a similarity run for staff: a ranked CSV and HTML pages, every student string escaped.

    pairs.csv       rank, student_a, student_b, score, shared_fraction_a, shared_fraction_b,
                    shared_fingerprints (every pair that shares anything, most similar first)
    index.html      the ranked table, linking each of the top pairs to its page
    pairs/<n>.html  side by side: both notebooks' graded code, shared regions highlighted

Student names and code are untrusted text: HTML-escaped in pages, and CSV cells that a
spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import html
from collections.abc import Sequence
from pathlib import Path

from copydetect import compare_files
from copydetect.utils import highlight_overlap

from autograder.similarity.fingerprint import Fingerprint
from autograder.similarity.rank import PairScore
from facekit.base.files import replacing
from facekit.base.spreadsheet import inert_cell

PAIRS_CSV = "pairs.csv"
INDEX_HTML = "index.html"
PAIRS_DIR = "pairs"
CSV_HEADER = (
    "rank",
    "student_a",
    "student_b",
    "score",
    "shared_fraction_a",
    "shared_fraction_b",
    "shared_fingerprints",
)
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .25rem .5rem; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.side > div { min-width: 0; }
pre { background: #f7f7f7; padding: .5rem; overflow-x: auto; font-size: 12px; }
mark { background: #ffd27f; }
"""


def write_pairs_csv(pairs: Sequence[PairScore], path: Path) -> None:
    """The ranked pairs, one row each, written atomically."""
    with replacing(path) as partial, partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for rank, pair in enumerate(pairs, start=1):
            writer.writerow(
                (
                    rank,
                    inert_cell(pair.student_a),
                    inert_cell(pair.student_b),
                    f"{pair.score:.4f}",
                    f"{pair.fraction_a:.4f}",
                    f"{pair.fraction_b:.4f}",
                    pair.shared,
                )
            )


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>\n"
    )


def pair_page(rank: int, pair: PairScore, a: Fingerprint, b: Fingerprint) -> str:
    """Both notebooks' graded code side by side, the regions they share highlighted."""
    _, _, (slices_a, slices_b) = compare_files(a.code, b.code)
    columns = []
    for fingerprint, slices, fraction in (
        (a, slices_a, pair.fraction_a),
        (b, slices_b, pair.fraction_b),
    ):
        code = fingerprint.code.raw_code
        if len(slices) and slices.shape[-1]:
            shown, _ = highlight_overlap(code, slices, "<mark>", "</mark>", escape_html=True)
        else:
            shown = html.escape(code)
        columns.append(
            f"<div><h2>{html.escape(fingerprint.student)}</h2>"
            f"<p>{fraction:.0%} of its fingerprints are shared</p><pre>{shown}</pre></div>"
        )
    title = f"#{rank}: {pair.student_a} and {pair.student_b}"
    body = (
        f"<h1>{html.escape(title)}</h1><p>score {pair.score:.3f}, {pair.shared} shared "
        f"fingerprints. <a href='../{INDEX_HTML}'>all pairs</a></p>"
        f"<div class='side'>{''.join(columns)}</div>"
    )
    return _page(title, body)


def index_page(pairs: Sequence[PairScore], pages: int, notes: Sequence[str]) -> str:
    """The ranked table; the first `pages` pairs link to their side-by-side page."""
    rows = []
    for rank, pair in enumerate(pairs, start=1):
        cell = f"<a href='{PAIRS_DIR}/{rank}.html'>{rank}</a>" if rank <= pages else str(rank)
        rows.append(
            f"<tr><td>{cell}</td><td>{html.escape(pair.student_a)}</td>"
            f"<td>{html.escape(pair.student_b)}</td><td>{pair.score:.3f}</td>"
            f"<td>{pair.fraction_a:.0%}</td><td>{pair.fraction_b:.0%}</td></tr>"
        )
    listed = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    body = (
        "<h1>Code similarity</h1>"
        "<p>Graded definitions and the helpers they use, starter code removed; identifiers, "
        "comments, formatting and order do not matter. A high score is a reason to look, not a "
        "verdict.</p>"
        f"<ul>{listed}</ul><table><tr><th>rank</th><th>student A</th><th>student B</th>"
        f"<th>score</th><th>A shared</th><th>B shared</th></tr>{''.join(rows)}</table>"
    )
    return _page("Code similarity", body)


def write_report(
    out: Path,
    pairs: Sequence[PairScore],
    fingerprints: Sequence[Fingerprint],
    pages: int,
    notes: Sequence[str],
) -> None:
    """pairs.csv, index.html and a page for each of the `pages` most similar pairs."""
    out.mkdir(parents=True, exist_ok=True)
    write_pairs_csv(pairs, out / PAIRS_CSV)
    by_student = {fingerprint.student: fingerprint for fingerprint in fingerprints}
    (out / PAIRS_DIR).mkdir(exist_ok=True)
    for rank, pair in enumerate(pairs[:pages], start=1):
        page = pair_page(rank, pair, by_student[pair.student_a], by_student[pair.student_b])
        (out / PAIRS_DIR / f"{rank}.html").write_text(page, encoding="utf-8")
    (out / INDEX_HTML).write_text(index_page(pairs, pages, notes), encoding="utf-8")
