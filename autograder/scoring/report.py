"""Human-readable text and ROC plot for a scored submission."""

from pathlib import Path

from autograder.scoring.score import TaskScore
from facekit.base.metrics import RocCurve


def format_score(score: TaskScore, filename: str) -> str:
    """A few aligned lines: metric on the public, private and full test sets, then details."""
    lines = [f"{filename}: {score.task} {score.metric}"]
    lines += [f"  note: {note}" for note in score.notes]
    for name in ("public", "private", "overall"):
        lines.append(f"  {name:<8} {getattr(score, name):.6f}")
    lines += [f"  {name:<16} {value:.6f}" for name, value in score.details.items()]
    return "\n".join(lines)


def save_roc_plot(curve: RocCurve, auc: float, eer: float, path: Path, title: str) -> None:
    """Write the ROC curve with its AUC and its EER point to `path` (PNG, PDF... by suffix)."""
    import matplotlib  # heavy, only when a plot is asked for; the backend choice is process-wide

    matplotlib.use("Agg")  # files only: never open a window
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 4.5))
    axes.plot(curve.fpr, curve.tpr, label=f"ROC (AUC {auc:.4f})")
    axes.plot([eer], [1 - eer], "o", label=f"EER {eer:.4f}")
    axes.plot([0, 1], [0, 1], ":", color="grey", linewidth=1)
    axes.set(xlabel="false accept rate", ylabel="true accept rate", title=title)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.01)
    axes.legend(loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
