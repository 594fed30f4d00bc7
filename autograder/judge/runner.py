"""Run the student's module against every prepared case in ONE sandboxed worker process.

The worker answers case by case (`result_<i>.json` + `.safetensors`), so a crash or hang in one
case costs only that case: the runner notes it and starts the worker again after it (at most
MAX_RUNS runs), all within one wall-clock budget for the whole notebook (`limits.wall_seconds`).
Every answer is read as hostile data here, in the trusted process: only regular
files, opened without following links, bounded in size and nesting (`facekit.base.untrusted`), then
checked field by field. Whatever cannot be read that way is the student's zero for that case
("garbage"), never a hang, a followed link or a grader fault.
"""

import dataclasses
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save_file

from autograder.errors import GraderFault
from autograder.judge.prepare import PreparedCase
from facekit.base.errors import InputError
from facekit.base.untrusted import (
    UntrustedFileError,
    load_untrusted_json,
    read_untrusted_bytes,
    remove_untrusted_tree,
)
from facekit.sandbox_side import judge_worker
from facekit.sandbox_side.judge_worker import WORKER_STATUSES, Status

MAX_RUNS = 4
MAX_ANSWER_BYTES = 64 * 2**20  # far above any honest answer: the cases use tiny tensors
MAX_RECORD_BYTES = 2 * 2**20  # a record is a few hundred bytes; a state mismatch lists keys
MAX_RECORD_DEPTH = 8  # the deepest honest record: details -> expected -> [key, [shape]]
CASE_SECONDS = 10.0  # per case, enforced inside the worker; the sandbox's wall limit backs it up
TENSOR_PREFIXES = ("output", "grad_input/", "grad_param/", "buffer/", "eval/")
# Dtypes the comparisons handle; a student tensor of another (complex, float8) is unreadable.
TENSOR_DTYPES = (
    torch.float16,
    torch.bfloat16,
    torch.float32,
    torch.float64,
    torch.int8,
    torch.uint8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.bool,
)


@dataclass(frozen=True)
class ErrorInfo:
    """What the student's code raised: exception type, message, traceback lines in its cells."""

    type: str
    message: str
    frames: tuple[str, ...] = ()


@dataclass(frozen=True)
class CellError(ErrorInfo):
    """A cell of the student's module that raised when the module was loaded."""

    cell: str = ""


_OUT_OF_MEMORY_SIGNS = ("MemoryError", "failed to map segment", "Cannot allocate memory")


@dataclass(frozen=True)
class Answer:
    """The worker's answer to one case, validated: `status` plus the returned tensors."""

    status: Status
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    message: str = ""  # the worker's (bad_output, timeout, forbidden) or the runner's own
    error: ErrorInfo | None = None  # status error / not_implemented
    details: dict = field(default_factory=dict)  # state_mismatch: keys; forbidden: what
    params_without_grad: tuple[str, ...] = ()
    inputs_without_grad: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkerRun:
    answers: dict[int, Answer]
    cell_errors: tuple[CellError, ...]  # cells of the student's module that raised when loaded
    problems: tuple[str, ...] = ()  # notebook-wide: e.g. the load record could not be read


class MalformedRecord(InputError, ValueError):
    """A worker record whose fields have the wrong types: the student's garbage."""


def _write_inputs(workdir: Path, cells, prepared: tuple[PreparedCase, ...]) -> None:
    shutil.copy2(judge_worker.__file__, workdir / "worker_main.py")
    payload = [{"label": label, "source": source} for label, source in cells]
    (workdir / "student_cells.json").write_text(json.dumps(payload), encoding="utf-8")
    request = {
        "protocol": judge_worker.PROTOCOL_VERSION,
        "case_seconds": CASE_SECONDS,
        "cases": [p.request for p in prepared],
    }
    (workdir / "request.json").write_text(json.dumps(request), encoding="utf-8")
    for case in prepared:
        save_file(case.tensors, str(workdir / f"case_{case.request['index']}.safetensors"))


