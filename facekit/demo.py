"""The demo pipeline (`facekit demo`): the whole course, end to end, on a small synthetic dataset.

synthetic identities -> competition + hidden keys -> check -> handout release -> autograding of
the reference and the handout -> tiny training run -> scoring of its two CSVs. Small enough for a
CPU in a few minutes; every step calls the same code as the matching `facekit` command.
"""

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from facekit.base.contract import CLASSIFICATION, VERIFICATION
from facekit.base.errors import KitFault, SetupError
from facekit.base.paths import REPO_ROOT, SOLUTION_NOTEBOOK

# A file that marks a directory as the demo's own, so --overwrite never deletes anything else.
MARKER = "demo.json"


class DemoError(KitFault):
    """A demo step could not run or gave a result that shows the kit is broken; `step` names it.
    `reason` is the message without the step."""

    def __init__(self, reason: str, step: str = "") -> None:
        super().__init__(f"failed at step '{step}': {reason}" if step else reason)
        self.reason, self.step = reason, step


@dataclass(frozen=True)
class DemoConfig:
    """What the demo builds; the defaults finish in a few minutes on two CPU cores."""

    out: Path
    identities: int = 20  # synthetic identities (16 for classification, 4 for verification)
    images_per_identity: int = 24  # images drawn per synthetic identity
    size: int = 40  # synthetic image side in pixels
    seed: int = 0  # seeds the data, the splits and the training run
    train_config: Path = REPO_ROOT / "configs" / "tiny_cpu.toml"  # training config for the run
    jobs: int = 2  # notebooks graded at once


def prepare_output(out: Path, overwrite: bool) -> None:
    """Make `out` an empty directory, deleting an earlier demo there only when asked to."""
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise SetupError(f"{out} is not empty and holds no earlier demo; choose another --out")
        if not overwrite:
            raise SetupError(f"{out} holds an earlier demo; pass --overwrite to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("{}\n")


def step(title: str, action: Callable[[], Any]) -> Any:
    """Run one titled step, printing its duration; any failure becomes a DemoError naming it."""
    print(f"\n== {title}", flush=True)
    started = time.perf_counter()
    try:
        result = action()
    except DemoError as error:
        raise DemoError(error.reason, error.step or title) from error
    except Exception as error:  # noqa: BLE001 - the demo reports which step broke, and how
        raise DemoError(f"{type(error).__name__}: {error}", title) from error
    print(f"   done in {time.perf_counter() - started:.1f} s", flush=True)
    return result


def run_demo(config: DemoConfig) -> dict[str, Any]:
    """Run every step into `config.out`; return (and save) a summary of what each produced.

    On failure demo.json says which step failed and why, with what the earlier steps gave."""
    summary: dict[str, Any] = {
        "ok": False,
        "config": {key: str(value) for key, value in asdict(config).items()},
    }
    try:
        _run_steps(config, summary)
        summary["ok"] = True
    except DemoError as error:
        summary.update(failed_step=error.step, reason=error.reason)
        details = f"{error.reason} (details in {config.out / MARKER})"
        raise DemoError(details, error.step) from error
    finally:
        (config.out / MARKER).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _check_grades(outcomes) -> dict[str, dict[str, Any]]:
    """The reference must get full marks and the untouched handout 0: else the kit is broken."""
    grades = {
        o.student: {"total": o.total, "max_total": o.max_total, "status": o.status}
        for o in outcomes
    }
    for outcome in outcomes:
        print(f"   {outcome.student}: {outcome.total} / {outcome.max_total} ({outcome.status})")
    reference, handout = grades["reference"], grades["handout"]
    problems = []
    if reference["total"] is None or reference["total"] != reference["max_total"]:
        reason = next(o.reason for o in outcomes if o.student == "reference")
        problems.append(
            f"the reference scored {reference['total']} / {reference['max_total']}, expected "
            f"full marks ({reason[:1000]})"
        )
    if handout["total"] != 0:
        problems.append(f"the untouched handout scored {handout['total']}, expected 0")
    if problems:
        raise DemoError("; ".join(problems))
    return grades


def _run_steps(config: DemoConfig, summary: dict[str, Any]) -> None:
    """The demo's steps, each recording what it gave into `summary`."""
    from autograder.batch import NotebookSubmission, grade_batch
    from autograder.scoring import score_submission
    from data_tools.build import BuildConfig, build_competition
    from data_tools.check import check_competition
    from data_tools.synth import generate_identities
    from facekit.notebook.release import write_handout
    from facekit.training.config import load_config
    from facekit.training.trainer import train

    out = config.out
    synth, comp, keys = out / "synth", out / "comp", out / "keys"
    step(
        f"synthetic identities -> {synth}",
        lambda: generate_identities(
            synth, config.identities, config.images_per_identity, config.size, config.seed
        ),
    )
    step(
        f"competition -> {comp} (hidden keys -> {keys})",
        lambda: build_competition(synth, comp, keys, BuildConfig(seed=config.seed)),
    )
    problems = step("check the competition", lambda: check_competition(comp, keys))
    if problems:
        raise DemoError(
            "the built competition fails its check:\n" + "\n".join(map(str, problems)),
            "check the competition",
        )

    handout = step(
        "release the handout", lambda: write_handout(out=out / "handout" / "hw2p2.ipynb")
    )
    submissions = [
        NotebookSubmission("reference", SOLUTION_NOTEBOOK),
        NotebookSubmission("handout", handout),
    ]
    summary["grades"] = step(
        "autograde the reference and the untouched handout",
        lambda: _check_grades(
            grade_batch(submissions, out / "grades", jobs=config.jobs, progress=False)
        ),
    )

    result = step(
        f"train the reference Network ({config.train_config.name})",
        lambda: train(load_config(config.train_config), comp, out / "run"),
    )
    summary["training"] = {"dev_accuracy": result.dev_accuracy, "val_auc": result.val_auc}
    scores = summary["scores"] = {}
    for task, csv_path in (
        (CLASSIFICATION, result.classification_csv),
        (VERIFICATION, result.verification_csv),
    ):
        score = step(
            f"score {csv_path.name}", lambda t=task, p=csv_path: score_submission(t, p, keys)
        )
        print(f"   {score.metric}: public {score.public:.4f}, private {score.private:.4f}")
        scores[task] = {"metric": score.metric, "public": score.public, "private": score.private}
