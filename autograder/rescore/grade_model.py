"""`facekit grade-model`, trusted side: re-score a student's checkpoint with their own Network.

The student's code runs only in the sandboxed worker, and what it returns is tensors as data
(`job.py`): embeddings and the largest logits of every test and verification image. Everything
that decides the verdict happens here, out of its reach: the CSVs are built with the same row
functions training uses, validated and scored with the leaderboard's own scoring code, compared
row by row with what the student submitted (`compare.py`), and the parameter count is taken from
the checkpoint's tensors. The preprocessing and the Network's constructor arguments come from the
checkpoint (`contents.py`), checked against the course's allowed ranges.

Before any student's model is run, a tiny reference Network goes through the very same sandbox
path and limits (`self_test`); when that fails the grader is broken, not the student
(`GraderFault`, exit 3), and nothing is recorded.
"""

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torchvision.datasets.folder import find_classes

from autograder.errors import GraderFault, SubmissionError
from autograder.rescore.compare import Agreement, compare_classification, compare_verification
from autograder.rescore.contents import (
    CheckpointContents,
    CheckpointError,
    count_parameters,
    read_checkpoint,
)
from autograder.rescore.job import Network, Outputs, run_job
from autograder.sandbox import Limits
from autograder.scoring import (
    InvalidSubmission,
    Keys,
    TaskScore,
    load_keys,
    parse_submission,
    score_parsed,
)
from facekit.base.contract import (
    CLASSIFICATION,
    CLS_TEST,
    CLS_TRAIN,
    SUBMISSION_COLUMNS,
    SUBMISSION_FILES,
    TASKS,
    TEST_PAIRS,
    VER_IMAGES,
    VERIFICATION,
)
from facekit.base.course import load_course_config
from facekit.base.csv_files import csv_text, read_rows
from facekit.base.errors import SetupError
from facekit.base.tables import setting
from facekit.notebook.extract import NotebookError, extract_module, read_notebook
from facekit.notebook.reference import load_reference, reference_source
from facekit.sandbox_side import inference
from facekit.training.data import test_image_ids
from facekit.training.submission_csv import (
    classification_rows,
    pair_image_names,
    verification_rows,
)

# Allowed preprocessing statistics (pixels are scaled to [0, 1] first).
MEAN_RANGE = (0.0, 1.0)
STD_RANGE = (0.01, 1.0)
# The reference Network of the self-test: tiny, so the check costs seconds.
SELF_TEST_NETWORK = {"depths": [1, 1], "widths": [8, 16], "embedding_dim": 16}
SELF_TEST_FEATS_TOLERANCE = 1e-4


class RescoreError(SetupError):
    """grade-model cannot run: staff setup (data, keys, course config) or usage."""


@dataclass
class GradeModelConfig:
    """The course's `[grade_model]` table."""

    max_parameters: int = field(
        default=35_000_000, metadata={"help": "largest allowed parameter count of Network"}
    )
    image_size: int = field(
        default=inference.IMAGE_SIZE,
        metadata={"help": "input size when the checkpoint records no preprocessing"},
    )
    min_image_size: int = field(default=16, metadata={"help": "smallest allowed image size"})
    max_image_size: int = field(default=512, metadata={"help": "largest allowed image size"})
    batch_size: int = field(default=128, metadata={"help": "images per forward pass"})
    score_tolerance: float = field(
        default=2e-3, metadata={"help": "largest |score difference| of a reproduced pair"}
    )
    logit_tolerance: float = field(
        default=1e-3, metadata={"help": "relative logit gap of a near tie (another label is ok)"}
    )
    self_test_images: int = field(
        default=16, metadata={"help": "images the reference self-test embeds"}
    )
    wall_seconds: float = field(default=1800.0, metadata={"help": "worker wall-clock limit"})
    cpu_seconds: int = field(default=3600, metadata={"help": "worker CPU-time limit"})
    memory_gib: float = field(default=16.0, metadata={"help": "worker memory limit (CPU runs)"})

    def limits(self, allow_gpu: bool, allow_weaker: tuple[str, ...] = ()) -> Limits:
        """The sandbox limits of one run; `allow_weaker` names protections a TA goes without."""
        return Limits(
            cpu_seconds=self.cpu_seconds,
            memory_bytes=int(self.memory_gib * 2**30),
            wall_seconds=self.wall_seconds,
            allow_gpu=allow_gpu,
            allow_weaker=tuple(allow_weaker),
        )


