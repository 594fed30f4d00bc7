"""`facekit demo`: run the whole pipeline on a small synthetic dataset (`facekit.demo`)."""

import argparse
import dataclasses
import json
from pathlib import Path

from facekit.cli.options import add_out
from facekit.demo import MARKER, DemoConfig, prepare_output, run_demo

DESCRIPTION = (
    "Synthetic data -> competition -> handout release -> autograding -> tiny "
    "training run -> scoring, on CPU in a few minutes. Everything is written under --out."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `facekit demo`."""
    defaults = DemoConfig(out=Path("demo_out"))
    add_out(parser, "directory to write into", required=False, default=defaults.out)
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


def run(args: argparse.Namespace) -> int:
    """Run the demo from parsed arguments and print where everything went."""
    # Every DemoConfig field is the option of its name (add_arguments).
    fields = dataclasses.fields(DemoConfig)
    config = DemoConfig(**{field.name: getattr(args, field.name) for field in fields})
    prepare_output(config.out, args.overwrite)
    summary = run_demo(config)
    print(f"\nsummary written to {config.out / MARKER}")
    print(json.dumps(summary, indent=2))
    return 0