def _garbage(reason: str) -> Answer:
    return Answer(Status.GARBAGE, message=f"the worker's answer could not be read ({reason})")


def _text(record: dict, key: str, limit: int = judge_worker.MAX_MESSAGE_CHARS + 10) -> str:
    value = record.get(key, "")
    if not isinstance(value, str):
        raise MalformedRecord(f"{key} is {type(value).__name__}, not text")
    return value[:limit]


def _texts(record: dict, key: str) -> tuple[str, ...]:
    value = record.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MalformedRecord(f"{key} is not a list of text")
    return tuple(item[:300] for item in value[:64])


def _error_info(record: dict) -> ErrorInfo | None:
    error = record.get("error")
    if error is None:
        return None
    if not isinstance(error, dict):
        raise MalformedRecord("error is not an object")
    return ErrorInfo(_text(error, "type", 100), _text(error, "message"), _texts(error, "frames"))


def _is_shape(value) -> bool:
    return isinstance(value, list) and all(type(size) is int for size in value)


def _state_details(details: dict) -> dict:
    """A state mismatch's details, checked: lists of keys, [key, shape] and [key, shape, shape]
    entries (the judge lists them in the feedback)."""
    checked = {name: list(_texts(details, name)) for name in ("missing", "unexpected")}
    for name, width in (("expected", 2), ("found", 2), ("shape_mismatch", 3)):
        entries = details.get(name, [])
        if not isinstance(entries, list) or not all(
            isinstance(entry, list)
            and len(entry) == width
            and isinstance(entry[0], str)
            and all(_is_shape(shape) for shape in entry[1:])
            for entry in entries
        ):
            raise MalformedRecord(f"details.{name} is not a list of [key, shape] entries")
        checked[name] = entries[:256]
    return checked


def _parse_record(record, index: int) -> Answer:
    """The typed answer in a record (tensors left out); raises MalformedRecord."""
    if not isinstance(record, dict) or type(record.get("index")) is not int:
        raise MalformedRecord("the record is not this case's")
    if record["index"] != index:
        raise MalformedRecord("the record is not this case's")
    status = record.get("status")
    if not isinstance(status, str) or status not in WORKER_STATUSES:
        raise MalformedRecord(f"unknown status {str(status)[:40]!r}")
    details = record.get("details", {})
    facts = record.get("facts", {})
    if not isinstance(details, dict) or not isinstance(facts, dict):
        raise MalformedRecord("details or facts is not an object")
    if status == Status.STATE_MISMATCH:
        details = _state_details(details)
    return Answer(
        Status(status),
        message=_text(record, "message"),
        error=_error_info(record),
        details=details,
        params_without_grad=_texts(facts, "params_without_grad"),
        inputs_without_grad=_texts(facts, "inputs_without_grad"),
    )


def _read_answer(workdir: Path, index: int) -> Answer | None:
    """The validated answer to case `index`, None when the worker never wrote one."""
    record_name, tensor_name = f"result_{index}.json", f"result_{index}.safetensors"
    if not os.path.lexists(workdir / record_name):
        return None
    try:
        record = load_untrusted_json(workdir, record_name, MAX_RECORD_BYTES, MAX_RECORD_DEPTH)
        answer = _parse_record(record, index)
        if not os.path.lexists(workdir / tensor_name):
            return _garbage("no tensor file")
        tensors = load_safetensors(read_untrusted_bytes(workdir, tensor_name, MAX_ANSWER_BYTES))
    except (UntrustedFileError, MalformedRecord) as error:
        return _garbage(str(error)[:200])
    except (SafetensorError, ValueError, RuntimeError) as error:  # not a safetensors file
        return _garbage(f"{tensor_name} is not a safetensors file: {str(error)[:160]}")
    bad = [key for key in tensors if not key.startswith(TENSOR_PREFIXES)]
    if bad:
        return _garbage(f"unexpected tensor names {bad[:3]}")
    odd = sorted({str(t.dtype) for t in tensors.values() if t.dtype not in TENSOR_DTYPES})
    if odd:
        return _garbage(f"tensors of unsupported dtype {odd[:3]}")
    return dataclasses.replace(answer, tensors=tensors)