@dataclass(frozen=True)
class GradeModelTables:
    """The course file's tables that `facekit grade-model` reads (the others are ignored)."""

    grade_model: GradeModelConfig = setting(
        "parameter budget, allowed preprocessing, reproduction tolerances, worker limits"
    )


def load_grade_model_config(path: Path) -> GradeModelConfig:
    """The `[grade_model]` table of a course file (the kit ships configs/grade_model.toml)."""
    return load_course_config(path, GradeModelTables).grade_model


@dataclass
class GradeModelReport:
    """Everything grade-model found, for a person (`summary`) and for files (`to_json`).

    `status`: "reproduces", "does not reproduce" (a CSV differs, or over budget) or "could not
    run" (the student's Network did not build, load its weights, or return valid tensors).
    """

    scores: dict[str, TaskScore]
    parameters: int
    max_parameters: int
    agreements: list[Agreement]
    problems: list[str]
    notes: list[str] = field(default_factory=list)
    preprocessing: dict[str, Any] | None = None
    ran: bool = True

    @property
    def over_budget(self) -> bool:
        return self.parameters > self.max_parameters

    @property
    def ok(self) -> bool:
        """No flag: it ran, within budget, and every submitted CSV reproduced."""
        reproduced = all(a.reproduces for a in self.agreements)
        return self.ran and not self.over_budget and not self.problems and reproduced

    @property
    def status(self) -> str:
        if not self.ran:
            return "could not run"
        return "reproduces" if self.ok else "does not reproduce"

    def summary(self) -> str:
        lines = [f"status: {self.status}"]
        for task, score in self.scores.items():
            lines.append(
                f"{task}: recomputed {score.metric} public {score.public:.6f} private "
                f"{score.private:.6f} overall {score.overall:.6f}"
            )
        budget = "OVER BUDGET" if self.over_budget else "within budget"
        lines.append(f"parameters: {self.parameters:,} ({budget}: max {self.max_parameters:,})")
        lines.extend(agreement.describe() for agreement in self.agreements)
        lines.extend(f"note: {note}" for note in self.notes)
        lines.extend(f"problem: {problem}" for problem in self.problems)
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {
                "status": self.status,
                "ok": self.ok,
                "scores": {task: asdict(score) for task, score in self.scores.items()},
                "parameters": self.parameters,
                "max_parameters": self.max_parameters,
                "over_budget": self.over_budget,
                "agreements": [{**asdict(a), "reproduces": a.reproduces} for a in self.agreements],
                "preprocessing": self.preprocessing,
                "notes": self.notes,
                "problems": self.problems,
            },
            indent=2,
        )


def submission_task(path: Path) -> str:
    """Which task a submitted CSV is for, from its header."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            header = handle.readline(4096).strip().split(",")
    except (OSError, UnicodeDecodeError) as error:
        raise SubmissionError(f"{path}: cannot read submission ({error})") from None
    for task in TASKS:
        if header[:1] == list(SUBMISSION_COLUMNS[task][:1]):
            return task
    expected = " nor ".join(f"'{','.join(SUBMISSION_COLUMNS[t])}' ({t})" for t in TASKS)
    raise SubmissionError(f"{path}: header {','.join(header)[:200]!r} is neither {expected}")


def checked_preprocessing(
    contents: CheckpointContents, course: GradeModelConfig, notes: list[str]
) -> inference.Preprocessing:
    """The checkpoint's preprocessing within the course's ranges (course defaults if absent)."""
    if contents.preprocessing is None:
        chosen = inference.Preprocessing(image_size=course.image_size)
        notes.append(
            f"the checkpoint records no preprocessing; assumed the course default {chosen}"
        )
        return chosen
    chosen = contents.preprocessing
    problems = []
    if not course.min_image_size <= chosen.image_size <= course.max_image_size:
        problems.append(
            f"image_size {chosen.image_size} is outside the allowed "
            f"{course.min_image_size}..{course.max_image_size}"
        )
    for name, values, (low, high) in (
        ("mean", chosen.mean, MEAN_RANGE),
        ("std", chosen.std, STD_RANGE),
    ):
        if not all(low <= v <= high for v in values):
            problems.append(f"{name} {list(values)} is outside the allowed range [{low}, {high}]")
    if problems:
        raise SubmissionError("the checkpoint's preprocessing: " + "; ".join(problems))
    return chosen


@dataclass(frozen=True)
class Competition:
    """The staff's side of a re-scoring: keys, class names, and the images to embed."""

    keys: dict[str, Keys]
    class_names: list[str]
    test_ids: list[str]
    pairs: list[dict[str, str]]
    ver_names: list[str]

    @property
    def images(self) -> list[tuple[str, str]]:
        """(folder, name) of every image to embed: test images, then verification images."""
        return [(CLS_TEST, i) for i in self.test_ids] + [(VER_IMAGES, n) for n in self.ver_names]


