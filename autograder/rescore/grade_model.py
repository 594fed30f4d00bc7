"""`facekit grade-model`, trusted side: re-score a student's checkpoint with their own Network.

The checkpoint is untrusted input. It is opened here only with `torch.load(weights_only=True)`
(tensors and plain containers; a pickled object is refused), its Network weights are rewritten as
safetensors, and everything the worker needs is copied into the sandbox's working directory. The
student's code runs only in the sandboxed worker (`worker.py`); its CSVs come back as data and are
validated and scored here with the leaderboard's own `score_submission`. The parameter count is
taken from the checkpoint's tensors here, not from anything the student's code reports.
"""

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torchvision.datasets.folder import find_classes

from autograder.extract import NotebookError, extract_module, read_notebook
from autograder.scoring import (
    InvalidSubmission,
    KeysError,
    TaskScore,
    load_keys,
    parse_submission,
    score_parsed,
)
from data_tools.layout import CLS_TEST, TEST_PAIRS, VER_IMAGES
from facekit.training import inference
from facekit.training.checkpoint import CheckpointError, CheckpointMeta, load_safely
from facekit.training.config import ConfigError, dataclass_from_table, read_toml
from facekit.training.data import DataError, test_image_ids

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
STUDENT_MODULE = "student_module.py"
# Keys students' notebooks commonly use for the weights inside a checkpoint dict.
STATE_DICT_KEYS = ("model_state_dict", "state_dict", "model")
# Buffers, not parameters: they do not count towards the parameter budget.
BUFFER_SUFFIXES = (".running_mean", ".running_var", ".num_batches_tracked")


class RescoreError(Exception):
    """grade-model cannot run: bad checkpoint, notebook, data, keys or course config."""


@dataclass
class GradeModelConfig:
    """The course's `[grade_model]` table."""

    max_parameters: int = field(
        default=35_000_000, metadata={"help": "largest allowed parameter count of Network"}
    )
    image_size: int = field(
        default=112, metadata={"help": "input size when the checkpoint does not record one"}
    )
    batch_size: int = field(
        default=128, metadata={"help": "batch size when the checkpoint does not record one"}
    )
    wall_seconds: float = field(default=1800.0, metadata={"help": "worker wall-clock limit"})
    cpu_seconds: int = field(default=3600, metadata={"help": "worker CPU-time limit"})
    memory_gib: float = field(default=16.0, metadata={"help": "worker memory limit (CPU runs)"})


def load_course_config(path: Path) -> GradeModelConfig:
    """The `[grade_model]` table of a course TOML (other tables belong to other tools).

    The kit ships configs/grade_model.toml; a course may keep the table in a shared file.
    """
    raw = read_toml(path)
    if "grade_model" not in raw:
        raise ConfigError(f"{path}: no [grade_model] table (expected max_parameters and limits)")
    return dataclass_from_table(
        GradeModelConfig, raw.get("grade_model", {}), str(path), "grade_model."
    )


@dataclass(frozen=True)
class Agreement:
    """How a recomputed CSV compares with the one the student submitted (keys' row order)."""

    task: str
    submitted_overall: float
    recomputed_overall: float
    label_agreement: float | None = None  # classification: fraction of identical labels
    max_abs_diff: float | None = None  # verification: largest score difference
    spearman: float | None = None  # verification: rank correlation of the scores

    @property
    def exact(self) -> bool:
        if self.task == "classification":
            return self.label_agreement == 1.0
        return self.submitted_overall == self.recomputed_overall


@dataclass
class GradeModelReport:
    """Everything grade-model found, for a person (`summary`) and for files (`to_json`)."""

    scores: dict[str, TaskScore]
    parameters: int
    max_parameters: int
    agreements: list[Agreement]
    problems: list[str]

    @property
    def over_budget(self) -> bool:
        return self.parameters > self.max_parameters

    @property
    def ok(self) -> bool:
        """No flag: within budget and every submitted CSV reproduced."""
        return not self.over_budget and not self.problems and all(a.exact for a in self.agreements)

    def summary(self) -> str:
        lines = []
        for task, score in self.scores.items():
            lines.append(
                f"{task}: recomputed {score.metric} public {score.public:.6f} private "
                f"{score.private:.6f} overall {score.overall:.6f}"
            )
        budget = "OVER BUDGET" if self.over_budget else "within budget"
        lines.append(f"parameters: {self.parameters:,} ({budget}: max {self.max_parameters:,})")
        for agreement in self.agreements:
            detail = (
                f"labels agree on {agreement.label_agreement:.2%}"
                if agreement.task == "classification"
                else f"max |score diff| {agreement.max_abs_diff:.3g}, Spearman "
                f"{agreement.spearman:.6f}"
            )
            lines.append(
                f"{agreement.task} submission: overall {agreement.submitted_overall:.6f} vs "
                f"recomputed {agreement.recomputed_overall:.6f}; {detail}"
                + ("" if agreement.exact else "  [DOES NOT REPRODUCE]")
            )
        lines.extend(f"problem: {problem}" for problem in self.problems)
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {
                "scores": {task: asdict(score) for task, score in self.scores.items()},
                "parameters": self.parameters,
                "max_parameters": self.max_parameters,
                "over_budget": self.over_budget,
                "agreements": [{**asdict(a), "exact": a.exact} for a in self.agreements],
                "problems": self.problems,
                "ok": self.ok,
            },
            indent=2,
        )


