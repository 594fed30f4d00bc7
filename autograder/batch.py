"""Grade many submitted notebooks: find them, grade each (in parallel), write the gradebook.

Before anyone is judged, the grader judges itself: the reference solution goes through the very
same sandbox and limits and must get full marks, else `GraderFault` (exit 3) and nothing is
written. One broken notebook never stops a batch: a student's fault (a syntax error, an import
of a missing package, a cheat) is that student's zero with the reason, written by the judge into
the student's report; a file that is no notebook at all is status `unreadable` (a zero with the
reason). A fault of the grader itself is kept apart: status `grader_error`, no points in the
gradebook (never a silent zero), never cached, and a non-zero exit code from `facekit grade`.

Output layout (`out_dir`):
    <student>/results.json   Gradescope autograder schema (from the judge's report); a name that
    <student>/report.md      is not a plain folder name gets `_<slug>-<hash>` (see batch_log.csv)
    gradebook.csv            student, one column per component (points), total
    batch_log.csv            student, notebook, status, total, max_total, seconds, cached, report,
                             reason
    grading_cache.json       every student graded into `out_dir`, with the sha256 of the notebook
                             and the grader's fingerprint: unchanged ones are not graded again,
                             and grading a subset merges into the two CSVs
Every text cell of the CSVs passes through `facekit.base.spreadsheet.inert_cell`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import functools
import hashlib
import importlib.metadata
import json
import os
import queue
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from tqdm import tqdm

from autograder import judge, sandbox_zygote
from autograder.errors import GraderFault
from autograder.judge.class_report import write_class_report
from autograder.judge.judge import default_limits
from autograder.judge.report import StudentReport
from autograder.judge.rubric import load_rubric
from autograder.sandbox import Limits, Zygote, ZygoteError, describe_isolation, isolation_report
from facekit.base.errors import SetupError
from facekit.base.files import replacing
from facekit.base.paths import HANDOUT_NOTEBOOK, SOLUTION_NOTEBOOK
from facekit.base.spreadsheet import inert_cell
from facekit.base.untrusted import UntrustedFileError, load_untrusted_json, read_untrusted_bytes
from facekit.notebook.extract import NotebookError, read_notebook

GRADEBOOK_NAME = "gradebook.csv"
BATCH_LOG_NAME = "batch_log.csv"
CACHE_NAME = "grading_cache.json"
NBGRADER_SUBMITTED = "submitted"
GRADED, UNREADABLE, GRADER_ERROR = "graded", "unreadable", "grader_error"
MAX_NOTEBOOK_BYTES = 64 * 2**20  # far above any honest notebook (the handout is ~100 kB)
_MAX_REASON_CHARS = 500  # batch_log.csv stays readable; the full story is in report.md
_PLAIN_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")
_PACKAGE_ROOT = Path(__file__).resolve().parent
# Everything whose change can change a grade: a new fingerprint re-grades every notebook.
_FINGERPRINT_GLOBS = (
    (_PACKAGE_ROOT / "judge", "**/*.py"),
    (_PACKAGE_ROOT / "judge", "**/*.toml"),
    (_PACKAGE_ROOT, "sandbox*.py"),  # the sandbox's trusted half
    (_PACKAGE_ROOT.parent / "facekit" / "sandbox_side", "*.py"),  # the launcher and the worker
    (_PACKAGE_ROOT.parent / "facekit" / "notebook", "extract.py"),
    (_PACKAGE_ROOT.parent / "solutions", "hw2p2_source.ipynb"),
    (_PACKAGE_ROOT.parent / "facekit" / "notebook", "reference.py"),
)
_SELF_TESTS_PASSED: set[str] = set()  # fingerprints whose self-test passed in this process


class BatchError(SetupError):
    """The batch cannot start (no notebooks, two with one student name...): staff's input."""


@dataclass(frozen=True)
class NotebookSubmission:
    """One notebook to grade and whose it is; `problem` says why it cannot be graded, if known
    from the folder alone (several notebooks, a link instead of a file)."""

    student: str
    notebook: Path
    problem: str = ""