def read_competition(comp: Path, keys_dir: Path) -> Competition:
    """Keys, identities and image lists; any defect is a staff error."""
    try:
        keys = {task: load_keys(task, keys_dir) for task in TASKS}
        class_names = find_classes(str(comp / CLS_TRAIN))[0]
        test_ids = test_image_ids(comp)
        pairs = read_rows(comp / TEST_PAIRS)
    except OSError as error:  # keys and data errors are already setup errors
        raise RescoreError(str(error)) from None
    return Competition(keys, class_names, test_ids, pairs, pair_image_names(pairs))


def recompute(
    competition: Competition, class_names: list[str], outputs: Outputs
) -> tuple[dict[str, bytes], dict[str, torch.Tensor]]:
    """The CSVs the outputs imply, and the top logits/classes in the classification keys' order."""
    tests = len(competition.test_ids)
    predicted = outputs.top_classes[:tests, 0]
    rows = classification_rows(competition.test_ids, predicted, class_names)
    feats = outputs.feats[tests:]
    pairs = verification_rows(competition.pairs, competition.ver_names, feats)
    csvs = {
        CLASSIFICATION: csv_text(SUBMISSION_COLUMNS[CLASSIFICATION], rows).encode(),
        VERIFICATION: csv_text(SUBMISSION_COLUMNS[VERIFICATION], pairs).encode(),
    }
    row_of = {test_id: row for row, test_id in enumerate(competition.test_ids)}
    order = torch.tensor([row_of[i] for i in competition.keys[CLASSIFICATION].ids])
    top = {"logits": outputs.top_logits[order], "classes": outputs.top_classes[order]}
    return csvs, top


