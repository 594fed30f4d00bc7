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
from enum import StrEnum

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

PROTOCOL_VERSION = 2
STUDENT_MODULE_NAME = "student_module"
MAX_MESSAGE_CHARS = 600
MAX_FRAMES = 4
EVAL_REPEATS = 2  # drop-path cases: eval-mode forwards whose outputs must agree


# ----------------------------------------------------------------------------- the protocol
# One vocabulary for the rubric, the worker and the judge: the request and the answers carry
# these values as strings (a StrEnum member IS its string), the trusted side parses them back.


class Status(StrEnum):
    """How a case ended. The worker writes the first eight; the trusted side adds the others."""

    OK = "ok"
    MISSING = "missing"  # the class is not defined
    NOT_IMPLEMENTED = "not_implemented"
    STATE_MISMATCH = "state_mismatch"  # parameter names or shapes differ from the contract
    ERROR = "error"  # the student's code raised
    BAD_OUTPUT = "bad_output"  # forward returned something that is not a tensor (dict)
    TIMEOUT = "timeout"
    FORBIDDEN = "forbidden"  # built from or called a ready-made implementation (the policy)
    CRASHED = "crashed"  # the worker died on this case (decided by the trusted side)
    NOT_RUN = "not_run"  # skipped after a crash or timeout (trusted side)
    GARBAGE = "garbage"  # the answer files could not be read as data (trusted side)


WORKER_STATUSES = frozenset(
    {
        Status.OK,
        Status.MISSING,
        Status.NOT_IMPLEMENTED,
        Status.STATE_MISMATCH,
        Status.ERROR,
        Status.BAD_OUTPUT,
        Status.TIMEOUT,
        Status.FORBIDDEN,
    }
)


class Mode(StrEnum):
    TRAIN = "train"
    EVAL = "eval"


class DType(StrEnum):
    FLOAT32 = "float32"
    FLOAT64 = "float64"

    @property
    def torch(self) -> torch.dtype:
        return getattr(torch, self.value)


class Objective(StrEnum):
    """What is backpropagated after the forward pass."""

    DOT = "dot"  # output · fixed non-uniform weights: every element's gradient counts
    CROSS_ENTROPY = "cross_entropy"  # of the logits and the labels input
    VALUE = "value"  # the (scalar) loss itself
    NONE = "none"  # no backward pass


class Check(StrEnum):
    """How the trusted side judges a case's answer."""

    COMPARE = "compare"  # outputs, gradients, BatchNorm buffers against the reference
    DROP_PATH = "drop_path"  # stochastic depth's law in train mode, determinism in eval
    CONTRACT = "contract"  # Network: output keys, shapes, finiteness, gradients reach weights


class GradientCheck(StrEnum):
    COMPARE = "compare"
    FINITE = "finite"  # only finiteness: where correct formulas legitimately differ


# ----------------------------------------------------------------------------- the policy
# Graded components are written by the student from torch, torch.nn and torch.nn.functional.
# Ready-made implementations of them are forbidden: model libraries' blocks and layers, and
# torch's own triplet losses (where the component IS the loss). The judge also checks the source.
FORBIDDEN_MODULES = (
    "torchvision.models",
    "torchvision.ops",
    "timm",
    "pytorch_metric_learning",
    "facenet_pytorch",
    "insightface",
)
FORBIDDEN_FUNCTIONS = ("triplet_margin_loss", "triplet_margin_with_distance_loss")
FORBIDDEN_CLASSES = ("TripletMarginLoss", "TripletMarginWithDistanceLoss")


_FORBIDDEN_QUALNAMES = (*FORBIDDEN_FUNCTIONS, *(f"{name}." for name in FORBIDDEN_CLASSES))
_FORBIDDEN_C_FUNCTIONS = frozenset(FORBIDDEN_FUNCTIONS)