def _read_cell_errors(workdir: Path) -> tuple[tuple[CellError, ...], tuple[str, ...]]:
    """The cells that raised while the module loaded, and a problem when the record is bad."""
    name = "load_0.json"
    if not os.path.lexists(workdir / name):
        return (), ()
    try:
        errors = load_untrusted_json(workdir, name, MAX_RECORD_BYTES, MAX_RECORD_DEPTH)
        if not isinstance(errors, dict) or not isinstance(errors.get("cell_errors"), list):
            raise MalformedRecord("no list of cell errors")
        return tuple(
            CellError(**_error_info({"error": error}).__dict__, cell=_text(error, "cell", 200))
            for error in errors["cell_errors"][:64]
        ), ()
    except (UntrustedFileError, MalformedRecord, TypeError) as error:
        return (), (f"the record of your module's loading could not be read ({error})",)


def _died(result, prepared: PreparedCase) -> Answer:
    """The answer for the case the worker was running when it died or was killed."""
    if result.timed_out or result.returncode == -signal.SIGXCPU:
        limit = "wall-clock" if result.timed_out else "CPU-time"
        return Answer(
            Status.TIMEOUT,
            message=f"timed out: the worker was still running case {prepared.case_id} when "
            f"the {limit} limit for your whole notebook ran out (an endless loop?)",
        )
    reason = result.failure_reason() or "exited without answering"
    return Answer(
        Status.CRASHED, message=f"crashed: the worker running case {prepared.case_id} {reason}"
    )


def _start_failure(result, limits) -> str:
    reason = result.failure_reason() or "exited without signalling readiness"
    if any(sign in result.stderr for sign in _OUT_OF_MEMORY_SIGNS):
        reason += " -- the memory limit is too small for the worker's own imports"
    return (
        f"the sandboxed worker failed before running any student code ({reason}); interpreter "
        f"{sys.executable}; limits: memory {limits.memory_bytes / 2**30:g} GiB, CPU "
        f"{limits.cpu_seconds} s, wall {limits.wall_seconds:g} s"
    )


def run_worker(cells, prepared: tuple[PreparedCase, ...], limits, zygote=None) -> WorkerRun:
    """Answers for every prepared case from one worker process (more only after a crash).

    `zygote` (`autograder.sandbox_zygote.Zygote`): each worker process is a fork of it (warm)
    instead of a fresh interpreter (cold); the sandbox and the answers are the same."""
    from autograder.sandbox import run_sandboxed

    answers: dict[int, Answer] = {}
    indices = [case.request["index"] for case in prepared]
    workdir = Path(tempfile.mkdtemp(prefix="facekit-judge-"))
    try:
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
                zygote=zygote,
            )
            if runs == 1 and not result.ready:  # later runs follow student code: not evidence
                raise GraderFault(_start_failure(result, limits))
            while position < len(indices):
                answer = _read_answer(workdir, indices[position])
                if answer is None:
                    break
                answers[indices[position]] = answer
                position += 1
            if position < len(indices):
                # The case at `position` killed the worker: skip the rest of its component
                # too (they would most likely do the same) and go on with the next one.
                stopped = prepared[position]
                died = _died(result, stopped)
                answers[indices[position]] = died
                position += 1
                verb = "timed out" if died.status == Status.TIMEOUT else "crashed"
                while position < len(indices) and prepared[position].component.id == (
                    stopped.component.id
                ):
                    answers[indices[position]] = Answer(
                        Status.NOT_RUN,
                        message=f"not run: case {stopped.case.name} of this component {verb}",
                    )
                    position += 1
        for index in indices[position:]:
            answers[index] = Answer(
                Status.NOT_RUN,
                message="not run: earlier cases crashed or hung too often, or the notebook used "
                f"up its {limits.wall_seconds:g} s time limit",
            )
        cell_errors, problems = _read_cell_errors(workdir)
        return WorkerRun(answers, cell_errors, problems)
    finally:
        remove_untrusted_tree(workdir)
