"""im2col and col2im on the GPU (im2col.cu), on images stored (C, H, W, N).

The NumPy twins are ``im2col`` and ``col2im`` in ``dllab/functional/conv.py``.
"""

from __future__ import annotations

import numpy as np

from .compile import _c, _cupy, _i32, _launch


def im2col_chwn(x_chwn, kernel_hw, stride_hw, padding_hw, dilation_hw, out_hw):
    """cols (C*kh*kw, Ho*Wo*N) from an unpadded (C, H, W, N) array (padding is read as zeros)."""
    cp = _cupy()
    x_chwn = _c(x_chwn)
    C, H, W, N = x_chwn.shape
    (kh, kw), (Ho, Wo) = kernel_hw, out_hw
    cols = cp.empty((C * kh * kw, Ho * Wo * N), dtype=x_chwn.dtype)
    _launch("im2col_chwn", x_chwn.dtype, cols.size,
            (x_chwn, cols, *_i32(C, H, W, N, Ho, Wo, kh, kw, *stride_hw, *padding_hw, *dilation_hw),
             np.int64(cols.size)))
    return cols


def col2im_chwn(cols, chwn_shape, kernel_hw, stride_hw, padding_hw, dilation_hw, out_hw):
    """The (C, H, W, N) sum of every column back onto its receptive field (a gather)."""
    cp = _cupy()
    cols = _c(cols)
    C, H, W, N = chwn_shape
    (kh, kw), (Ho, Wo) = kernel_hw, out_hw
    x = cp.empty(chwn_shape, dtype=cols.dtype)
    _launch("col2im_chwn", cols.dtype, x.size,
            (cols, x, *_i32(C, H, W, N, Ho, Wo, kh, kw, *stride_hw, *padding_hw, *dilation_hw),
             np.int64(x.size)))
    return x