@dataclass(frozen=True)
class CheckpointContents:
    """What the checkpoint tells us: the Network's weights and, when recorded, how to build it."""

    weights: dict[str, torch.Tensor]
    meta: CheckpointMeta | None


def read_checkpoint(path: Path) -> CheckpointContents:
    """The Network's weights (and facekit metadata) from an untrusted checkpoint, safely.

    Accepts a facekit training checkpoint, a bare state dict, or a dict holding one under
    `model_state_dict`, `state_dict` or `model`.
    """
    try:
        payload = load_safely(path)
    except CheckpointError as error:
        raise RescoreError(str(error)) from None
    meta = None
    if "meta" in payload:
        try:
            meta = CheckpointMeta.from_json(payload["meta"], str(path))
        except CheckpointError as error:
            raise RescoreError(str(error)) from None
        weights = payload.get(meta.eval_weights)
    elif all(isinstance(value, torch.Tensor) for value in payload.values()):
        weights = payload
    else:
        weights = next((payload[k] for k in STATE_DICT_KEYS if k in payload), None)
    if not isinstance(weights, dict) or not weights:
        raise RescoreError(
            f"{path}: no state dict found (expected the Network's state_dict, or a dict with "
            f"one of {', '.join(STATE_DICT_KEYS)}); found keys {sorted(payload)[:10]}"
        )
    bad = [name for name, value in weights.items() if not isinstance(value, torch.Tensor)]
    if bad:
        raise RescoreError(f"{path}: state dict entry {bad[0]!r} is not a tensor")
    return CheckpointContents(weights=weights, meta=meta)


def count_parameters(weights: dict[str, torch.Tensor]) -> int:
    """Parameter count from the weights themselves (BatchNorm statistics excluded)."""
    return sum(v.numel() for k, v in weights.items() if not k.endswith(BUFFER_SUFFIXES))


