"""Training curves from a run's metrics.csv."""

from pathlib import Path

import pandas as pd


def plot_curves(metrics_csv: Path, out_png: Path) -> None:
    """Loss, accuracies, validation AUC and learning rate per epoch, one panel each."""
    import matplotlib  # heavy, only when plotting; the backend choice below is process-wide

    matplotlib.use("Agg")  # files only: training runs headless
    import matplotlib.pyplot as plt

    metrics = pd.read_csv(metrics_csv)
    figure, axes = plt.subplots(2, 2, figsize=(10, 7), constrained_layout=True)
    panels = [
        (axes[0, 0], ["train_loss"], "loss"),
        (axes[0, 1], ["train_accuracy", "dev_accuracy"], "accuracy"),
        (axes[1, 0], ["val_auc"], "verification ROC AUC (val pairs)"),
        (axes[1, 1], ["lr"], "learning rate (end of epoch)"),
    ]
    for axis, columns, title in panels:
        for column in columns:
            axis.plot(metrics["epoch"], metrics[column], marker="o", label=column)
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        if len(columns) > 1:
            axis.legend()
    figure.savefig(out_png, dpi=100)
    plt.close(figure)
