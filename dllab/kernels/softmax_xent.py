"""Softmax cross-entropy with integer labels on the GPU (softmax_xent.cu).

The NumPy twin is ``CrossEntropy`` in ``dllab/functional/losses.py``.
"""

from __future__ import annotations

import numpy as np

from .compile import _c, _cupy, _launch, kernel


def softmax_xent_forward(logits, labels):
    """(mean loss as a 0-d array, probabilities) for (N, C) scores and (N,) integer labels."""
    cp = _cupy()
    logits = _c(logits)
    labels = cp.ascontiguousarray(labels, dtype=cp.int64)
    n, c = logits.shape
    probs = cp.empty_like(logits)
    if n == 0:  # CUDA rejects an empty grid; the mean of no losses is NaN, as on the CPU
        return cp.asarray(float("nan"), dtype=logits.dtype), probs
    row_loss = cp.empty(n, dtype=logits.dtype)
    threads = 128 if c > 64 else 32
    kernel("softmax_xent_forward", logits.dtype)(
        (n,), (threads,), (logits, labels, probs, row_loss, np.int32(c)),
        shared_mem=threads * logits.dtype.itemsize,
    )
    return row_loss.mean(), probs


def softmax_xent_backward(probs, labels, g):
    """d logits = (p - onehot) * g / N."""
    cp = _cupy()
    n, c = probs.shape
    grad = cp.empty_like(probs)
    labels = cp.ascontiguousarray(labels, dtype=cp.int64)
    _launch("softmax_xent_backward", probs.dtype, probs.size,
            (probs, labels, grad, probs.dtype.type(1.0 / n), np.int32(c), np.int64(probs.size)))
    grad *= g  # g is the upstream 0-d gradient (1 for a plain loss): no copy back to the host
    return grad
