"""How long scoring 1,000,000 verification pairs takes, against scikit-learn's roc_auc_score.

Run: `python benchmarks/bench_auc.py [--pairs N] [--repeats R]`. Prints, for random and
tie-heavy scores, the best-of-R time of scikit-learn's `roc_auc_score` and of ours (AUC alone,
and AUC + EER + TAR@FAR from one ROC), the two AUC values and their difference; then the
end-to-end times on the same pairs as CSV bytes (parsing and validating the submission, all
public/private/overall figures: work scikit-learn does not do), with rows in the keys' order (as
the sample submission) and shuffled, each split's AUC checked against scikit-learn's. Wall and
CPU seconds are both shown: on a busy shared machine the CPU time is the steadier figure.
"""

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from autograder.scoring import load_keys, parse_submission, score_parsed, score_submission
from facekit.base.contract import KEYS_VER, VERIFICATION
from facekit.base.metrics import equal_error_rate, roc_auc, roc_curve, tar_at_far

from bench_common import bench_parser


def best_time(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Best wall-clock seconds over `repeats` calls, and the last result."""
    seconds, _cpu, result = best_times(function, repeats)
    return seconds, result


def best_times(function: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """Best wall-clock and best CPU seconds (all threads) over `repeats` calls, the last result.

    On a shared machine the CPU time says what the work costs when other jobs steal the cores.
    """
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return best_wall, best_cpu, result


def verification_figures(labels: np.ndarray, scores: np.ndarray) -> float:
    curve = roc_curve(labels, scores)
    equal_error_rate(curve)
    tar_at_far(curve, 1e-3)
    return roc_auc(curve)


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--pairs", type=int, default=1_000_000, help="verification pairs")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls; the best is shown")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    labels = rng.random(args.pairs) < 0.5
    random_scores = rng.normal(size=args.pairs) + 1.5 * labels
    cases = {"random": random_scores, "tie-heavy (2 decimals)": np.round(random_scores, 2)}
    print(f"{args.pairs:,} verification pairs, best of {args.repeats}")
    for name, scores in cases.items():
        sklearn_seconds, expected = best_time(
            lambda s=scores: roc_auc_score(labels, s), args.repeats
        )
        auc_seconds, got = best_time(lambda s=scores: roc_auc(roc_curve(labels, s)), args.repeats)
        all_seconds, _ = best_time(lambda s=scores: verification_figures(labels, s), args.repeats)
        print(f"\n{name}")
        print(f"  sklearn roc_auc_score       {sklearn_seconds * 1e3:8.1f} ms  auc={expected!r}")
        print(
            f"  facekit roc_auc             {auc_seconds * 1e3:8.1f} ms  auc={got!r}  "
            f"diff={abs(got - expected):.1e}  speed-up x{sklearn_seconds / auc_seconds:.2f}"
        )
        print(f"  facekit AUC + EER + TAR     {all_seconds * 1e3:8.1f} ms")

    end_to_end(labels, random_scores, rng, max(1, args.repeats // 2))


def end_to_end(labels: np.ndarray, scores: np.ndarray, rng: np.random.Generator, repeats: int):
    """Time scoring from CSV bytes, rows in the keys' order and shuffled; check against sklearn."""
    pairs = len(labels)
    ids = [f"test_{i:07d}" for i in range(pairs)]  # as `facekit data build` names them
    public = rng.random(pairs) < 0.5
    usage = np.where(public, "Public", "Private")
    rows = [f"{i},{s!r}\n" for i, s in zip(ids, scores.tolist(), strict=True)]
    in_order = ("pair_id,score\n" + "".join(rows)).encode()
    shuffled = ("pair_id,score\n" + "".join(rows[i] for i in rng.permutation(pairs))).encode()
    expected = {
        "public": roc_auc_score(labels[public], scores[public]),
        "private": roc_auc_score(labels[~public], scores[~public]),
        "overall": roc_auc_score(labels, scores),
    }
    with tempfile.TemporaryDirectory() as tmp:
        keys_dir = Path(tmp)
        key_rows = (f"{i},{int(y)},{u}\n" for i, y, u in zip(ids, labels, usage, strict=True))
        (keys_dir / KEYS_VER).write_text("pair_id,label,usage\n" + "".join(key_rows))
        keys_wall, keys_cpu, keys = best_times(lambda: load_keys(VERIFICATION, keys_dir), repeats)
        timings = {}
        for name, submission in (("keys' order", in_order), ("shuffled rows", shuffled)):
            timings[name] = (
                best_times(
                    lambda s=submission: score_parsed(keys, parse_submission(keys, s)), repeats
                ),
                best_times(
                    lambda s=submission: score_submission(VERIFICATION, s, keys_dir), repeats
                ),
            )
    print(f"\nend to end on a {len(in_order) / 1e6:.1f} MB submission CSV (best of {repeats})")
    print("                                                      wall s   CPU s")
    print(f"  load_keys (1M-row key file, once per server)      {keys_wall:6.3f}  {keys_cpu:6.3f}")
    for name, ((warm_wall, warm_cpu, score), (cold_wall, cold_cpu, cold)) in timings.items():
        print(f"  {name}:")
        print(
            f"    parse + validate + score, keys loaded         {warm_wall:6.3f}  {warm_cpu:6.3f}"
        )
        print(
            f"    score_submission (keys file read too)         {cold_wall:6.3f}  {cold_cpu:6.3f}"
        )
        for split, value in expected.items():
            got = getattr(score, split)
            same = got == value and getattr(cold, split) == value
            print(
                f"    {split:<8} auc={got!r}  sklearn={value!r}  "
                f"{'identical' if same else f'DIFFERS by {abs(got - value):.1e}'}"
            )


if __name__ == "__main__":
    main()
