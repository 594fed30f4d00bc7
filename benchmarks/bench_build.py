"""How long would `facekit data build` take at HW2P2 scale (8,631 identities, 430k images)?

Run: `python benchmarks/bench_build.py [--src ../shared/data/lfw] [--workers N]
[--identities-per-worker 60]`. Times the real `build_competition` (decode and hash every source
image, split, pair, copy, checksum, manifests) on real face images, first in one process, then
in `--workers` processes at once (default: every core), each building its own competition from a
disjoint set of identities. Prints images/s for both and the estimated time of a build of
430,000 images: with one process (today's `data build`, which reads images one after another)
and with every core busy (a machine shared by that many builds, or a build spread over the cores).

LFW images are 250x250 JPEGs (about 9 KB here); HW2P2's 112x112 crops are smaller, so the
estimate errs on the slow side. The CPU seconds the builds used are printed too: on a machine
shared with other jobs they say what idle cores would do.
"""

import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from data_tools.build import build_competition
from data_tools.config import BuildConfig
from data_tools.source import list_identities

from bench_common import add_src, bench_parser

HW2P2_IMAGES = 430_000
HW2P2_IDENTITIES = 8_631


def build_one(identity_dirs: list[Path], work: Path) -> int:
    """Build a competition from `identity_dirs` (linked into `work/src`); return images read."""
    src = work / "src"
    src.mkdir(parents=True)
    for folder in identity_dirs:
        (src / folder.name).symlink_to(folder.resolve(), target_is_directory=True)
    manifest = build_competition(src, work / "comp", work / "keys", BuildConfig(seed=1))
    counts = manifest.counts
    return (
        counts["train_images"] + counts["dev_images"] + counts["test_images"] + counts["ver_images"]
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_builds(groups: list[list[Path]], root: Path) -> tuple[float, float, int]:
    """Wall seconds and CPU seconds for building every group at once (one process each), and
    the images read. The pool's processes are reaped on exit, so their CPU time is counted."""
    start, cpu = time.perf_counter(), _children_cpu()
    with ProcessPoolExecutor(max_workers=len(groups)) as pool:
        work_dirs = [root / f"build_{i}" for i in range(len(groups))]
        images = sum(pool.map(build_one, groups, work_dirs))
    return time.perf_counter() - start, _children_cpu() - cpu, images


def main() -> None:
    parser = bench_parser(__doc__)
    add_src(parser, "identity-folder dataset of real faces")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="builds at once (all cores)"
    )
    parser.add_argument(
        "--identities-per-worker", type=int, default=60, help="identities each build reads"
    )
    args = parser.parse_args()

    # Identities with enough images for train, dev and test, largest first for a steady load.
    folders = sorted(
        (args.src / name for name, files in list_identities(args.src).items() if len(files) >= 3),
        key=lambda folder: -len(list(folder.iterdir())),
    )
    needed = args.identities_per_worker * (args.workers + 1)
    if len(folders) < needed:
        raise SystemExit(f"{args.src} has {len(folders)} identities with 3+ images; need {needed}")
    count = args.workers + 1  # one group for the lone build, one per process of the busy run
    groups = [folders[i::count][: args.identities_per_worker] for i in range(count)]
    sizes = [
        path.stat().st_size for group in groups for folder in group for path in folder.iterdir()
    ]

    with tempfile.TemporaryDirectory() as tmp:
        single_seconds, _, single_images = timed_builds(groups[:1], Path(tmp) / "single")
        all_seconds, all_cpu, all_images = timed_builds(groups[1:], Path(tmp) / "all")
    single_rate = single_images / single_seconds
    all_rate = all_images / all_seconds
    print(f"source: {args.src} ({sum(sizes) / len(sizes) / 1024:.1f} KB per image on average)")
    print(
        f"1 build:    {single_images:6d} images in {single_seconds:6.2f} s"
        f"  {single_rate:8.0f} images/s"
    )
    print(
        f"{args.workers} builds at once (all cores): {all_images:6d} images in "
        f"{all_seconds:6.2f} s  {all_rate:8.0f} images/s in total, "
        f"{all_rate / args.workers:.0f} per process"
    )
    print(f"\nestimate for HW2P2 ({HW2P2_IDENTITIES:,} identities, {HW2P2_IMAGES:,} images):")
    print(
        f"  one process (`facekit data build` today)   {HW2P2_IMAGES / single_rate / 60:6.1f} min"
    )
    busy_minutes = HW2P2_IMAGES / all_rate / 60
    print(f"  every core busy ({args.workers} processes)          {busy_minutes:6.1f} min")
    # On a machine shared with other jobs the wall clock includes their time; the CPU time does
    # not: this line is what the same cores would take if the build had them to itself.
    cpu_rate = all_images / all_cpu
    print(
        f"  CPU cost {cpu_rate:.0f} images per CPU-second: {args.workers} idle cores would take "
        f"{HW2P2_IMAGES / cpu_rate / args.workers / 60:.1f} min, one idle core "
        f"{HW2P2_IMAGES / cpu_rate / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
