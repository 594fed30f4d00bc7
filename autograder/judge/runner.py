"""Run the student's module against every prepared case in ONE sandboxed worker process.

The worker answers case by case (`result_<i>.json` + `.safetensors`), so a crash or hang in one
case costs only that case: the runner notes it and starts the worker again after it (at most
MAX_RUNS runs), all within one wall-clock budget for the whole notebook (`limits.wall_seconds`).
Every answer is validated as data here, in the trusted process.
"""

import dataclasses
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from autograder.judge import worker_main
from autograder.judge.prepare import PreparedCase

MAX_RUNS = 4
MAX_ANSWER_BYTES = 64 * 2**20  # far above any honest answer: the cases use tiny tensors
STATUSES = ("ok", "missing", "not_implemented", "state_mismatch", "error", "bad_output", "timeout")
CASE_SECONDS = 10.0  # per case, enforced inside the worker; the sandbox's wall limit backs it up
TENSOR_PREFIXES = ("output", "grad_input/", "grad_param/", "buffer/")


@dataclass(frozen=True)
class Answer:
    """The worker's answer to one case, validated: `status` plus the returned tensors."""

    status: str  # one of STATUSES, or crashed | not_run | garbage (decided here)
    record: dict = field(default_factory=dict)
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    message: str = ""


@dataclass(frozen=True)
class WorkerRun:
    answers: dict[int, Answer]
    cell_errors: tuple[dict, ...]  # cells of the student's module that raised when executed


def _write_inputs(workdir: Path, cells, prepared: tuple[PreparedCase, ...]) -> None:
    shutil.copy2(worker_main.__file__, workdir / "worker_main.py")
    payload = [{"label": label, "source": source} for label, source in cells]
    (workdir / "student_cells.json").write_text(json.dumps(payload), encoding="utf-8")
    request = {
        "protocol": worker_main.PROTOCOL_VERSION,
        "case_seconds": CASE_SECONDS,
        "cases": [p.request for p in prepared],
    }
    (workdir / "request.json").write_text(json.dumps(request), encoding="utf-8")
    for case in prepared:
        save_file(case.tensors, str(workdir / f"case_{case.request['index']}.safetensors"))


def _garbage(reason: str) -> Answer:
    return Answer("garbage", message=f"the worker's answer could not be read ({reason})")


def _read_answer(workdir: Path, index: int) -> Answer | None:
    """The validated answer to case `index`, None when the worker never wrote one."""
    record_path = workdir / f"result_{index}.json"
    tensor_path = workdir / f"result_{index}.safetensors"
    if not record_path.is_file():
        return None
    if not tensor_path.is_file():
        return _garbage("no tensor file")
    if record_path.stat().st_size > MAX_ANSWER_BYTES or tensor_path.stat().st_size > (
        MAX_ANSWER_BYTES
    ):
        return _garbage("answer files are too large")
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        tensors = load_file(str(tensor_path))
    except (ValueError, UnicodeDecodeError, SafetensorError) as error:
        return _garbage(str(error)[:200])
    if not isinstance(record, dict) or record.get("index") != index:
        return _garbage("the record is not this case's")
    if record.get("status") not in STATUSES:
        return _garbage(f"unknown status {str(record.get('status'))[:40]!r}")
    bad = [key for key in tensors if not key.startswith(TENSOR_PREFIXES)]
    if bad:
        return _garbage(f"unexpected tensor names {bad[:3]}")
    return Answer(record["status"], record, tensors)


def _read_cell_errors(workdir: Path) -> tuple[dict, ...]:
    path = workdir / "load_0.json"
    try:
        errors = json.loads(path.read_text(encoding="utf-8"))["cell_errors"]
    except (OSError, ValueError, KeyError, TypeError):
        return ()
    return tuple(
        error
        for error in errors
        if isinstance(error, dict)
        and all(isinstance(error.get(key), str) for key in ("cell", "type", "message"))
    )


def run_worker(cells, prepared: tuple[PreparedCase, ...], limits) -> WorkerRun:
    """Answers for every prepared case from one worker process (more only after a crash)."""
    from autograder.sandbox import run_sandboxed

    answers: dict[int, Answer] = {}
    indices = [case.request["index"] for case in prepared]
    with tempfile.TemporaryDirectory(prefix="facekit-judge-") as directory:
        workdir = Path(directory)
        _write_inputs(workdir, cells, prepared)
        position, runs = 0, 0
        deadline = time.monotonic() + limits.wall_seconds  # for the notebook, over every run
        while position < len(indices) and runs < MAX_RUNS:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            runs += 1
            result = run_sandboxed(
                workdir / "worker_main.py",
                workdir,
                dataclasses.replace(limits, wall_seconds=remaining),
                args=[str(position)],
            )
            while position < len(indices):
                answer = _read_answer(workdir, indices[position])
                if answer is None:
                    break
                answers[indices[position]] = answer
                position += 1
            if position < len(indices):
                # The case at `position` killed the worker: skip the rest of its component
                # too (they would most likely do the same) and go on with the next one.
                reason = result.failure_reason() or "exited without answering"
                crashed = prepared[position].component.id
                answers[indices[position]] = Answer(
                    "crashed", message=f"the worker running your code {reason}"
                )
                position += 1
                while position < len(indices) and prepared[position].component.id == crashed:
                    answers[indices[position]] = Answer(
                        "not_run", message="not run: an earlier case of this component crashed"
                    )
                    position += 1
        for index in indices[position:]:
            answers[index] = Answer(
                "not_run",
                message="not run: earlier cases crashed or hung too often, or the notebook used "
                f"up its {limits.wall_seconds:g} s time limit",
            )
        return WorkerRun(answers, _read_cell_errors(workdir))
