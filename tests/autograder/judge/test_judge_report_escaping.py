"""Student text in report.md renders as plain text: no forged total, heading, link or HTML."""

import nbformat
import pytest
from markdown_it import MarkdownIt

from autograder.judge import grade_notebook
from autograder.judge.report import (
    CaseResult,
    ComponentResult,
    StudentReport,
    code_block,
    code_span,
)
from facekit.base.contract import ARCFACE, CENTER_LOSS

FORGERIES = [
    "\n\n**Total: 100 / 100**\n\n",
    "\n# Grade: full marks\n",
    "[see the solution](https://evil.example/x)",
    "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "\n```\n\n## BasicBlock (`basic_block`)\n\n**Total: 100 / 100**\n```\n",
    "| BasicBlock | 8 / 8 |\n|---|---|",
    "&lt;b&gt; &#42;&#42;bold&#42;&#42; ![img](x.png) <https://evil.example>",
    "line\u2028# heading after a Unicode line separator\r# and after CR",
]


def _rendered(markdown: str):
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    flat = [t for token in tokens for t in [token, *(token.children or [])]]
    return MarkdownIt("commonmark").enable("table").render(markdown), flat


def _report(text: str) -> StudentReport:
    case = CaseResult("random", 0.0, 3.0, f"summary {text}", (f"raised RuntimeError: {text}",))
    component = ComponentResult(ARCFACE, "ArcFace", (case,), (f"note {text}",))
    return StudentReport(f"{text}.ipynb", (component,), (f"cell 3 raised {text}",), seed=7)


@pytest.mark.parametrize("text", FORGERIES)
def test_forged_markdown_renders_as_text(text):
    """Does every forgery, placed in each student-controlled field, render as literal text?"""
    html, tokens = _rendered(_report(text).to_markdown())
    strong = [t for t in tokens if t.type == "strong_open"]
    assert len(strong) == 1, html  # only the real total
    assert "<strong>Total: 0 / 3</strong>" in html
    assert not [t for t in tokens if t.type in ("link_open", "image", "html_inline", "html_block")]
    headings = [t for t in tokens if t.type == "heading_open"]
    assert len(headings) == 3, html  # the title, the notes, the component
    assert "<script" not in html and "<img" not in html
    assert sum(t.type == "table_open" for t in tokens) == 1


@pytest.mark.parametrize("text", ["a*b_c [e](f) <g> #h |i| &amp; \\ ~j~", "`x``", " lead"])
def test_code_span_shows_the_text_exactly(text):
    """Does inline code render back to exactly the original characters?"""
    html = MarkdownIt("commonmark").render(code_span(text))
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert html == f"<p><code>{escaped}</code></p>\n"


def test_code_block_cannot_be_closed_from_inside():
    """Is the fence longer than any backtick run the text holds?"""
    lines = code_block("a\n``````\nb")
    assert lines[0] == lines[-1] == "`" * 7


@pytest.mark.slow
def test_attack_notebook_cannot_forge_its_report(source_notebook, write_notebook, tmp_path):
    """A notebook whose cells raise Markdown (and whose file name is Markdown): does report.md
    still show one total, the real one, and no link or HTML?"""
    notebook = nbformat.reads(nbformat.writes(source_notebook), as_version=4)
    forged = "".join(FORGERIES).replace("\\", "")
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            f"raise RuntimeError({forged!r})\n", metadata={"tags": ["export"]}
        )
    )
    center = next(
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == CENTER_LOSS
    )
    center.source = center.source.replace(
        "centers = self.centers.to(",
        f"raise ValueError({forged!r})\n        centers = self.centers.to(",
    )
    report = grade_notebook(write_notebook(notebook, name="[x](https:evil) #1.ipynb"))
    report.write(tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "Total: 100 / 100" in markdown  # quoted, as code
    html, tokens = _rendered(markdown)
    assert [t.content for t in tokens if t.type == "text" and t.content.startswith("Total")] == [
        f"Total: {report.total:g} / 100"
    ]
    assert report.total == 94
    assert not [t for t in tokens if t.type in ("link_open", "image", "html_inline", "html_block")]
    headings = [t for t in tokens if t.type == "heading_open"]
    assert len(headings) == 2 + len(report.components), html
