"""`run_autograder`'s work: grade the one notebook in /autograder/submission for Gradescope.

Run as `python -m autograder.gradescope.run` from the bundle's `kit/` folder (what
`run_autograder` does). The root (/autograder) moves with the FACEKIT_AUTOGRADER_ROOT environment
variable, for tests. The notebook is graded by the same batch code as `facekit grade` (the judge
in the sandbox); its Gradescope results.json gets the bundle's visibility settings and lands in
`<root>/results/results.json`.

The submission folder is the student's: the notebook is found without following links and read
as a bounded regular file into a private folder, so a link to the reference cannot be graded as
the student's work. A student's fault (no notebook, two notebooks, an unreadable one) is a zero
with the reason. A fault of the grader writes no results.json and exits 3: Gradescope then shows
the run as failed and records no score, so staff can fix the autograder and regrade; it is never
the student's zero.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from autograder.errors import SubmissionError
from autograder.gradescope.bundle import SETTINGS_NAME
from autograder.gradescope.settings import GradescopeSettings, load_settings
from facekit.base.files import replacing
from facekit.base.paths import HANDOUT_NOTEBOOK, REPO_ROOT
from facekit.base.untrusted import UntrustedFileError, read_untrusted_bytes

ROOT_ENVIRONMENT = "FACEKIT_AUTOGRADER_ROOT"
DEFAULT_ROOT = Path("/autograder")
STUDENT = "submission"  # the batch's name for the one student of this run
MAX_NOTEBOOK_BYTES = 64 * 2**20  # a notebook with many plots is a few MB
MAX_ENTRIES = 10_000  # files and folders looked at in the submission
MAX_DEPTH = 8
_IGNORED_FOLDERS = {".ipynb_checkpoints", "__MACOSX"}
EXIT_GRADER_FAULT = 3


def _shown(relative: str) -> str:
    """A student's file name for a message: printable and bounded."""
    return ascii(relative[:200])


def notebook_candidates(submission: Path) -> tuple[list[str], list[str]]:
    """(regular .ipynb files, .ipynb entries that are links or not files), relative, sorted.

    Walks `submission` without following links, bounded in entries and depth.
    """
    notebooks, refused = [], []
    pending, seen = [("", 0)], 0
    while pending:
        relative, depth = pending.pop()
        try:
            entries = list(os.scandir(submission / relative))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > MAX_ENTRIES:
                raise SubmissionError(
                    f"the submission holds more than {MAX_ENTRIES} files; upload the notebook alone"
                )
            path = f"{relative}/{entry.name}" if relative else entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in _IGNORED_FOLDERS and depth < MAX_DEPTH:
                    pending.append((path, depth + 1))
            elif entry.name.endswith(".ipynb"):
                regular = entry.is_file(follow_symlinks=False)
                (notebooks if regular else refused).append(path)
    return sorted(notebooks), sorted(refused)


def choose_notebook(notebooks: list[str], refused: list[str]) -> str:
    """The notebook to grade: the only one, or the one named like the handout among several."""
    if len(notebooks) == 1:
        return notebooks[0]
    if not notebooks:
        why = f"; not plain files (links?): {', '.join(map(_shown, refused))}" if refused else ""
        raise SubmissionError(f"no Jupyter notebook (.ipynb file) in your submission{why}")
    named = [path for path in notebooks if Path(path).name == HANDOUT_NOTEBOOK.name]
    if len(named) == 1:
        return named[0]
    raise SubmissionError(
        f"{len(notebooks)} notebooks in your submission ({', '.join(map(_shown, notebooks))}); "
        f"submit one, named {HANDOUT_NOTEBOOK.name}"
    )


def copy_submitted_notebook(submission: Path, destination: Path) -> Path:
    """Copy the submission's notebook (bounded, no links followed) to `destination`."""
    chosen = choose_notebook(*notebook_candidates(submission))
    try:
        data = read_untrusted_bytes(submission, chosen, MAX_NOTEBOOK_BYTES)
    except UntrustedFileError as error:
        raise SubmissionError(f"your notebook cannot be read: {error}") from None
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_bytes(data)
    return destination


def zero_results(reason: str) -> dict:
    """results.json for a submission without a gradable notebook."""
    return {"score": 0.0, "output": f"Your submission could not be graded: {reason}", "tests": []}


def with_visibility(results: dict, settings: GradescopeSettings) -> dict:
    """`results` with the bundle's visibility applied, and everything shown as plain text.

    Each test names its rubric component in `tags` (the judge's report puts it there). Plain
    text: feedback quotes the student's own error messages, which must not render as HTML.
    """
    tests = []
    for test in results.get("tests", []):
        component = next(iter(test.get("tags", [])), "")
        tests.append({**test, "visibility": settings.for_component(component)})
    return {
        **results,
        "visibility": settings.visibility,
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "tests": tests,
    }


def grade(notebook: Path, work: Path, allow_weaker: tuple[str, ...] = ()) -> dict | None:
    """Gradescope results of `notebook` from the batch grader; None on a grader fault.

    `allow_weaker`: sandbox protections the container lacks that staff accept going without."""
    # Imported inside main's try: a judge that cannot even import is the grader's fault (exit 3).
    from autograder.batch import GRADED, NotebookSubmission, grade_batch  # noqa: PLC0415
    from autograder.judge.judge import default_limits  # noqa: PLC0415

    graded = work / "graded"
    limits = dataclasses.replace(default_limits(), allow_weaker=tuple(allow_weaker))
    outcome = grade_batch(
        [NotebookSubmission(STUDENT, notebook)],
        graded,
        limits=limits,
        use_cache=False,
        progress=False,
        log=print,
    )[0]
    if outcome.status != GRADED:
        print(f"facekit gradescope: the GRADER failed (not the student's fault): {outcome.reason}")
        return None
    return json.loads((graded / STUDENT / "results.json").read_text(encoding="utf-8"))


def main() -> int:
    """Grade the submission into results.json; 0 when written, 3 on a grader fault."""
    start = time.monotonic()
    root = Path(os.environ.get(ROOT_ENVIRONMENT) or DEFAULT_ROOT)
    results_path = root / "results" / "results.json"
    results_path.unlink(missing_ok=True)
    print(f"facekit gradescope: kit at {REPO_ROOT}, Python {sys.executable}")
    try:
        from autograder.judge.rubric import load_rubric  # noqa: PLC0415 - inside the try, as above

        ids = tuple(component.id for component in load_rubric().components)
        settings = load_settings(root / "source" / SETTINGS_NAME, ids)
        with tempfile.TemporaryDirectory(prefix="facekit-gradescope-") as temporary:
            work = Path(temporary)
            try:
                notebook = copy_submitted_notebook(root / "submission", work / "notebook.ipynb")
            except SubmissionError as error:
                results = zero_results(str(error))
            else:
                results = grade(notebook, work, tuple(settings.allow_weaker_sandbox))
        if results is None:
            return EXIT_GRADER_FAULT
    except Exception as error:  # noqa: BLE001 - the autograder's own fault, never a zero
        print(f"facekit gradescope: the GRADER failed (not the student's fault): {error!r}")
        traceback.print_exc(file=sys.stdout)  # stdout is what Gradescope shows staff
        return EXIT_GRADER_FAULT
    results = with_visibility(results, settings)
    results["execution_time"] = round(time.monotonic() - start, 1)
    with replacing(results_path) as partial:
        partial.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"facekit gradescope: score {results['score']:g}; wrote {results_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