def _link_or_copy(source: Path, target: Path) -> None:
    """Hard-link when possible (fast, no extra space), else copy; the sandbox reads only its dir."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        target.hardlink_to(source)
    except OSError:
        shutil.copyfile(source, target)


def prepare_workdir(
    workdir: Path,
    student_source: str,
    contents: CheckpointContents,
    comp: Path,
    class_names: list[str],
    network_kwargs: dict[str, Any],
    course: GradeModelConfig,
    allow_gpu: bool,
) -> None:
    """Fill the sandbox's working directory with the job (see worker.py's docstring)."""
    from safetensors.torch import save_file

    meta = contents.meta
    data = meta.config["data"] if meta else {}
    run = meta.config["run"] if meta else {}
    test_ids = test_image_ids(comp)
    pairs = inference.read_rows(comp / TEST_PAIRS)
    job = {
        "network_kwargs": network_kwargs,
        "class_names": class_names,
        # The run's own evaluation settings reproduce its CSVs bit for bit.
        "image_size": data.get("image_size", course.image_size),
        "batch_size": data.get("eval_batch_size", course.batch_size),
        "threads": run.get("threads", 0),
        "channels_last": run.get("channels_last", False),
        "device": "cuda" if allow_gpu else "cpu",
        "test_ids": test_ids,
    }
    (workdir / "job.json").write_text(json.dumps(job))
    (workdir / STUDENT_MODULE).write_text(student_source, encoding="utf-8")
    shutil.copyfile(inference.__file__, workdir / "facekit_inference.py")
    # Fresh contiguous copies: safetensors refuses shared or strided storage.
    weights = {
        name: value.detach().contiguous().clone() for name, value in contents.weights.items()
    }
    save_file(weights, workdir / "weights.safetensors")
    shutil.copyfile(comp / TEST_PAIRS, workdir / "test_pairs.csv")
    for image_id in test_ids:
        _link_or_copy(comp / CLS_TEST / image_id, workdir / "images" / "test" / image_id)
    for name in sorted({row["image_a"] for row in pairs} | {row["image_b"] for row in pairs}):
        _link_or_copy(comp / VER_IMAGES / name, workdir / "images" / "ver" / name)


def compare(task: str, keys, recomputed, submitted, recomputed_score: TaskScore) -> Agreement:
    """Agreement of two parsed submissions of the same task (values in the keys' order)."""
    submitted_score = score_parsed(keys, submitted)
    if task == "classification":
        return Agreement(
            task,
            submitted_score.overall,
            recomputed_score.overall,
            label_agreement=float(np.mean(recomputed.values == submitted.values)),
        )
    diff = float(np.max(np.abs(recomputed.values - submitted.values)))
    spearman = pd.Series(recomputed.values).corr(pd.Series(submitted.values), method="spearman")
    return Agreement(
        task,
        submitted_score.overall,
        recomputed_score.overall,
        max_abs_diff=diff,
        spearman=float(spearman),
    )


def submission_task(path: Path) -> str:
    """Which task a submitted CSV is for, from its header."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            header = handle.readline().strip().split(",")
    except OSError as error:
        raise RescoreError(f"{path}: cannot read submission ({error})") from None
    if header[:1] == ["id"]:
        return "classification"
    if header[:1] == ["pair_id"]:
        return "verification"
    raise RescoreError(
        f"{path}: header {','.join(header)!r} is neither 'id,label' (classification) nor "
        "'pair_id,score' (verification)"
    )


def grade_model(
    notebook: Path,
    checkpoint: Path,
    comp: Path,
    keys: Path,
    submissions: list[Path] = (),
    course_config: Path | None = None,
    network_kwargs_json: str | None = None,
    allow_gpu: bool = False,
    out_dir: Path | None = None,
    allow_weaker: tuple[str, ...] = (),
) -> GradeModelReport:
    """Re-score `checkpoint` with the Network of `notebook` (sandboxed); see module docstring."""
    from autograder.sandbox import Limits, run_sandboxed

    comp, keys = Path(comp), Path(keys)
    try:
        course = load_course_config(course_config) if course_config else GradeModelConfig()
        source = extract_module(read_notebook(notebook), name=str(notebook)).source
        contents = read_checkpoint(checkpoint)
        class_names = (
            contents.meta.class_names
            if contents.meta
            else find_classes(str(comp / "cls_data" / "train"))[0]
        )
        network_kwargs = contents.meta.network_kwargs if contents.meta else {}
        if network_kwargs_json:
            network_kwargs = json.loads(network_kwargs_json)
            if not isinstance(network_kwargs, dict):
                raise RescoreError(
                    f"--network-kwargs: expected a JSON object, got {network_kwargs!r}"
                )
        parsed_keys = {task: load_keys(task, keys) for task in ("classification", "verification")}
        with tempfile.TemporaryDirectory(prefix="facekit-grade-model-") as temporary:
            workdir = Path(temporary)
            prepare_workdir(
                workdir, source, contents, comp, class_names, network_kwargs, course, allow_gpu
            )
            limits = Limits(
                cpu_seconds=course.cpu_seconds,
                memory_bytes=int(course.memory_gib * 2**30),
                wall_seconds=course.wall_seconds,
                allow_gpu=allow_gpu,
                allow_weaker=allow_weaker,  # --allow-weaker-sandbox
            )
            result = run_sandboxed(WORKER_SCRIPT, workdir, limits)
            if not result.ok:
                raise RescoreError(
                    f"the student's Network could not be rebuilt and run: {result.failure_reason()}"
                )
            recomputed = {}
            for task, name in (
                ("classification", "classification.csv"),
                ("verification", "verification.csv"),
            ):
                data = (workdir / name).read_bytes()
                recomputed[task] = parse_submission(parsed_keys[task], data, filename=name)
                if out_dir is not None:
                    Path(out_dir).mkdir(parents=True, exist_ok=True)
                    (Path(out_dir) / name).write_bytes(data)
    except (NotebookError, ConfigError, DataError, KeysError, json.JSONDecodeError) as error:
        raise RescoreError(str(error)) from None
    except InvalidSubmission as error:
        raise RescoreError(f"the worker's predictions are invalid:\n{error}") from None

    scores = {task: score_parsed(parsed_keys[task], sub) for task, sub in recomputed.items()}
    agreements, problems = [], []
    for path in submissions:
        task = submission_task(path)
        try:
            submitted = parse_submission(parsed_keys[task], Path(path))
        except InvalidSubmission as error:
            problems.append(f"{path}: invalid {task} submission:\n{error}")
            continue
        agreements.append(
            compare(task, parsed_keys[task], recomputed[task], submitted, scores[task])
        )
    report = GradeModelReport(
        scores=scores,
        parameters=count_parameters(contents.weights),
        max_parameters=course.max_parameters,
        agreements=agreements,
        problems=problems,
    )
    if out_dir is not None:
        (Path(out_dir) / "report.json").write_text(report.to_json() + "\n")
    return report
