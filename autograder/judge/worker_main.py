"""Student-side worker: runs the judge's cases against a student's module in a fresh interpreter.

Standalone on purpose (stdlib, torch and safetensors only): the sandbox copies this file into an
empty working directory where nothing from the course repository can be imported. It reads
`request.json` (the cases), `student_cells.json` (the student's code, cell by cell) and
`case_<i>.safetensors` (inputs and reference weights), and writes `result_<i>.json` and
`result_<i>.safetensors` per case, so a crash or hang in one case leaves the earlier answers.

The trusted judge imports `run_case` from here to run the reference through the very same steps,
and then compares; nothing this process writes is trusted beyond being data.
"""

import builtins
import json
import linecache
import os
import signal
import sys
import traceback
import types

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

PROTOCOL_VERSION = 1
STUDENT_MODULE_NAME = "student_module"
MAX_MESSAGE_CHARS = 600
MAX_FRAMES = 4

# Saved before any student code runs: a student module that rebinds these names (or patches
# json / builtins) cannot redirect how this worker writes its answers.
_open = builtins.open
_dumps = json.dumps
_loads = json.loads
_save_file = save_file
_load_file = load_file


class CaseTimeout(BaseException):
    """Raised by the alarm when one case runs longer than the request's `case_seconds`."""


def _on_alarm(signum, frame):
    raise CaseTimeout()


class CaseFailure(Exception):
    """The student's module cannot run this case; `status` says why in one word."""

    def __init__(self, status: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status = status
        self.details = details or {}


def upstream_weights(output: torch.Tensor) -> torch.Tensor:
    """A fixed, non-uniform tensor shaped like `output`: backpropagating `(output * w).sum()`
    checks every output element's gradient, not just their sum."""
    steps = torch.arange(output.numel(), dtype=torch.float64)
    return torch.sin(steps * 0.37 + 0.1).to(output.dtype).reshape(output.shape)


def _state_mismatch(module: torch.nn.Module, state: dict[str, torch.Tensor]) -> dict | None:
    """Missing, unexpected and wrongly shaped state-dict keys, or None when they all match."""
    own = module.state_dict()
    missing = [key for key in state if key not in own]
    unexpected = [key for key in own if key not in state]
    shapes = [
        [key, list(state[key].shape), list(own[key].shape)]
        for key in state
        if key in own and tuple(own[key].shape) != tuple(state[key].shape)
    ]
    if missing or unexpected or shapes:
        return {
            "missing": missing,
            "unexpected": unexpected,
            "shape_mismatch": shapes,
            "expected": [[key, list(value.shape)] for key, value in state.items()],
            "found": [[key, list(value.shape)] for key, value in own.items()],
        }
    return None


def _objective(output, case: dict, inputs: dict[str, torch.Tensor]) -> torch.Tensor | None:
    """The scalar to backpropagate for this case's objective (None: no backward pass)."""
    objective = case["objective"]
    if objective == "none":
        return None
    if objective == "cross_entropy":
        return F.cross_entropy(output, inputs[case["labels_input"]])
    if objective == "value":
        if output.numel() != 1:
            raise CaseFailure(
                "bad_output", f"expected a scalar loss, got a tensor of shape {tuple(output.shape)}"
            )
        return output.reshape(())
    if objective == "dot":
        parts = output.values() if isinstance(output, dict) else [output]
        return sum((part * upstream_weights(part.detach())).sum() for part in parts)
    raise ValueError(f"unknown objective {objective!r}")


def _check_output(output) -> None:
    """Fail the case unless forward returned a tensor or a dict of tensors."""
    if isinstance(output, torch.Tensor):
        return
    if isinstance(output, dict) and all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in output.items()
    ):
        return
    raise CaseFailure("bad_output", f"forward returned {type(output).__name__}, expected a tensor")


