"""`facekit demo`: the whole course pipeline, end to end, on a small synthetic dataset.

synthetic identities -> competition + hidden keys -> check -> handout release -> autograding of
the reference and the handout -> tiny training run -> scoring of its two CSVs. Small enough for a
CPU in a few minutes; every step calls the same code as the matching `facekit` command.
"""

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from facekit.base.contract import CLASSIFICATION, VERIFICATION
from facekit.base.paths import REPO_ROOT, SOLUTION_NOTEBOOK

# A file that marks a directory as the demo's own, so --overwrite never deletes anything else.
MARKER = "demo.json"


class DemoError(Exception):
    """A demo step could not run or gave a result that shows the kit is broken; `step` names it
    (empty when the demo could not start)."""

    def __init__(self, message: str, step: str = "") -> None:
        super().__init__(message)
        self.step = step


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


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `demo` command."""
    parser = subcommands.add_parser(
        "demo",
        help="run the whole pipeline on a small synthetic dataset",
        description="Synthetic data -> competition -> handout release -> autograding -> tiny "
        "training run -> scoring, on CPU in a few minutes. Everything is written under --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    defaults = DemoConfig(out=Path("demo_out"))
    parser.add_argument("--out", type=Path, default=defaults.out, help="directory to write into")
    parser.add_argument("--identities", type=int, default=defaults.identities, help="identities")
    parser.add_argument(
        "--images-per-identity", type=int, default=defaults.images_per_identity, help="images each"
    )
    parser.add_argument("--size", type=int, default=defaults.size, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed for every step")
    parser.add_argument(
        "--train-config", type=Path, default=defaults.train_config, help="training config (TOML)"
    )
    parser.add_argument("--jobs", type=int, default=defaults.jobs, help="notebooks graded at once")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an earlier demo's output in --out"
    )
    parser.set_defaults(handler=run_demo_command)


def run_demo_command(args: argparse.Namespace) -> int:
    """Run the demo from parsed arguments and print where everything went."""
    config = DemoConfig(
        out=args.out,
        identities=args.identities,
        images_per_identity=args.images_per_identity,
        size=args.size,
        seed=args.seed,
        train_config=args.train_config,
        jobs=args.jobs,
    )
    try:
        prepare_output(config.out, args.overwrite)
    except DemoError as error:
        print(f"facekit demo: {error}", file=sys.stderr)
        return 2
    try:
        summary = run_demo(config)
    except DemoError as error:
        print(
            f"facekit demo: failed at step '{error.step}': {error} "
            f"(details in {config.out / MARKER})",
            file=sys.stderr,
        )
        return 3
    print(f"\nsummary written to {config.out / MARKER}")
    print(json.dumps(summary, indent=2))
    return 0


def prepare_output(out: Path, overwrite: bool) -> None:
    """Make `out` an empty directory, deleting an earlier demo there only when asked to."""
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise DemoError(f"{out} is not empty and holds no earlier demo; choose another --out")
        if not overwrite:
            raise DemoError(f"{out} holds an earlier demo; pass --overwrite to replace it")
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
        raise DemoError(str(error), error.step or title) from error
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
        summary.update(failed_step=error.step, reason=str(error))
        raise
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
    from autograder.batch import Submission, grade_batch
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
    submissions = [Submission("reference", SOLUTION_NOTEBOOK), Submission("handout", handout)]
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