@dataclass
class Outcome:
    """What grading one submission gave; plain data (cached as JSON between batches)."""

    student: str
    notebook: str
    status: str  # GRADED (any score, zero included), UNREADABLE or GRADER_ERROR
    points: dict[str, float] = field(default_factory=dict)
    total: float | None = None
    max_total: float | None = None
    seconds: float = 0.0
    reason: str = ""
    cached: bool = False
    notebook_sha256: str = ""
    fingerprint: str = ""
    report: str = ""  # the student's report folder, relative to out_dir


def shown(name: str | os.PathLike) -> str:
    """A file name as text that can always be written (undecodable bytes as \\x escapes)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def student_from_name(name: str) -> str:
    """The student a folder or file name stands for: the name itself, or for a name that is not
    UTF-8 its escaped form marked with a `/` (which no file name holds), so that no other
    student's name can imitate it."""
    text = shown(name)
    return text if text == name else f"{text}/not-utf8"


def report_folder(student: str) -> str:
    """The student's folder in out_dir: the name itself when it is a plain folder name that
    cannot collide with the batch's own files, else `_<slug>-<hash>` (plain names never start
    with `_`, so the two kinds never meet)."""
    reserved = {GRADEBOOK_NAME, BATCH_LOG_NAME, CACHE_NAME}
    if _PLAIN_FOLDER_NAME.fullmatch(student) and student not in reserved:
        return student
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", student)[:40]
    return f"_{slug}-{hashlib.sha256(student.encode()).hexdigest()[:10]}"


def student_name(notebook: Path) -> str:
    """The student a notebook named on the command line belongs to:
    `.../submitted/<student>/<assignment>/x.ipynb` (nbgrader's layout) gives <student>; any other
    path gives the file's stem."""
    parts = notebook.parts
    if len(parts) >= 4 and parts[-4] == NBGRADER_SUBMITTED:
        return student_from_name(parts[-3])
    return student_from_name(notebook.stem)


def _plain_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _nbgrader_folders(folder: Path) -> list[tuple[Path, list[Path] | None]] | None:
    """(student folder, its assignment folders or None for all) when `folder` is part of
    nbgrader's layout, else None: the course root (holding submitted/), submitted/ itself, one
    student's folder or one assignment's folder."""
    if folder.name == NBGRADER_SUBMITTED:
        return [(p, None) for p in sorted(folder.iterdir()) if p.name != ".ipynb_checkpoints"]
    # before looking for folder/submitted: a student's own folder may hold one, as a trick
    if folder.parent.name == NBGRADER_SUBMITTED:
        return [(folder, None)]
    if folder.parent.parent.name == NBGRADER_SUBMITTED:
        return [(folder.parent, [folder])]
    if _plain_dir(folder / NBGRADER_SUBMITTED):
        return _nbgrader_folders(folder / NBGRADER_SUBMITTED)
    return None


def _student_submission(student_dir: Path, assignments: list[Path] | None) -> NotebookSubmission:
    """The one notebook to grade in submitted/<student>/<assignment>/ (only there, as nbgrader
    looks: a nested submitted/<other>/... is never another student's). Several notebooks: the
    one named like the handout; else this student's row says why none was graded."""
    student = student_from_name(student_dir.name)
    if not _plain_dir(student_dir):
        return NotebookSubmission(
            student, student_dir, f"{shown(student_dir)} is not a plain folder"
        )
    if assignments is None:
        assignments = [p for p in student_dir.iterdir() if p.name != ".ipynb_checkpoints"]
    notebooks = sorted(
        notebook
        for assignment in assignments
        if _plain_dir(assignment)
        for notebook in assignment.iterdir()
        if notebook.suffix == ".ipynb"
    )
    named = [notebook for notebook in notebooks if notebook.name == HANDOUT_NOTEBOOK.name]
    if len(notebooks) == 1 or len(named) == 1:
        return NotebookSubmission(student, (named or notebooks)[0])
    listed = ", ".join(shown(n.relative_to(student_dir)) for n in notebooks[:5])
    problem = (
        f"no notebook in {shown(student_dir)}/<assignment>/"
        if not notebooks
        else f"{len(notebooks)} notebooks ({listed}) and not exactly one named "
        f"{HANDOUT_NOTEBOOK.name}: cannot tell which one to grade; submit only one"
    )
    return NotebookSubmission(student, student_dir, problem)


