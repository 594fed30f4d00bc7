"""Grade many submitted notebooks: find them, grade each (in parallel), write the gradebook.

One broken notebook never stops a batch: a student's fault (invalid JSON, a syntax error, an
import of a missing package, a cheat) is that student's zero with the reason, written by the
judge into the student's report. A fault of the grader itself is kept apart: status
`grader_error` in `batch_log.csv`, no points in the gradebook (never a silent zero), and a
non-zero exit code from `facekit grade`.

Output layout (`out_dir`):
    <student>/results.json   Gradescope autograder schema (from the judge's report)
    <student>/report.md      the readable per-student report
    gradebook.csv            student, one column per component (points), total
    batch_log.csv            student, notebook, status, total, max_total, seconds, cached, reason
    grading_cache.json       sha256 of each notebook + grader fingerprint: unchanged ones are
                             not graded again
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.extract import NotebookError
from autograder.sandbox import Limits, describe_isolation, isolation_report
from facekit.files import file_sha256, replacing

GRADEBOOK_NAME = "gradebook.csv"
BATCH_LOG_NAME = "batch_log.csv"
CACHE_NAME = "grading_cache.json"
NBGRADER_SUBMITTED = "submitted"
GRADED, GRADER_ERROR = "graded", "grader_error"
_MAX_REASON_CHARS = 500  # batch_log.csv stays readable; the full story is in report.md
_PACKAGE_ROOT = Path(__file__).resolve().parent
# Everything whose change can change a grade: a new fingerprint re-grades every notebook.
_FINGERPRINT_GLOBS = (
    (_PACKAGE_ROOT / "judge", "**/*.py"),
    (_PACKAGE_ROOT / "judge", "**/*.toml"),
    (_PACKAGE_ROOT, "sandbox.py"),
    (_PACKAGE_ROOT, "extract.py"),
    (_PACKAGE_ROOT.parent / "solutions", "hw2p2_source.ipynb"),
    (_PACKAGE_ROOT.parent / "facekit", "reference.py"),
)


class BatchError(Exception):
    """The batch cannot start (no notebooks, two with one student name...): staff's input."""


@dataclass(frozen=True)
class Submission:
    """One notebook to grade and whose it is."""

    student: str
    notebook: Path


@dataclass
class Outcome:
    """What grading one submission gave; plain data, so it crosses process boundaries."""

    student: str
    notebook: str
    status: str  # GRADED (any score, zero included) or GRADER_ERROR
    points: dict[str, float] = field(default_factory=dict)
    total: float | None = None
    max_total: float | None = None
    seconds: float = 0.0
    reason: str = ""
    cached: bool = False
    notebook_sha256: str = ""
    fingerprint: str = ""


def student_name(notebook: Path) -> str:
    """The student a notebook belongs to: `submitted/<student>/<assignment>/x.ipynb` (nbgrader's
    layout) gives <student>; any other path gives the file's stem."""
    parts = notebook.parts
    if NBGRADER_SUBMITTED in parts[:-3]:
        index = len(parts) - 1 - parts[::-1].index(NBGRADER_SUBMITTED)
        if index + 3 < len(parts):
            return parts[index + 1]
    return notebook.stem


def find_submissions(paths: Iterable[Path]) -> list[Submission]:
    """Notebooks named directly or found recursively under folders, one per student, sorted."""
    notebooks: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            if not found:
                raise BatchError(f"{path}: no .ipynb notebooks in this folder")
            notebooks.extend(found)
        elif path.is_file():
            notebooks.append(path)
        else:
            raise BatchError(f"{path}: no such notebook file or folder")
    by_student: dict[str, Path] = {}
    for notebook in notebooks:
        student = student_name(notebook.resolve())
        if student in {"", ".", ".."}:
            raise BatchError(f"{notebook}: cannot tell whose notebook this is")
        previous = by_student.setdefault(student, notebook)
        if previous.resolve() != notebook.resolve():
            raise BatchError(
                f"two notebooks for student {student!r}: {previous} and {notebook}; "
                "grade them in separate batches or rename one"
            )
    return [Submission(student, path) for student, path in sorted(by_student.items())]


