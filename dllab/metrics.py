"""Metrics on predictions: accuracy, classification error, confusion matrix, MSE, MAE.

Scores may be a Tensor, a NumPy or a CuPy array; results are plain Python numbers
or NumPy arrays.
"""

from __future__ import annotations

import numpy as np

from . import backend
from .autograd import Tensor


def _raw(a):
    """The array inside a Tensor; anything else as it is (an ndarray's own .data is a buffer)."""
    return a.data if isinstance(a, Tensor) else a


def _np(a):
    return backend.to_numpy(_raw(a))


def predicted_labels(scores) -> np.ndarray:
    """(N, C) scores or probabilities -> (N,) class indices; (N,) labels pass through."""
    s = _np(scores)
    return s.argmax(axis=1) if s.ndim == 2 else s.astype(np.int64)


def accuracy(scores, labels) -> float:
    """Fraction of examples whose highest score is the true label."""
    pred, y = predicted_labels(scores), _np(labels)
    if y.ndim == 2:  # one-hot targets
        y = y.argmax(axis=1)
    if pred.shape != y.shape:
        raise ValueError(f"accuracy: {pred.shape[0]} predictions but labels of shape {y.shape}")
    return float((pred == y).mean()) if y.size else float("nan")


def classification_error(scores, labels) -> float:
    """1 - accuracy: the metric the CNTK labs report."""
    return 1.0 - accuracy(scores, labels)


def confusion_matrix(labels, predictions, num_classes=None) -> np.ndarray:
    """cm[i, j] = how many examples of true class i were predicted as class j.

    ``predictions`` may be labels (N,) or scores (N, C).
    """
    y, p = _np(labels).astype(np.int64), predicted_labels(predictions)
    k = num_classes or int(max(y.max(initial=0), p.max(initial=0)) + 1)
    return np.bincount(y * k + p, minlength=k * k).reshape(k, k)


def mse(predictions, targets) -> float:
    d = _np(predictions).astype(np.float64) - _np(targets).astype(np.float64)
    return float((d * d).mean())


def mae(predictions, targets) -> float:
    d = _np(predictions).astype(np.float64) - _np(targets).astype(np.float64)
    return float(np.abs(d).mean())


# --- per-batch metrics that stay on the device ----------------------------------------------------
# The Trainer sums a metric over the batches of an epoch. On the GPU, the functions above would copy
# every batch's scores back to the host; these return a 0-d array on the scores' own device instead,
# so the only value read back per step is the loss.


def _accuracy_on_device(scores, labels):
    s, y = _raw(scores), _raw(labels)
    xp = backend.array_module(s)
    y = xp.asarray(y)
    if y.ndim == 2:  # one-hot targets
        y = y.argmax(axis=1)
    pred = s.argmax(axis=1) if s.ndim == 2 else s.astype(xp.int64)
    if pred.shape != y.shape:
        raise ValueError(f"accuracy: {pred.shape[0]} predictions but labels of shape {y.shape}")
    return (pred == y).mean()


def _error_on_device(scores, labels):
    return 1.0 - _accuracy_on_device(scores, labels)


def _mse_on_device(predictions, targets):
    p, t = _raw(predictions), _raw(targets)
    xp = backend.array_module(p)
    d = p.astype(xp.float64) - xp.asarray(t, dtype=xp.float64)
    return (d * d).mean()


def _mae_on_device(predictions, targets):
    p, t = _raw(predictions), _raw(targets)
    xp = backend.array_module(p)
    return xp.abs(p.astype(xp.float64) - xp.asarray(t, dtype=xp.float64)).mean()


def on_device(fn):
    """The batch-metric function the Trainer uses for ``fn``: a device-side twin for the built-in
    metrics (a 0-d array on the scores' device), ``fn`` itself for any other function."""
    return _ON_DEVICE.get(fn, fn)


METRICS = {
    "accuracy": accuracy,
    "error": classification_error,
    "classification_error": classification_error,
    "mse": mse,
    "mae": mae,
}


def get(name_or_fn):
    """A metric function from its name, or the function itself."""
    if callable(name_or_fn):
        return getattr(name_or_fn, "__name__", "metric"), name_or_fn
    try:
        return name_or_fn, METRICS[name_or_fn]
    except KeyError:
        raise ValueError(f"unknown metric {name_or_fn!r}: use one of {', '.join(METRICS)}") from None

_ON_DEVICE = {accuracy: _accuracy_on_device, classification_error: _error_on_device,
              mse: _mse_on_device, mae: _mae_on_device}