def _folder_submissions(folder: Path) -> list[NotebookSubmission]:
    nbgrader = _nbgrader_folders(folder)
    if nbgrader is not None:
        return [_student_submission(student, assignments) for student, assignments in nbgrader]
    found = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    return [NotebookSubmission(student_from_name(notebook.stem), notebook) for notebook in found]


def find_submissions(paths: Iterable[Path]) -> list[NotebookSubmission]:
    """Notebooks named directly or found under folders, one per student, sorted by student.

    In nbgrader's layout one student's folder only ever makes that student's row."""
    submissions: list[NotebookSubmission] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = _folder_submissions(path)
            if not found:
                raise BatchError(f"{path}: no .ipynb notebooks in this folder")
            submissions.extend(found)
        elif path.is_file():
            submissions.append(NotebookSubmission(student_name(path.resolve()), path))
        else:
            raise BatchError(f"{path}: no such notebook file or folder")
    by_student: dict[str, NotebookSubmission] = {}
    for submission in submissions:
        previous = by_student.setdefault(submission.student, submission)
        if previous.notebook.resolve() != submission.notebook.resolve():
            raise BatchError(
                f"two notebooks for student {submission.student!r}: {previous.notebook} and "
                f"{submission.notebook}; grade them in separate batches or rename one"
            )
    return [by_student[student] for student in sorted(by_student)]