def grader_fingerprint(limits: Limits | None) -> str:
    """A hash of the judge, rubric, reference and limits: anything that can change a grade."""
    chosen = asdict(limits) if limits else "the judge's default limits"
    digest = hashlib.sha256(json.dumps(chosen, sort_keys=True).encode())
    for root, pattern in _FINGERPRINT_GLOBS:
        for path in sorted(root.glob(pattern)):
            digest.update(str(path.relative_to(_PACKAGE_ROOT.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def grade_submission(
    submission: Submission, out_dir: Path, limits: Limits | None, seed: int | None = None
) -> Outcome:
    """Grade one notebook with the judge and write its report; a judge crash is GRADER_ERROR.

    `seed` None: the judge draws a fresh grading seed (recorded in the report). Runs in a pool
    worker: returns plain data only.
    """
    start = time.monotonic()
    outcome = Outcome(submission.student, str(submission.notebook), GRADER_ERROR)
    try:
        from autograder.judge import grade_notebook  # noqa: PLC0415 - heavy (torch)

        reproduce = {} if seed is None else {"seed": seed}  # None: the judge draws a fresh one
        report = grade_notebook(submission.notebook, limits=limits, **reproduce)
        report.write(out_dir / submission.student)
        outcome.points = {key: float(value) for key, value in report.component_points().items()}
        outcome.total, outcome.max_total = float(report.total), float(report.max_total)
        outcome.status = GRADED
        outcome.reason = str(report.to_gradescope().get("output", ""))[:_MAX_REASON_CHARS]
    except NotebookError as error:  # the judge makes most of these a zero report; not all
        # a notebook the judge could not read: the student's zero, with the reason
        outcome.status, outcome.total, outcome.reason = GRADED, 0.0, str(error)
        _write_unreadable_report(out_dir / submission.student, str(error))
    except Exception as error:  # noqa: BLE001 - the judge's own fault, reported apart
        frames = traceback.format_exception(error)
        outcome.reason = f"grader fault: {error!r}; {''.join(frames[-3:]).strip()}"
    outcome.seconds = time.monotonic() - start
    return outcome


def _write_unreadable_report(student_dir: Path, reason: str) -> None:
    """results.json (Gradescope schema) and report.md for a notebook the judge could not read."""
    student_dir.mkdir(parents=True, exist_ok=True)
    output = f"Your notebook could not be graded, so every test scores 0: {reason}"
    results = {"score": 0.0, "output": output, "tests": []}
    (student_dir / "results.json").write_text(json.dumps(results, indent=2))
    (student_dir / "report.md").write_text(f"# Autograder report\n\n**0 points.** {output}\n")


def _load_cache(out_dir: Path) -> dict[str, dict]:
    try:
        return json.loads((out_dir / CACHE_NAME).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _save_cache(out_dir: Path, cache: dict[str, dict]) -> None:
    with replacing(out_dir / CACHE_NAME) as partial:
        partial.write_text(json.dumps(cache, indent=1, sort_keys=True))


def _cached_outcome(entry: dict | None, sha: str, fingerprint: str, out_dir: Path):
    """The stored outcome when notebook and grader are unchanged and its report still exists."""
    if not entry or entry.get("status") != GRADED:
        return None
    if entry.get("notebook_sha256") != sha or entry.get("fingerprint") != fingerprint:
        return None
    if not (out_dir / entry["student"] / "results.json").is_file():
        return None
    return Outcome(**{**entry, "cached": True, "seconds": 0.0})


def _executor(jobs: int) -> concurrent.futures.Executor:
    # spawn: a fresh interpreter per worker (fork after torch has started threads is unsafe)
    context = multiprocessing.get_context("spawn")
    return concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context)


def grade_batch(
    submissions: Sequence[Submission],
    out_dir: Path,
    *,
    jobs: int = 1,
    limits: Limits | None = None,
    use_cache: bool = True,
    progress: bool | None = None,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    seed: int | None = None,
) -> list[Outcome]:
    """Grade every submission into `out_dir`, reusing unchanged results; returns the outcomes.

    `jobs` > 1 grades that many notebooks at once in worker processes (each runs its own sandboxes).
    `limits` None: the judge's default limits. `progress` None: a bar only on a terminal.
    `seed` None: a fresh grading seed per notebook; staff reproduce a report with its seed.
    """
    from tqdm import tqdm  # noqa: PLC0415

    if jobs < 1:
        raise BatchError(f"--jobs must be at least 1, got {jobs}")
    out_dir.mkdir(parents=True, exist_ok=True)
    log(describe_isolation(isolation_report()))
    fingerprint = grader_fingerprint(limits)
    cache = _load_cache(out_dir) if use_cache else {}
    outcomes: dict[str, Outcome] = {}
    to_grade: list[tuple[Submission, str]] = []
    for submission in submissions:
        sha = file_sha256(submission.notebook)
        cached = _cached_outcome(cache.get(submission.student), sha, fingerprint, out_dir)
        if cached is not None:
            outcomes[submission.student] = cached
        else:
            to_grade.append((submission, sha))
    if outcomes:
        log(f"{len(outcomes)} unchanged submission(s) taken from {out_dir / CACHE_NAME}")

    def record(outcome: Outcome, sha: str) -> None:
        outcome.notebook_sha256, outcome.fingerprint = sha, fingerprint
        outcomes[outcome.student] = outcome
        cache[outcome.student] = asdict(outcome) | {"cached": False}
        _save_cache(out_dir, cache)  # after each one: an interrupted batch keeps its progress

    show_bar = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=len(to_grade), desc="grading", unit="notebook", disable=not show_bar)
    with bar:
        if jobs == 1:
            for submission, sha in to_grade:
                record(grade_submission(submission, out_dir, limits, seed), sha)
                bar.update()
        else:
            with _executor(jobs) as pool:
                futures = {
                    pool.submit(grade_submission, submission, out_dir, limits, seed): (
                        submission,
                        sha,
                    )
                    for submission, sha in to_grade
                }
                for future in concurrent.futures.as_completed(futures):
                    submission, sha = futures[future]
                    try:
                        outcome = future.result()
                    except Exception as error:  # noqa: BLE001 - a crashed worker process
                        outcome = Outcome(
                            submission.student,
                            str(submission.notebook),
                            GRADER_ERROR,
                            reason=f"grader fault: the grading process failed: {error!r}",
                        )
                    record(outcome, sha)
                    bar.update()
    ordered = [outcomes[submission.student] for submission in submissions]
    write_gradebook(ordered, out_dir)
    return ordered


def component_ids(outcomes: Sequence[Outcome]) -> list[str]:
    """Gradebook columns: the rubric's components in order, then any others a report gave."""
    ids: list[str] = []
    try:
        from autograder.judge.rubric import load_rubric  # noqa: PLC0415

        ids = [component.id for component in load_rubric().components]
    except Exception:  # noqa: BLE001, S110 - without a rubric the reports still name them
        pass
    for outcome in outcomes:
        ids.extend(key for key in outcome.points if key not in ids)
    return ids


def write_gradebook(outcomes: Sequence[Outcome], out_dir: Path) -> None:
    """Write gradebook.csv (student, components, total) and batch_log.csv (status, reasons).

    A grader error leaves that student's cells empty: never a zero that looks like a grade.
    """
    import pandas as pd  # noqa: PLC0415

    columns = component_ids(outcomes)
    rows = []
    for outcome in outcomes:
        row: dict[str, object] = {"student": outcome.student}
        graded = outcome.status == GRADED
        row.update({c: outcome.points.get(c, 0.0) if graded else None for c in columns})
        row["total"] = outcome.total if graded else None
        rows.append(row)
    gradebook = pd.DataFrame(rows, columns=["student", *columns, "total"])
    _write_csv_atomically(gradebook, out_dir / GRADEBOOK_NAME)
    log_columns = ["student", "notebook", "status", "total", "max_total", "seconds", "cached"]
    log = pd.DataFrame(
        [{**{k: getattr(o, k) for k in log_columns}, "reason": o.reason} for o in outcomes],
        columns=[*log_columns, "reason"],
    )
    log["seconds"] = log["seconds"].round(2)
    _write_csv_atomically(log, out_dir / BATCH_LOG_NAME)


def _write_csv_atomically(frame, path: Path) -> None:
    """Readers (the grades export) never see a half-written file."""
    with replacing(path) as partial:
        frame.to_csv(partial, index=False)