def self_test(
    comp: Path,
    competition: Competition,
    preprocessing: inference.Preprocessing,
    course: GradeModelConfig,
    allow_gpu: bool,
    allow_weaker: tuple[str, ...] = (),
) -> None:
    """Run a tiny reference Network through the same sandbox path and limits; GraderFault if
    it fails or its tensors differ from the same Network evaluated here."""
    reference = load_reference()
    torch.manual_seed(0)
    model = reference.Network(len(competition.class_names), **SELF_TEST_NETWORK).eval()
    images = [comp / folder / name for folder, name in competition.images]
    images = images[: course.self_test_images]
    network = Network(
        source=reference_source(),
        weights=model.state_dict(),
        num_classes=len(competition.class_names),
        network_kwargs=SELF_TEST_NETWORK,
        preprocessing=preprocessing,
    )
    job = run_job(network, images, course.limits(allow_gpu, allow_weaker), course.batch_size)
    where = (
        f"interpreter {sys.executable}; limits cpu {course.cpu_seconds} s, memory "
        f"{course.memory_gib:g} GiB, wall {course.wall_seconds:g} s"
    )
    if job.outputs is None:
        raise GraderFault(
            f"the grader's self-test failed: the reference Network did not run in the sandbox "
            f"({where}): {job.problem}. Nothing was graded or recorded."
        )
    feats, logits = inference.embed(model, images, preprocessing, course.batch_size)
    error = float((feats - job.outputs.feats).abs().max())
    # The sandbox's arg-max must be ours, or a near tie of ours (a GPU rounds differently).
    chosen = logits.gather(1, job.outputs.top_classes[:, :1]).squeeze(1)
    top = logits.max(dim=1).values
    gap = float(((top - chosen) / top.abs().clamp(min=1.0)).max())
    if error > SELF_TEST_FEATS_TOLERANCE or gap > course.logit_tolerance:
        raise GraderFault(
            f"the grader's self-test failed: the reference Network's sandboxed outputs differ "
            f"from the same Network run by the grader (max |feats diff| {error:.3g}, largest "
            f"relative logit gap of its arg-max {gap:.3g}; {where}). Nothing was recorded."
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
    comp = Path(comp)
    course = load_grade_model_config(course_config) if course_config else GradeModelConfig()
    if not Path(notebook).is_file():
        raise RescoreError(f"{notebook}: no such notebook file")
    if not Path(checkpoint).is_file():
        raise RescoreError(f"{checkpoint}: no such checkpoint file")
    competition = read_competition(comp, Path(keys))
    notes: list[str] = []
    try:
        source = extract_module(read_notebook(notebook), name=str(notebook)).source
        contents = read_checkpoint(checkpoint)
    except (NotebookError, CheckpointError) as error:
        raise SubmissionError(str(error)) from None
    preprocessing = checked_preprocessing(contents, course, notes)
    class_names = contents.class_names or competition.class_names
    if sorted(class_names) != competition.class_names:
        raise SubmissionError(
            f"{checkpoint}: its class_names are not the competition's "
            f"{len(competition.class_names)} training identities"
        )
    network_kwargs = contents.network_kwargs
    if network_kwargs_json:
        try:
            network_kwargs = json.loads(network_kwargs_json)
        except json.JSONDecodeError as error:
            raise RescoreError(f"--network-kwargs: not JSON ({error})") from None
        if not isinstance(network_kwargs, dict):
            raise RescoreError(f"--network-kwargs: expected a JSON object, got {network_kwargs!r}")
    elif network_kwargs is None:
        network_kwargs = {}
        notes.append("the checkpoint records no network_kwargs; built Network(num_classes)")

    self_test(comp, competition, preprocessing, course, allow_gpu, allow_weaker)

    network = Network(
        source=source,
        weights=contents.weights,
        num_classes=len(class_names),
        network_kwargs=network_kwargs,
        preprocessing=preprocessing,
        channels_last=contents.channels_last,
    )
    images = [comp / folder / name for folder, name in competition.images]
    job = run_job(network, images, course.limits(allow_gpu, allow_weaker), course.batch_size)
    parameters = count_parameters(contents.weights)
    if job.outputs is None:
        report = GradeModelReport(
            {}, parameters, course.max_parameters, [], [job.problem], notes,
            preprocessing.to_dict(), ran=False,
        )  # fmt: skip
        _record(out_dir, report, {})
        return report

    csvs, top = recompute(competition, class_names, job.outputs)
    recomputed = {
        task: parse_submission(competition.keys[task], data, filename=SUBMISSION_FILES[task])
        for task, data in csvs.items()
    }
    scores = {task: score_parsed(competition.keys[task], sub) for task, sub in recomputed.items()}
    agreements, problems = [], []
    for path in submissions:
        task = submission_task(path)
        task_keys = competition.keys[task]
        try:
            submitted = parse_submission(task_keys, Path(path))
        except InvalidSubmission as error:
            problems.append(f"{path}: invalid {task} submission:\n{error}")
            continue
        if task == CLASSIFICATION:
            agreements.append(
                compare_classification(
                    task_keys,
                    submitted,
                    recomputed[task],
                    top["logits"],
                    top["classes"],
                    class_names,
                    course.logit_tolerance,
                )  # fmt: skip
            )
        else:
            agreements.append(
                compare_verification(task_keys, submitted, recomputed[task], course.score_tolerance)
            )
    report = GradeModelReport(
        scores, parameters, course.max_parameters, agreements, problems, notes,
        preprocessing.to_dict(),
    )  # fmt: skip
    _record(out_dir, report, csvs)
    return report


def _record(out_dir: Path | None, report: GradeModelReport, csvs: dict[str, bytes]) -> None:
    """Write the recomputed CSVs and report.json into `out_dir` (when given)."""
    if out_dir is None:
        return
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for task, data in csvs.items():
        (Path(out_dir) / SUBMISSION_FILES[task]).write_bytes(data)
    (Path(out_dir) / "report.json").write_text(report.to_json() + "\n")