def grader_fingerprint(limits: Limits | None) -> str:
    """A hash of everything that can change a grade: the judge, rubric, reference, sandbox and
    limits, and the grading environment (interpreter, its prefix, torch and safetensors)."""
    environment = {
        "limits": asdict(limits) if limits else "the judge's default limits",
        "interpreter": [sys.executable, sys.prefix, sys.version],
        "packages": {name: importlib.metadata.version(name) for name in ("torch", "safetensors")},
    }
    digest = hashlib.sha256(json.dumps(environment, sort_keys=True).encode())
    for root, pattern in _FINGERPRINT_GLOBS:
        for path in sorted(root.glob(pattern)):
            digest.update(str(path.relative_to(_PACKAGE_ROOT.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def describe_limits(limits: Limits | None) -> str:
    """The limits a notebook is graded under, for a person."""
    if limits is None:
        limits = default_limits()
    return (
        f"memory {limits.memory_bytes / 2**30:g} GiB, CPU {limits.cpu_seconds} s, "
        f"wall {limits.wall_seconds:g} s, {limits.max_processes} processes"
    )


def check_grader(limits: Limits | None = None, zygote: Zygote | None = None) -> None:
    """Grade the reference solution exactly as a student's notebook is graded (same judge,
    sandbox, limits, and warm or cold path); raise `GraderFault` saying what broke unless it
    gets full marks. Warm when a `zygote` is given: the worker is forked from it.

    A pass is remembered for this process, fingerprint and path, so a batch pays for it once.
    """
    fingerprint = grader_fingerprint(limits) + ("-cold" if zygote is None else "-warm")
    if fingerprint in _SELF_TESTS_PASSED:
        return
    setting = (
        f"interpreter {sys.executable} (torch {importlib.metadata.version('torch')}); limits: "
        f"{describe_limits(limits)}"
    )
    try:
        report = judge.grade_notebook(SOLUTION_NOTEBOOK, limits=limits, zygote=zygote)
    except Exception as error:  # noqa: BLE001 - any failure here is the grader's own
        told = f"{type(error).__name__}: {error}"
        raise GraderFault(
            f"the grader's self-test failed, so no student was graded: grading the reference "
            f"{SOLUTION_NOTEBOOK} failed: {told}"
            + ("" if sys.executable in told else f". {setting}")
        ) from error
    if report.total != report.max_total or report.max_total <= 0:
        failures = [
            f"{component.id}/{case.name}: {(case.problems or ('failed',))[0]}"
            for component in report.components
            for case in component.cases
            if not case.passed
        ]
        raise GraderFault(
            f"the grader's self-test failed, so no student was graded: the reference "
            f"{SOLUTION_NOTEBOOK} scored {report.total:g} / {report.max_total:g} in the sandbox. "
            f"{setting}. First failure(s): " + " | ".join(failures[:3])[:3000]
        )
    _SELF_TESTS_PASSED.add(fingerprint)


def _notebook_problem(notebook: Path) -> str:
    """Why `notebook` is not a readable notebook (read as untrusted: a regular file, no link,
    bounded size and nesting), or "" when it is one."""
    try:
        load_untrusted_json(notebook.parent.resolve(), notebook.name, MAX_NOTEBOOK_BYTES, 64)
        read_notebook(notebook)
    except UntrustedFileError as error:
        return f"{shown(notebook)}: {error}"
    except NotebookError as error:
        return str(error)
    return ""


def _notebook_sha256(submission: NotebookSubmission) -> str:
    """The notebook's identity for the cache; "" when it cannot be read as a plain file."""
    if submission.problem:
        return ""
    notebook = submission.notebook
    try:
        data = read_untrusted_bytes(notebook.parent.resolve(), notebook.name, MAX_NOTEBOOK_BYTES)
    except UntrustedFileError:
        return ""
    return hashlib.sha256(data).hexdigest()


def _zygote(warm: bool) -> Zygote | None:
    """This process's warm grader when `warm` (None where it cannot start: cold)."""
    return sandbox_zygote.shared() if warm else None


def _zygotes(warm: bool, count: int) -> list[Zygote | None]:
    """One warm grader for each of `count` notebooks graded at once: this process's zygote, then
    clones of it (closed by the caller); None, a cold run, for each that cannot be had."""
    zygote = _zygote(warm)
    zygotes = [zygote]
    for _ in range(count - 1):
        if zygote is not None:
            try:
                zygotes.append(zygote.clone())
                continue
            except ZygoteError as error:
                print(
                    f"facekit: fewer warm graders than jobs, the others grade cold: {error}",
                    file=sys.stderr,
                )
                zygote = None
        zygotes.append(None)
    return zygotes


def grade_submission(
    submission: NotebookSubmission,
    out_dir: Path,
    limits: Limits | None,
    seed: int | None = None,
    zygote: Zygote | None = None,
) -> Outcome:
    """Grade one notebook with the judge and write its report; a judge crash is GRADER_ERROR.

    `seed` None: the judge draws a fresh grading seed (recorded in the report). `zygote`: the
    worker is a fork of that warm grader (`autograder.sandbox_zygote`), else a fresh
    interpreter.
    """
    return _write_report(*_grade(submission, limits, seed, zygote), out_dir)


# What a student's report folder will hold: the judge's report, the reason the notebook could
# not be read, or nothing after a grader fault.
_Report = StudentReport | str | None


def _grade(
    submission: NotebookSubmission, limits: Limits | None, seed: int | None, zygote: Zygote | None
) -> tuple[Outcome, _Report]:
    """`grade_submission` without writing anything: the outcome and its report to write."""
    start = time.monotonic()
    folder = report_folder(submission.student)
    outcome = Outcome(submission.student, shown(submission.notebook), GRADER_ERROR, report=folder)
    report: _Report = None
    try:
        problem = submission.problem or _notebook_problem(submission.notebook)
        if problem:
            outcome.status, outcome.total, outcome.reason = UNREADABLE, 0.0, problem
            report = problem
        else:
            reproduce = {} if seed is None else {"seed": seed}  # None: the judge draws one
            report = judge.grade_notebook(
                submission.notebook, limits=limits, zygote=zygote, **reproduce
            )
            outcome.points = {k: float(v) for k, v in report.component_points().items()}
            outcome.total, outcome.max_total = float(report.total), float(report.max_total)
            outcome.status = GRADED
            outcome.reason = str(report.to_gradescope().get("output", ""))
    except NotebookError as error:  # the judge makes most of these a zero report; not all
        outcome.status, outcome.total, outcome.reason = UNREADABLE, 0.0, str(error)
        report = str(error)
    except Exception as error:  # noqa: BLE001 - the judge's own fault, reported apart
        frames = traceback.format_exception(error)
        outcome.reason = f"grader fault: {error!r}; {''.join(frames[-3:]).strip()}"
        report = None
    outcome.reason = outcome.reason[:_MAX_REASON_CHARS]
    outcome.seconds = time.monotonic() - start
    return outcome, report


def _write_report(outcome: Outcome, report: _Report, out_dir: Path) -> Outcome:
    """Write a graded notebook's report into its folder; returns the outcome, a grader fault
    (never the student's zero) when the report could not be written."""
    try:
        if isinstance(report, str):
            _write_unreadable_report(out_dir / outcome.report, report)
        elif report is not None:
            report.write(out_dir / outcome.report)
    except Exception as error:  # noqa: BLE001 - the grader's own fault, reported apart
        outcome.status, outcome.points, outcome.total = GRADER_ERROR, {}, None
        outcome.reason = f"grader fault: writing the report failed: {error!r}"[:_MAX_REASON_CHARS]
    return outcome


def _graded_in_parallel(
    to_grade: list[tuple[NotebookSubmission, str]],
    jobs: int,
    limits: Limits | None,
    seed: int | None,
    warm: bool,
    self_test: bool,
) -> Iterator[tuple[Outcome, _Report, str]]:
    """(outcome, report to write, notebook sha) for each of `to_grade`, as they finish, graded
    on `jobs` threads of this process, each with its own sandboxed worker (warm: forked from
    its own clone of the zygote). With `self_test`, the reference is graded alongside, first,
    and nothing is yielded before it passed: its failure raises `GraderFault`, the others'
    results unused."""
    idle: queue.SimpleQueue[Zygote | None] = queue.SimpleQueue()

    def with_zygote(work: Callable[[Zygote | None], object]):
        zygote = idle.get()  # one thread at a time per zygote: it serves one run at a time
        try:
            return work(zygote)
        finally:
            idle.put(zygote)

    with contextlib.ExitStack() as clones:
        for index, zygote in enumerate(_zygotes(warm, min(jobs, len(to_grade)))):
            idle.put(zygote)
            if index and zygote is not None:
                clones.callback(zygote.close)
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            checked = (
                pool.submit(with_zygote, functools.partial(check_grader, limits))
                if self_test
                else None
            )
            futures = {
                pool.submit(with_zygote, functools.partial(_grade, submission, limits, seed)): (
                    submission,
                    sha,
                )
                for submission, sha in to_grade
            }
            if checked is not None:
                try:
                    checked.result()
                except BaseException:
                    pool.shutdown(cancel_futures=True)
                    raise
            for future in concurrent.futures.as_completed(futures):
                submission, sha = futures[future]
                try:
                    outcome, report = future.result()
                except Exception as error:  # noqa: BLE001 - the grading thread's own fault
                    report = None
                    outcome = Outcome(
                        submission.student,
                        shown(submission.notebook),
                        GRADER_ERROR,
                        reason=f"grader fault: the grading thread failed: {error!r}",
                        report=report_folder(submission.student),
                    )
                yield outcome, report, sha


def _write_unreadable_report(student_dir: Path, reason: str) -> None:
    """results.json (Gradescope schema) and report.md for a notebook the judge could not read."""
    student_dir.mkdir(parents=True, exist_ok=True)
    output = f"Your notebook could not be graded, so every test scores 0: {reason}"
    results = {"score": 0.0, "output": output, "tests": []}
    (student_dir / "results.json").write_text(json.dumps(results, indent=2))
    quoted = reason.replace("`", "'")  # the reason quotes the student's file: keep it code
    (student_dir / "report.md").write_text(
        f"# Autograder report\n\n**0 points.** Your notebook could not be graded, so every test "
        f"scores 0:\n\n```\n{quoted}\n```\n"
    )


def _load_records(out_dir: Path) -> dict[str, Outcome]:
    """Every student graded into `out_dir` before (the cache file), skipping malformed entries."""
    try:
        entries = json.loads((out_dir / CACHE_NAME).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    known = {f.name for f in fields(Outcome)}
    records = {}
    for student, entry in entries.items() if isinstance(entries, dict) else ():
        try:
            records[student] = Outcome(**{k: v for k, v in entry.items() if k in known})
        except (TypeError, AttributeError):
            continue
    return records


def _save_records(out_dir: Path, records: dict[str, Outcome]) -> None:
    entries = {student: asdict(o) | {"cached": False} for student, o in records.items()}
    with replacing(out_dir / CACHE_NAME) as partial:
        partial.write_text(json.dumps(entries, indent=1, sort_keys=True))


def _reusable(previous: Outcome | None, sha: str, fingerprint: str, out_dir: Path) -> bool:
    """Whether the stored outcome stands: notebook and grader unchanged, report still there, and
    never a grader error."""
    return (
        previous is not None
        and previous.status in (GRADED, UNREADABLE)
        and bool(sha)
        and previous.notebook_sha256 == sha
        and previous.fingerprint == fingerprint
        and (
            out_dir / (previous.report or report_folder(previous.student)) / "results.json"
        ).is_file()
    )


def grade_batch(
    submissions: Sequence[NotebookSubmission],
    out_dir: Path,
    *,
    jobs: int = 1,
    limits: Limits | None = None,
    use_cache: bool = True,
    progress: bool | None = None,
    self_test: bool = True,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    seed: int | None = None,
    warm: bool | None = None,
) -> list[Outcome]:
    """Grade every submission into `out_dir`, reusing unchanged results; returns the outcomes.

    `check_grader` first (unless `self_test` is False): a grader that fails on the reference
    raises `GraderFault` before anything is written. `jobs` > 1 grades that many notebooks at once
    on threads of this process, the reference's self-test among them (`_graded_in_parallel`),
    while the judge's in-process work takes turns (`autograder.judge.turns`). `limits` None: the
    judge's default limits.
    `progress` None: a bar only on a terminal. `seed` None: a fresh grading seed per notebook;
    staff reproduce a report with its seed. `warm` None: warm (each worker a fork of a zygote
    that imported torch once, `autograder.sandbox_zygote`) when every required protection holds,
    else cold (a fresh interpreter per notebook); the verdicts are the same. gradebook.csv and
    batch_log.csv hold every student ever graded into `out_dir`, this batch's rows replacing
    theirs.
    """
    if jobs < 1:
        raise BatchError(f"--jobs must be at least 1, got {jobs}")
    log(describe_isolation(isolation_report()))
    if warm is None:
        warm = sandbox_zygote.warm_by_default()
    log(
        "grading warm: each notebook's worker is a fork of a zygote that imported torch once"
        if warm
        else "grading cold: a fresh interpreter per notebook"
    )
    fingerprint = grader_fingerprint(limits)
    records = _load_records(out_dir)
    outcomes: dict[str, Outcome] = {}
    to_grade: list[tuple[NotebookSubmission, str]] = []
    for submission in submissions:
        sha = _notebook_sha256(submission)
        previous = records.get(submission.student)
        if use_cache and _reusable(previous, sha, fingerprint, out_dir):
            outcomes[submission.student] = Outcome(
                **{**asdict(previous), "cached": True, "seconds": 0.0}
            )
        else:
            to_grade.append((submission, sha))
    parallel = jobs > 1 and len(to_grade) > 1
    if self_test and not parallel:
        check_grader(limits, _zygote(warm))
    if outcomes:
        log(
            f"{len(outcomes)} unchanged submission(s) taken from {out_dir / CACHE_NAME}; "
            "pass --force to grade them again"
        )

    def record(outcome: Outcome, sha: str) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        outcome.notebook_sha256, outcome.fingerprint = sha, fingerprint
        outcomes[outcome.student] = records[outcome.student] = outcome
        _save_records(out_dir, records)  # after each one: an interrupted batch keeps its progress

    show_bar = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=len(to_grade), desc="grading", unit="notebook", disable=not show_bar)
    with bar:
        if parallel:
            for outcome, report, sha in _graded_in_parallel(
                to_grade, jobs, limits, seed, warm, self_test
            ):
                record(_write_report(outcome, report, out_dir), sha)
                bar.update()
        else:
            zygote = _zygote(warm) if to_grade else None
            for submission, sha in to_grade:
                record(grade_submission(submission, out_dir, limits, seed, zygote), sha)
                bar.update()
    out_dir.mkdir(parents=True, exist_ok=True)
    for student, outcome in records.items():  # this batch's rows say whether they were cached
        records[student] = outcomes.get(student, outcome)
    ordered = [records[student] for student in sorted(records)]
    write_gradebook(ordered, out_dir)
    write_class_report(out_dir, [outcome.report for outcome in ordered if outcome.status == GRADED])
    return [outcomes[submission.student] for submission in submissions]


def component_ids(outcomes: Sequence[Outcome]) -> list[str]:
    """Gradebook columns: the rubric's components in order, then any others a report gave."""
    ids: list[str] = []
    with contextlib.suppress(Exception):  # without a rubric the reports still name them
        ids = [component.id for component in load_rubric().components]
    for outcome in outcomes:
        ids.extend(key for key in outcome.points if key not in ids)
    return ids


def write_gradebook(outcomes: Sequence[Outcome], out_dir: Path) -> None:
    """Write gradebook.csv (student, components, total) and batch_log.csv (status, reasons).

    A grader error leaves that student's cells empty: never a zero that looks like a grade. Every
    text cell is made inert for spreadsheets (student names, paths and messages are the
    student's text).
    """
    import pandas as pd  # noqa: PLC0415 - heavy (pandas), for the gradebook only

    columns = component_ids(outcomes)
    rows = []
    for outcome in outcomes:
        row: dict[str, object] = {"student": inert_cell(outcome.student)}
        scored = outcome.status != GRADER_ERROR
        row.update({c: outcome.points.get(c, 0.0) if scored else None for c in columns})
        row["total"] = outcome.total if scored else None
        rows.append(row)
    gradebook = pd.DataFrame(rows, columns=["student", *columns, "total"])
    _write_csv_atomically(gradebook, out_dir / GRADEBOOK_NAME)
    numbers = ["total", "max_total", "seconds", "cached"]
    log = pd.DataFrame(
        [
            {
                "student": inert_cell(o.student),
                "notebook": inert_cell(o.notebook),
                "status": inert_cell(o.status),
                **{key: getattr(o, key) for key in numbers},
                "report": inert_cell(o.report or report_folder(o.student)),
                "reason": inert_cell(o.reason),
            }
            for o in outcomes
        ],
        columns=["student", "notebook", "status", *numbers, "report", "reason"],
    )
    log["seconds"] = log["seconds"].round(2)
    _write_csv_atomically(log, out_dir / BATCH_LOG_NAME)


def _write_csv_atomically(frame, path: Path) -> None:
    """Readers (the grades export) never see a half-written file. Every text cell is quoted: a
    bare carriage return in a student's name would otherwise start a forged row."""
    with replacing(path) as partial:
        frame.to_csv(partial, index=False, quoting=csv.QUOTE_NONNUMERIC)
