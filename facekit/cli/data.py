"""`facekit data ...`: synthesise identities, build, check and describe a competition."""

import argparse
import functools
import logging
import sys
from pathlib import Path

from facekit.cli.options import Action, add_actions, add_comp_positional, add_keys, add_out

DESCRIPTION = "Synthetic identities, competition builder, validator and statistics."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The subcommands of `facekit data` (synth, build, check, stats: `ACTIONS`)."""
    add_actions(parser, ACTIONS, dest="data_command", metavar="SUBCOMMAND")


def _synth_arguments(parser: argparse.ArgumentParser) -> None:
    add_out(parser, "directory to create")
    parser.add_argument("--identities", type=int, default=40, help="number of identities")
    parser.add_argument("--images-per-identity", type=int, default=20, help="images per identity")
    parser.add_argument("--size", type=int, default=112, help="image width and height in pixels")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--workers", type=int, default=1, help="processes (output is the same)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")


def _build_arguments(parser: argparse.ArgumentParser) -> None:
    from data_tools.config import BuildConfig

    defaults = BuildConfig()
    parser.add_argument("--src", type=Path, required=True, help="identity-folder dataset")
    add_out(parser, "competition directory to create", metavar="COMP")
    add_keys(parser, help="hidden answer-key directory to create (outside --out)")
    parser.add_argument(
        "--seed", type=int, required=True, help="secret seed: decides every split and file name"
    )
    parser.add_argument(
        "--cls-identities",
        type=int,
        default=defaults.cls_identities,
        help="classification identities; None: all not used for verification",
    )
    parser.add_argument(
        "--ver-identities",
        type=int,
        default=defaults.ver_identities,
        help="verification identities; None: 20%% of eligible, at least 4",
    )
    parser.add_argument(
        "--min-images",
        type=int,
        default=defaults.min_images,
        help="leave out identities with fewer usable images",
    )
    parser.add_argument(
        "--max-images",
        type=int,
        default=defaults.max_images,
        help="keep at most this many images per identity (random subset); None: all",
    )
    parser.add_argument(
        "--dev-fraction",
        type=float,
        default=defaults.dev_fraction,
        help="share of each classification identity's images in dev",
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=defaults.test_fraction,
        help="share of each classification identity's images in test",
    )
    parser.add_argument(
        "--ver-val-fraction",
        type=float,
        default=defaults.ver_val_fraction,
        help="share of verification identities used for labelled val pairs",
    )
    parser.add_argument(
        "--val-pairs",
        type=int,
        default=defaults.val_pairs,
        help="labelled verification pairs; None: as many as allowed, up to 1000",
    )
    parser.add_argument(
        "--test-pairs",
        type=int,
        default=defaults.test_pairs,
        help="hidden verification pairs; None: as many as allowed, up to 1000",
    )
    parser.add_argument(
        "--public-fraction",
        type=float,
        default=defaults.public_fraction,
        help="share of hidden test keys scored on the public leaderboard",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="stop at corrupt or non-image files instead of skipping them",
    )
    parser.add_argument(
        "--no-reencode",
        dest="reencode",
        action="store_false",
        help="copy test and verification images byte for byte (then anyone holding the public "
        "dataset can look them up by their hash)",
    )
    parser.add_argument(
        "--perturbation",
        type=float,
        default=defaults.perturbation,
        help="when re-encoding: largest crop share and brightness/contrast change (0 to 0.1)",
    )
    parser.add_argument(
        "--jpeg-quality",
        type=int,
        default=defaults.jpeg_quality,
        help="JPEG quality of re-encoded test and verification images",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace existing --out and --keys directories"
    )


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    add_comp_positional(parser)
    add_keys(parser, required=False)
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="the dataset the competition was built from: no test or verification image may "
        "have the bytes of one of its files (default: the source recorded in the keys, if present)",
    )


def _stats_arguments(parser: argparse.ArgumentParser) -> None:
    add_comp_positional(parser)
    add_keys(parser, required=False, help="hidden answer-key directory (adds test labels)")
    parser.add_argument("--plot", type=Path, default=None, help="PNG file to write the plots to")


def _logs_progress(run):
    """Run `run(args)` with the data tools' progress logged to stderr."""

    @functools.wraps(run)
    def handler(args: argparse.Namespace) -> int:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
        return run(args)

    return handler


@_logs_progress
def _run_synth(args: argparse.Namespace) -> int:
    """Procedural faces: fixed traits per identity, random nuisances per image. The same
    arguments give byte-identical files."""
    from data_tools.synth import generate_identities

    summary = generate_identities(
        args.out,
        args.identities,
        args.images_per_identity,
        args.size,
        args.seed,
        workers=args.workers,
        overwrite=args.overwrite,
        progress=True,
    )
    print(
        f"wrote {summary.identities} identities x {summary.images_per_identity} images "
        f"({summary.size}px) to {summary.out_dir}; sha256 {summary.digest}"
    )
    return 0


@_logs_progress
def _run_build(args: argparse.Namespace) -> int:
    """Split an identity-folder dataset (<src>/<identity>/<image>) into classification
    train/dev/test and open-set verification pairs, with hidden keys."""
    from data_tools.build import build_competition
    from data_tools.config import BuildConfig

    names = (
        "seed",
        "cls_identities",
        "ver_identities",
        "min_images",
        "max_images",
        "dev_fraction",
        "test_fraction",
        "ver_val_fraction",
        "val_pairs",
        "test_pairs",
        "public_fraction",
        "strict",
        "reencode",
        "perturbation",
        "jpeg_quality",
    )
    config = BuildConfig(**{name: getattr(args, name) for name in names})
    manifest = build_competition(
        args.src, args.out, args.keys, config, overwrite=args.overwrite, progress=True
    )
    counts = manifest.counts
    print(
        f"built {args.out}: {counts['cls_identities']} classification identities "
        f"({counts['train_images']} train / {counts['dev_images']} dev / "
        f"{counts['test_images']} test images), {counts['ver_identities']} verification "
        f"identities ({counts['val_pairs']} val / {counts['test_pairs']} test pairs); "
        f"{counts['skipped_files']} source files skipped; keys in {args.keys}"
    )
    return 0


@_logs_progress
def _run_check(args: argparse.Namespace) -> int:
    """Check the layout, disjoint splits, duplicate images, pairs, manifest checksums and, with
    --keys, the hidden keys."""
    from data_tools.check import check_competition

    problems = check_competition(args.comp, args.keys, source=args.source)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"facekit data: {len(problems)} problem(s) found in {args.comp}", file=sys.stderr)
        return 1
    print(f"{args.comp}: no problems found" + ("" if args.keys else " (keys not checked)"))
    return 0


@_logs_progress
def _run_stats(args: argparse.Namespace) -> int:
    """Counts per split, images per identity, pair balance, image sizes."""
    from data_tools.stats import competition_stats, format_stats, plot_stats

    stats = competition_stats(args.comp, args.keys)
    print(format_stats(stats))
    if args.plot is not None:
        plot_stats(stats, args.plot)
        print(f"wrote {args.plot}")
    return 0


ACTIONS = (
    Action("synth", "generate a synthetic identity-folder dataset", _run_synth, _synth_arguments),
    Action(
        "build",
        "build a competition and its hidden keys from identity folders",
        _run_build,
        _build_arguments,
    ),
    Action(
        "check",
        "validate a competition directory (exit 0 only when clean)",
        _run_check,
        _check_arguments,
    ),
    Action("stats", "print and plot a competition's statistics", _run_stats, _stats_arguments),
)
