"""Figures of training results: learning curves and the confusion matrix.

All functions return a matplotlib Figure built without pyplot.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

_NOT_CURVES = ("lr",)  # per-epoch values that are not a train/validation pair


def _series(history, key):
    values = history.get(key)
    if values is None:
        return None
    return [float(v) for v in values]


def learning_curves(history, metrics=None, title=None, size=(4.5, 3.2)):
    """Train and validation curves per epoch, one panel per metric (like the DIGITS chart).

    history: a mapping with one value per epoch under keys such as "loss",
    "val_loss", "accuracy", "val_accuracy" (what ``Trainer.fit`` returns).
    metrics: which metrics to draw (default: every key with a value per epoch,
    validation keys drawn beside their training key).
    """
    if not isinstance(history, Mapping):
        raise TypeError(f"learning_curves: expected a mapping such as Trainer.fit's history, got "
                        f"{type(history).__name__}")
    if metrics is None:
        metrics = []
        for key in history:
            base = key.removeprefix("val_")
            if base not in metrics and base not in _NOT_CURVES:
                metrics.append(base)
    metrics = [m for m in metrics if _series(history, m) or _series(history, "val_" + m)]
    if not metrics:
        raise ValueError("learning_curves: the history has no values to plot (train for an epoch first); "
                         f"keys: {list(history)}")
    fig = Figure(figsize=(size[0] * len(metrics), size[1] + 0.3 * bool(title)))
    axes = np.atleast_1d(fig.subplots(1, len(metrics), squeeze=False)).reshape(-1)
    for ax, metric in zip(axes, metrics):
        for key, label, style in ((metric, "train", "o-"), ("val_" + metric, "validation", "s--")):
            values = _series(history, key)
            if values:
                ax.plot(range(1, len(values) + 1), values, style, label=label, markersize=4)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric)
        ax.grid(True, alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def training_curves(runs, metric="accuracy", smooth=1, title=None, last_epoch=None, size=(10, 3.6)):
    """The curves of one or more training runs so far: loss (left) and ``metric`` (right) against the epoch.

    runs: ``{name: {"steps": [(x, loss), ...], "epochs": [(epoch, logs), ...]}}`` where ``x`` is the
    position of a step in epochs (1.5 = halfway through epoch 2), ``epoch`` counts from 1 and
    ``logs`` holds that epoch's values ("loss", "val_loss", metric, "val_" + metric). Each step's
    loss is drawn faint, with its running mean over ``smooth`` steps as a line; validation values
    are solid, training values dashed. This is the one drawing of live curves: the labs'
    LiveCurves and the widgets' TrainingDashboard both call it.
    """
    fig = Figure(figsize=size, layout="constrained")
    ax_loss, ax_metric = fig.subplots(1, 2)
    for (name, run), color in zip(runs.items(), [f"C{i}" for i in range(10)] * 10):
        prefix = f"{name}: " if name else ""
        steps = np.asarray(run.get("steps") or np.zeros((0, 2)), dtype=np.float64).reshape(-1, 2)
        if len(steps):
            x, losses = steps[:, 0], steps[:, 1]
            ax_loss.plot(x, losses, color=color, alpha=0.2, lw=0.8)
            k = max(1, min(int(smooth), len(losses)))
            if k > 1:
                ax_loss.plot(x[k - 1:], np.convolve(losses, np.ones(k) / k, mode="valid"), color=color, lw=1.8,
                             label=f"{prefix}training loss (running mean)")
        epochs = run.get("epochs") or []
        for ax, key, style, what in ((ax_loss, "loss", "--o", "training"), (ax_loss, "val_loss", "-o", "validation"),
                                     (ax_metric, metric, "--o", "training"),
                                     (ax_metric, f"val_{metric}", "-o", "validation")):
            points = [(e, logs[key]) for e, logs in epochs if logs.get(key) is not None]
            if points:
                ax.plot(*zip(*points), style, color=color, ms=3, lw=1, label=f"{prefix}{what}")
    right = last_epoch + 0.2 if last_epoch else None
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss (faint: each step)", xlim=(0, right) if right else None)
    ax_metric.set(xlabel="epoch", ylabel=metric, title=f"{metric} per epoch", xlim=(0, right) if right else None)
    for ax in (ax_loss, ax_metric):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def confusion_matrix_plot(cm, class_names=None, normalize=False, title=None, cmap="Blues", size=None,
                          mistakes_only=False):
    """Show a confusion matrix: row = true class, column = predicted class.

    cm: (K, K) counts (e.g. ``dllab.metrics.confusion_matrix(y, scores)``).
    normalize: show each row as fractions of that class (per-class recall).
    mistakes_only: leave the diagonal (the right answers) blank, so that the mistakes stand out.
    Each cell is annotated with its count (or fraction).
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion_matrix_plot: expected a square (K, K) matrix, got shape {cm.shape}")
    k = cm.shape[0]
    if class_names is not None and len(class_names) != k:
        raise ValueError(f"confusion_matrix_plot: {len(class_names)} class names for {k} classes")
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]
    values = cm.astype(np.float64)
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    if mistakes_only:
        values[np.diag_indices(k)] = np.nan  # blank cells; the colours then span the mistakes only
        cmap = "Reds" if cmap == "Blues" else cmap
    side = size or max(4.0, 0.5 * k + 1.5)
    fig = Figure(figsize=(side + 1.0, side))
    ax = fig.subplots()
    image = ax.imshow(values, cmap=cmap, interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = np.nanmax(values) / 2 if np.any(np.isfinite(values)) else 0
    if k <= 30:
        for i in range(k):
            for j in range(k):
                if mistakes_only and (i == j or not cm[i, j]):
                    continue
                text = f"{values[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if values[i, j] > threshold else "black")
    correct = np.trace(cm) / cm.sum() if cm.sum() else float("nan")
    ax.set_title(title or f"confusion matrix (accuracy {100 * correct:.2f}%)")
    fig.tight_layout()
    return fig


__all__ = ["confusion_matrix_plot", "learning_curves", "training_curves"]
