"""Max pooling on the GPU (pool.cu): forward keeps each window's argmax, backward gathers.

The NumPy twin is ``MaxPool2d`` in ``dllab/functional/pool.py``.
"""

from __future__ import annotations

import numpy as np

from .compile import _c, _cupy, _i32, _launch


def max_pool_forward(x, kernel_hw, stride_hw, padding_hw, out_hw):
    """(y, argmax) for NCHW x; argmax holds h * W + w of each window's (first) maximum."""
    cp = _cupy()
    x = _c(x)
    N, C, H, W = x.shape
    Ho, Wo = out_hw
    y = cp.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = cp.empty((N, C, Ho, Wo), dtype=cp.int32)
    _launch("max_pool_forward", x.dtype, y.size,
            (x, y, argmax, *_i32(C, H, W, Ho, Wo, *kernel_hw, *stride_hw, *padding_hw), np.int64(y.size)))
    return y, argmax


def max_pool_backward(g, argmax, x_shape, kernel_hw, stride_hw, padding_hw):
    """dx (N, C, H, W): each input element gathers the gradients of the windows it won."""
    cp = _cupy()
    g = _c(g)
    N, C, H, W = x_shape
    Ho, Wo = g.shape[2:]
    dx = cp.empty(x_shape, dtype=g.dtype)
    _launch("max_pool_backward", g.dtype, dx.size,
            (g, argmax, dx, *_i32(C, H, W, Ho, Wo, *kernel_hw, *stride_hw, *padding_hw), np.int64(dx.size)))
    return dx
