"""Audit a class: grade-model for every student, in parallel, resumable, one label each.

Each student's result is written to `OUT/<student>/audit.json` with the digests of every input
(notebook, checkpoint, CSVs, course file): a second run skips students whose inputs did not
change, so an interrupted audit resumes where it stopped. A grader fault (the reference itself
does not run in the sandbox) stops the audit (exit 3); a student's broken files are that
student's "could not run".
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from autograder.audit.inputs import StudentFiles
from autograder.audit.verdict import (
    COULD_NOT_RUN,
    DOES_NOT_REPRODUCE,
    OVER_BUDGET,
    USES_LIBRARY,
    Verdict,
    library_uses,
)
from autograder.errors import SubmissionError
from autograder.rescore.grade_model import grade_model
from facekit.base.files import file_sha256, replacing

RESULT_NAME = "audit.json"


@dataclass(frozen=True)
class AuditSettings:
    """What every student is audited against."""

    comp: Path
    keys: Path
    course_config: Path | None = None
    allow_gpu: bool = False
    jobs: int = 1
    force: bool = False  # audit again even when the inputs did not change
    progress: bool = False


def _digests(files: StudentFiles, settings: AuditSettings) -> dict[str, str]:
    paths = files.files() + ([settings.course_config] if settings.course_config else [])
    return {str(path): file_sha256(path) for path in paths}


def audit_student(files: StudentFiles, settings: AuditSettings, out: Path) -> Verdict:
    """grade-model on one student's files, labelled; writes `out/<student>/`."""
    flags: dict[str, list[str]] = {}
    if files.notebook is not None:
        uses = library_uses(files.notebook)
        if uses:
            flags[USES_LIBRARY] = uses
    numbers = {}
    if files.problems:
        flags[COULD_NOT_RUN] = list(files.problems)
    else:
        try:
            report = grade_model(
                notebook=files.notebook,
                checkpoint=files.checkpoint,
                comp=settings.comp,
                keys=settings.keys,
                submissions=list(files.submissions),
                course_config=settings.course_config,
                allow_gpu=settings.allow_gpu,
                out_dir=out / files.student,
            )
        except SubmissionError as error:
            flags[COULD_NOT_RUN] = [str(error)]
        else:
            numbers = {"parameters": report.parameters, "max_parameters": report.max_parameters}
            if not report.ran:
                flags[COULD_NOT_RUN] = list(report.problems)
            else:
                if report.over_budget:
                    flags[OVER_BUDGET] = [
                        f"{report.parameters:,} parameters, the course allows "
                        f"{report.max_parameters:,}"
                    ]
                differs = [a.describe() for a in report.agreements if not a.reproduces]
                if differs or report.problems:
                    flags[DOES_NOT_REPRODUCE] = differs + list(report.problems)
    return Verdict.from_flags(files.student, flags, **numbers)


def _cached(files: StudentFiles, settings: AuditSettings, out: Path) -> Verdict | None:
    path = out / files.student / RESULT_NAME
    if settings.force or not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved["digests"] != _digests(files, settings):
            return None
        return Verdict(**saved["verdict"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _audit_and_record(files: StudentFiles, settings: AuditSettings, out: Path) -> Verdict:
    verdict = audit_student(files, settings, out)
    record = {"digests": _digests(files, settings), "verdict": asdict(verdict)}
    with replacing(out / files.student / RESULT_NAME) as partial:
        partial.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return verdict


def audit_class(
    students: list[StudentFiles], settings: AuditSettings, out: Path
) -> tuple[list[Verdict], int]:
    """Every student's verdict (in input order) and how many were resumed from `out`.

    Raises `GraderFault` when the grader itself cannot run the reference.
    """
    out.mkdir(parents=True, exist_ok=True)
    verdicts: dict[str, Verdict] = {}
    for files in students:
        cached = _cached(files, settings, out)
        if cached is not None:
            verdicts[files.student] = cached
    resumed = len(verdicts)
    todo = [files for files in students if files.student not in verdicts]
    bar = tqdm(total=len(todo), desc="auditing", unit="student", disable=not settings.progress)
    with bar:
        if settings.jobs <= 1:
            for files in todo:
                verdicts[files.student] = _audit_and_record(files, settings, out)
                bar.update()
        else:  # spawn: the parent has torch loaded, and forking it is not safe
            context = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(settings.jobs, mp_context=context) as pool:
                futures = {pool.submit(_audit_and_record, f, settings, out): f for f in todo}
                for future in concurrent.futures.as_completed(futures):
                    verdicts[futures[future].student] = future.result()
                    bar.update()
    return [verdicts[files.student] for files in students], resumed
