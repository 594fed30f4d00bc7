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

from facekit.paths import REPO_ROOT, SOLUTION_NOTEBOOK

# A file that marks a directory as the demo's own, so --overwrite never deletes anything else.
MARKER = "demo.json"


class DemoError(Exception):
    """A demo step could not run or gave a result that shows the kit is broken."""


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
        summary = run_demo(config)
    except DemoError as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
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
    """Run one titled step, printing its duration."""
    print(f"\n== {title}", flush=True)
    started = time.perf_counter()
    result = action()
    print(f"   done in {time.perf_counter() - started:.1f} s", flush=True)
    return result


def run_demo(config: DemoConfig) -> dict[str, Any]:
    """Run every step into `config.out`; return (and save) a summary of what each produced."""
    from autograder.batch import Submission, grade_batch
    from autograder.scoring import score_submission
    from data_tools.build import BuildConfig, build_competition
    from data_tools.check import check_competition
    from data_tools.synth import generate_identities
    from facekit.release import write_handout
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
        raise DemoError("the built competition fails its check:\n" + "\n".join(map(str, problems)))

    handout = step(
        "release the handout", lambda: write_handout(out=out / "handout" / "hw2p2.ipynb")
    )
    submissions = [Submission("reference", SOLUTION_NOTEBOOK), Submission("handout", handout)]
    outcomes = step(
        "autograde the reference and the untouched handout",
        lambda: grade_batch(submissions, out / "grades", jobs=config.jobs, progress=False),
    )
    grades = {outcome.student: (outcome.total, outcome.max_total) for outcome in outcomes}
    for student, (total, max_total) in grades.items():
        print(f"   {student}: {total} / {max_total}")
    if grades["reference"][0] != grades["reference"][1] or grades["handout"][0] != 0:
        raise DemoError(f"expected full marks for the reference and 0 for the handout: {grades}")

    result = step(
        f"train the reference Network ({config.train_config.name})",
        lambda: train(load_config(config.train_config), comp, out / "run"),
    )
    scores = {}
    for task, csv_path in (
        ("classification", result.classification_csv),
        ("verification", result.verification_csv),
    ):
        score = step(
            f"score {csv_path.name}", lambda t=task, p=csv_path: score_submission(t, p, keys)
        )
        print(f"   {score.metric}: public {score.public:.4f}, private {score.private:.4f}")
        scores[task] = {"metric": score.metric, "public": score.public, "private": score.private}

    summary = {
        "config": {key: str(value) for key, value in asdict(config).items()},
        "grades": {student: {"total": t, "max_total": m} for student, (t, m) in grades.items()},
        "training": {"dev_accuracy": result.dev_accuracy, "val_auc": result.val_auc},
        "scores": scores,
    }
    (out / MARKER).write_text(json.dumps(summary, indent=2) + "\n")
    return summary
