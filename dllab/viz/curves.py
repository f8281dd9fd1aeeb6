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


__all__ = ["confusion_matrix_plot", "learning_curves"]