def forbidden_name(module: str, qualname: str) -> str | None:
    """`module.qualname` when the policy forbids it in a graded component, else None."""
    if any(module == root or module.startswith(root + ".") for root in FORBIDDEN_MODULES):
        return f"{module}.{qualname}"
    if module.startswith("torch") and qualname.split(".")[0] in (
        *FORBIDDEN_FUNCTIONS,
        *FORBIDDEN_CLASSES,
    ):
        return f"{module}.{qualname}"
    return None


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

    def __init__(self, status: "Status", message: str, details: dict | None = None):
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
    objective = Objective(case["objective"])
    if objective == Objective.NONE:
        return None
    if objective == Objective.CROSS_ENTROPY:
        return F.cross_entropy(output, inputs[case["labels_input"]])
    if objective == Objective.VALUE:
        if output.numel() != 1:
            raise CaseFailure(
                Status.BAD_OUTPUT,
                f"expected a scalar loss, got a tensor of shape {tuple(output.shape)}",
            )
        return output.reshape(())
    if objective == Objective.DOT:
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
    raise CaseFailure(
        Status.BAD_OUTPUT, f"forward returned {type(output).__name__}, expected a tensor"
    )


def seed_torch(seed: int) -> None:
    """Seed torch's CPU generator: what `torch.manual_seed` does where no GPU is used, without
    its lazy CUDA seeding, which formats the call stack every time (a third of the CPU time of
    a case with tiny tensors)."""
    torch.default_generator.manual_seed(seed)