def _detached(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.detach().contiguous().clone()


def run_case(
    module_class: type, case: dict, tensors: dict[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], dict]:
    """Build `module_class(**ctor)`, load the weights, run forward and backward as the case says.

    `tensors` holds `input/<name>` and `state/<key>`. Returns the tensors to compare
    (`output` or `output/<key>`, `grad_input/<name>`, `grad_param/<name>`, `buffer/<name>`) and
    facts as data (inputs and parameters that received no gradient). Raises CaseFailure when the
    module's weights do not match the reference by name and shape or its output is malformed.
    """
    dtype = getattr(torch, case["dtype"])
    torch.manual_seed(case["seed"])
    module = module_class(**case["ctor"])
    if not isinstance(module, torch.nn.Module):
        raise CaseFailure("bad_output", f"{case['class_name']}(...) is not a torch.nn.Module")
    module = module.to(dtype)
    state = {key[6:]: value for key, value in tensors.items() if key.startswith("state/")}
    if case["load_state"]:
        mismatch = _state_mismatch(module, state)
        if mismatch is not None:
            raise CaseFailure("state_mismatch", "parameter names or shapes differ", mismatch)
        module.load_state_dict(state, strict=True)
    module.train(case["mode"] == "train")

    inputs = {name: tensors[f"input/{name}"].clone() for name in case["inputs"]}
    for name in case["grad_inputs"]:
        inputs[name].requires_grad_(True)
    torch.manual_seed(case["seed"] + 1)
    output = module(*(inputs[name] for name in case["inputs"]))
    _check_output(output)
    loss = _objective(output, case, inputs)
    if loss is not None and loss.requires_grad:
        loss.backward()

    results: dict[str, torch.Tensor] = {}
    if isinstance(output, dict):
        results.update({f"output/{key}": _detached(value) for key, value in output.items()})
    else:
        results["output"] = _detached(output)
    facts: dict = {"inputs_without_grad": [], "params_without_grad": []}
    if loss is not None:
        for name in case["grad_inputs"]:
            grad = inputs[name].grad
            if grad is None:
                facts["inputs_without_grad"].append(name)
            else:
                results[f"grad_input/{name}"] = _detached(grad)
        for name, parameter in module.named_parameters():
            if parameter.grad is None:
                facts["params_without_grad"].append(name)
            else:
                results[f"grad_param/{name}"] = _detached(parameter.grad)
    for name, buffer in module.named_buffers():
        results[f"buffer/{name}"] = _detached(buffer)
    return results, facts


def _student_frames(error: BaseException, cell_labels: set[str]) -> list[str]:
    """The last few traceback frames that lie in the student's cells, as readable lines."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename in cell_labels
    ]
    return [
        f"{frame.filename}, line {frame.lineno}, in {frame.name}: {(frame.line or '').strip()}"
        for frame in frames[-MAX_FRAMES:]
    ]


def _error_record(error: BaseException, cell_labels: set[str]) -> dict:
    message = str(error)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + "..."
    return {
        "type": type(error).__name__,
        "message": message,
        "frames": _student_frames(error, cell_labels),
    }


def load_student_cells(cells: list[dict]) -> tuple[types.ModuleType, list[dict]]:
    """Execute the student's cells one by one into one module; a cell that raises is recorded
    and the others still load, so one broken cell only costs what it defines. Cells that fail
    with NameError run again after the others: notebooks get reordered (a class cell moved
    above the imports) and Jupyter never minded, since cells run in any order there."""
    module = types.ModuleType(STUDENT_MODULE_NAME)
    module.__file__ = f"{STUDENT_MODULE_NAME}.py"
    sys.modules[STUDENT_MODULE_NAME] = module
    labels = {cell["label"] for cell in cells}
    for cell in cells:
        lines = cell["source"].splitlines(keepends=True)
        linecache.cache[cell["label"]] = (len(cell["source"]), None, lines, cell["label"])
    pending, errors = list(cells), []
    while True:
        retry, name_errors = [], []
        for cell in pending:
            try:
                exec(compile(cell["source"], cell["label"], "exec"), module.__dict__)
            except NameError as error:
                retry.append(cell)
                name_errors.append({"cell": cell["label"], **_error_record(error, labels)})
            except BaseException as error:  # noqa: BLE001 - student code may raise anything
                errors.append({"cell": cell["label"], **_error_record(error, labels)})
        if not retry or len(retry) == len(pending):
            return module, errors + name_errors
        pending = retry


def _write_json(path: str, payload: dict) -> None:
    with _open(path, "w", encoding="utf-8") as handle:
        handle.write(_dumps(payload))


def _signal_ready() -> None:
    """Tell the sandbox this interpreter imported torch and safetensors, before any student code
    runs: a run that never gets here failed through the grader's fault, not the student's."""
    fd = os.environ.pop("FACEKIT_READY_FD", None)
    if fd is not None:
        os.write(int(fd), b"ready")
        os.close(int(fd))


def main(argv: list[str]) -> int:
    _signal_ready()
    # The cases are tiny: one thread avoids OpenMP spin-waiting that costs ~20x in CPU time
    # (measured: 7 s vs 0.3 s for the whole rubric on a busy 2-core machine).
    torch.set_num_threads(1)
    start = int(argv[1]) if len(argv) > 1 else 0
    with _open("request.json", encoding="utf-8") as handle:
        request = _loads(handle.read())
    with _open("student_cells.json", encoding="utf-8") as handle:
        cells = _loads(handle.read())
    labels = {cell["label"] for cell in cells}
    module, load_errors = load_student_cells(cells)
    _write_json(f"load_{start}.json", {"protocol": PROTOCOL_VERSION, "cell_errors": load_errors})
    timed_out_classes = set()
    for case in request["cases"][start:]:
        index = case["index"]
        tensors = _load_file(f"case_{index}.safetensors")
        record: dict = {"protocol": PROTOCOL_VERSION, "index": index, "status": "ok"}
        results: dict[str, torch.Tensor] = {}
        module_class = module.__dict__.get(case["class_name"])
        if not isinstance(module_class, type):
            record["status"] = "missing"
        elif case["class_name"] in timed_out_classes:
            record["status"] = "timeout"
            record["message"] = "not run: an earlier case of this class ran out of time"
        else:
            try:
                signal.signal(signal.SIGALRM, _on_alarm)
                signal.setitimer(signal.ITIMER_REAL, request["case_seconds"])
                try:
                    results, record["facts"] = run_case(module_class, case, tensors)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            except CaseTimeout:
                timed_out_classes.add(case["class_name"])
                results = {}
                record["status"] = "timeout"
                record["message"] = (
                    f"did not finish within {request['case_seconds']:g} s (an endless loop?)"
                )
            except CaseFailure as failure:
                record.update(status=failure.status, message=str(failure), details=failure.details)
            except NotImplementedError as error:
                record.update(status="not_implemented", error=_error_record(error, labels))
            except BaseException as error:  # noqa: BLE001 - student code may raise anything
                record.update(status="error", error=_error_record(error, labels))
        _save_file(results, f"result_{index}.safetensors")
        _write_json(f"result_{index}.json", record)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
