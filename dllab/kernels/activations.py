"""Elementwise activations (relu, sigmoid, tanh) and dropout on the GPU (activations.cu).

The NumPy twins are the ops in ``dllab/functional/activations.py`` and ``dropout.py``.
"""

from __future__ import annotations

import numpy as np

from .compile import _c, _cupy, _launch


def activation_forward(kind: str, x):
    """y = relu/sigmoid/tanh(x), elementwise."""
    x = _c(x)
    y = _cupy().empty_like(x)
    _launch(f"{kind}_forward", x.dtype, x.size, (x, y, np.int64(x.size)))
    return y


def activation_backward(kind: str, g, y):
    """dx from the upstream gradient g and the forward output y."""
    y = _c(y)
    g = _c(g).astype(y.dtype, copy=False)  # the kernel reads both as the type of y
    dx = _cupy().empty_like(y)
    _launch(f"{kind}_backward", y.dtype, y.size, (g, y, dx, np.int64(y.size)))
    return dx


def dropout_forward(x, keep: float):
    """(y, mask) with mask = (u < keep) / keep, u uniform from CuPy's generator."""
    cp = _cupy()
    x = _c(x)
    u = cp.random.random(x.shape, dtype=x.dtype)
    y, mask = cp.empty_like(x), cp.empty_like(x)
    _launch("dropout_forward", x.dtype, x.size, (x, u, y, mask, x.dtype.type(keep), np.int64(x.size)))
    return y, mask