def _detached(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.detach().contiguous().clone()


def _forbidden_classes(module: torch.nn.Module) -> list[str]:
    """Forbidden classes among the module's submodules and their base classes."""
    found = []
    for submodule in module.modules():
        for cls in type(submodule).__mro__:
            name = forbidden_name(str(cls.__module__), str(cls.__qualname__))
            if name and name not in found:
                found.append(name)
    return found


class _Watch:
    """While active, records every call of a forbidden function or method (Python functions by
    the module that defines them, torch's C functions by name). Source aliasing cannot hide a
    call; code that removes this profile hook is itself reported."""

    def __init__(self) -> None:
        self.used: list[str] = []
        self._previous = None
        self._hook = self._profile  # one bound method, to recognise it in sys.getprofile()

    def _profile(self, frame, event, arg) -> None:
        # Called on every function call while a case runs: the common path is two C calls.
        if event == "call":
            code = frame.f_code
            module = frame.f_globals.get("__name__")
            if code.co_qualname.startswith(_FORBIDDEN_QUALNAMES) or (
                type(module) is str and module.startswith(FORBIDDEN_MODULES)
            ):
                name = forbidden_name(str(module), code.co_qualname)
                if name and name not in self.used:
                    self.used.append(name)
        elif event == "c_call" and getattr(arg, "__name__", None) in _FORBIDDEN_C_FUNCTIONS:
            name = f"torch.{arg.__name__}"
            if name not in self.used:
                self.used.append(name)

    def __enter__(self) -> "_Watch":
        self._previous = sys.getprofile()
        sys.setprofile(self._hook)
        return self

    def __exit__(self, *exc) -> None:
        current = sys.getprofile()
        sys.setprofile(self._previous)
        if current is not self._hook and "sys.setprofile" not in self.used:
            self.used.append("sys.setprofile (the grader's call monitor was removed)")


def _check_policy(used: list[str]) -> None:
    if used:
        raise CaseFailure(
            Status.FORBIDDEN,
            f"uses {', '.join(used[:4])}: graded components must be written by you from torch, "
            "torch.nn and torch.nn.functional, not taken from a library",
            {"used": used[:8]},
        )


def run_case(
    module_class: type, case: dict, tensors: dict[str, torch.Tensor], *, watched: bool = True
) -> tuple[dict[str, torch.Tensor], dict]:
    """Build `module_class(**ctor)`, load the weights, run forward and backward as the case says.

    `tensors` holds `input/<name>` and `state/<key>`. Returns the tensors to compare
    (`output` or `output/<key>`, `grad_input/<name>`, `grad_param/<name>`, `buffer/<name>`, and
    for drop-path cases `eval/<i>`: repeated eval-mode outputs) and facts as data (inputs and
    parameters that received no gradient). Raises CaseFailure when the module's weights do not
    match the reference by name and shape, its output is malformed, or it uses what the policy
    forbids. `watched` False runs without the call monitor, for the trusted reference: its hook
    on every Python call costs about 40% of a small case.
    """
    if not watched:
        return _run_case(module_class, case, tensors)
    with _Watch() as watch:
        try:
            results, facts = _run_case(module_class, case, tensors)
        except CaseFailure:
            raise
        except Exception:
            if watch.used:  # the forbidden call is the better explanation
                _check_policy(watch.used)
            raise
    _check_policy(watch.used)
    return results, facts


def _run_case(module_class, case, tensors):
    dtype = DType(case["dtype"]).torch
    seed_torch(case["seed"])
    module = module_class(**case["ctor"])
    if not isinstance(module, torch.nn.Module):
        raise CaseFailure(Status.BAD_OUTPUT, f"{case['class_name']}(...) is not a torch.nn.Module")
    _check_policy(_forbidden_classes(module))
    module = module.to(dtype)
    state = {key[6:]: value for key, value in tensors.items() if key.startswith("state/")}
    if case["load_state"]:
        mismatch = _state_mismatch(module, state)
        if mismatch is not None:
            raise CaseFailure(Status.STATE_MISMATCH, "parameter names or shapes differ", mismatch)
        module.load_state_dict(state, strict=True)
    module.train(case["mode"] == Mode.TRAIN)

    inputs = {name: tensors[f"input/{name}"].clone() for name in case["inputs"]}
    for name in case["grad_inputs"]:
        inputs[name].requires_grad_(True)
    seed_torch(case["seed"] + 1)
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
            elif case["check"] == Check.CONTRACT:
                # A contract case asks only which parameters the gradient reached: a norm stands
                # in for each gradient (a whole Network's are tens of MB to write and read).
                results[f"grad_param/{name}"] = _detached(parameter.grad.norm())
            else:
                results[f"grad_param/{name}"] = _detached(parameter.grad)
    for name, buffer in module.named_buffers():
        results[f"buffer/{name}"] = _detached(buffer)
    if case["check"] == Check.DROP_PATH:
        module.eval()
        with torch.no_grad():
            for repeat in range(EVAL_REPEATS):
                seed_torch(case["seed"] + 2 + repeat)
                evaluated = module(*(inputs[name].detach() for name in case["inputs"]))
                _check_output(evaluated)
                if not isinstance(evaluated, torch.Tensor):
                    raise CaseFailure(Status.BAD_OUTPUT, "forward must return a tensor")
                results[f"eval/{repeat}"] = _detached(evaluated)
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
        record: dict = {"protocol": PROTOCOL_VERSION, "index": index, "status": Status.OK}
        results: dict[str, torch.Tensor] = {}
        module_class = module.__dict__.get(case["class_name"])
        if not isinstance(module_class, type):
            record["status"] = Status.MISSING
        elif case["class_name"] in timed_out_classes:
            record["status"] = Status.TIMEOUT
            record["message"] = "not run: an earlier case of this class timed out"
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
                record["status"] = Status.TIMEOUT
                record["message"] = (
                    f"timed out: did not finish within {request['case_seconds']:g} s "
                    "(an endless loop?)"
                )
            except CaseFailure as failure:
                record.update(status=failure.status, message=str(failure), details=failure.details)
            except NotImplementedError as error:
                record.update(status=Status.NOT_IMPLEMENTED, error=_error_record(error, labels))
            except BaseException as error:  # noqa: BLE001 - student code may raise anything
                record.update(status=Status.ERROR, error=_error_record(error, labels))
        _save_file(results, f"result_{index}.safetensors")
        _write_json(f"result_{index}.json", record)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
