"""Metrics on predictions: accuracy, classification error, confusion matrix, MSE, MAE.

Scores may be a Tensor, a NumPy or a CuPy array; results are plain Python numbers
or NumPy arrays.
"""

from __future__ import annotations

import numpy as np

from . import backend
from .autograd import _raw


def _np(a):
    return backend.to_numpy(_raw(a))


def predicted_labels(scores) -> np.ndarray:
    """(N, C) scores or probabilities -> (N,) class indices; (N,) labels pass through."""
    s = _np(scores)
    return s.argmax(axis=1) if s.ndim == 2 else s.astype(np.int64)


# --- the formulas, in the arrays' own module (NumPy or CuPy), each giving a 0-d array -----------


def _accuracy(s, y):
    xp = backend.array_module(s)
    y = xp.asarray(y)
    if y.ndim == 2:  # one-hot targets
        y = y.argmax(axis=1)
    if s.ndim == 2 and s.shape[1] == 1:
        raise ValueError(f"accuracy needs one score per class, shape (N, C) with C >= 2, but got scores of shape "
                         f"{tuple(s.shape)}: the argmax of one output is always 0. For regression use "
                         "metrics=('mae',) (or none: the loss is the measure); for two classes give the last "
                         "layer two outputs and use cross_entropy")
    pred = s.argmax(axis=1) if s.ndim == 2 else s.astype(xp.int64)
    if pred.shape != y.shape:
        raise ValueError(f"accuracy: {pred.shape[0]} predictions but labels of shape {y.shape}")
    return (pred == y).mean() if y.size else xp.asarray(float("nan"))


def _squared_error(p, t):
    xp = backend.array_module(p)
    d = p.astype(xp.float64) - xp.asarray(t, dtype=xp.float64)
    return (d * d).mean()


def _absolute_error(p, t):
    xp = backend.array_module(p)
    return xp.abs(p.astype(xp.float64) - xp.asarray(t, dtype=xp.float64)).mean()


# --- on the host: plain Python numbers --------------------------------------------------------


def accuracy(scores, labels) -> float:
    """Fraction of examples whose highest score is the true label."""
    return float(_accuracy(_np(scores), _np(labels)))


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
    return float(_squared_error(_np(predictions), _np(targets)))


def mae(predictions, targets) -> float:
    return float(_absolute_error(_np(predictions), _np(targets)))


# --- per-batch metrics that stay on the device ----------------------------------------------------
# The Trainer sums a metric over the batches of an epoch. On the GPU, the functions above would copy
# every batch's scores back to the host; these give the same formulas as a 0-d array on the scores'
# own device instead, so the only value read back per step is the loss.

_ON_DEVICE = {
    accuracy: lambda scores, labels: _accuracy(_raw(scores), _raw(labels)),
    classification_error: lambda scores, labels: 1.0 - _accuracy(_raw(scores), _raw(labels)),
    mse: lambda predictions, targets: _squared_error(_raw(predictions), _raw(targets)),
    mae: lambda predictions, targets: _absolute_error(_raw(predictions), _raw(targets)),
}


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
