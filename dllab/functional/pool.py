"""Pooling over NCHW images: max, average and global average.

    max_pool2d:  out[n, c, y, x] = max  over i < kH, j < kW of xpad[n, c, s*y + i, s*x + j]
    avg_pool2d:  out[n, c, y, x] = mean over i < kH, j < kW of xpad[n, c, s*y + i, s*x + j]
    global_avg_pool:  out[n, c] = mean over y, x of x[n, c, y, x]

with H_out = floor((H + 2*pad - kH) / stride) + 1 (likewise W_out); the stride defaults
to the window size. As in PyTorch, windows that do not tile the input stop at the last one
that fits: MaxPool2D(2) on 7x7 gives 3x3, and row and column 7 are read by no window (they
get a zero gradient); see dllab.functional.conv.

The computation loops over the kH*kW offsets (i, j) of the window, never over
pixels, channels or images: ``x[:, :, i::s, j::s]`` is one strided view that holds
offset (i, j) of every window at once. In the common non-overlapping case
(stride == kernel, no padding) these views split x into disjoint pieces, so the
forward pass makes no copy of x and the backward pass assigns instead of adding.
Outputs keep the memory order of the input (see dllab.functional.conv). Max pooling's
reference, an argmax and a scatter as in the formula, is ``dllab.functional.reference.max_pool2d``.
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from ..autograd import Function
from ..backend import array_module, is_gpu_array
from .conv import check_window, pad_chwn, pair, to_chwn


def _pool_args(where, x, kernel_size, stride, padding):
    if x.ndim != 4:
        hint = "add the channel axis with x[:, None]" if x.ndim == 3 else "images are (N, C, H, W)"
        raise ValueError(f"{where} expects a 4-D NCHW input (batch, channels, height, width), got shape "
                         f"{tuple(x.shape)}; {hint}")
    k = pair(kernel_size, "kernel_size", where)
    s = k if stride is None else pair(stride, "stride", where)
    p = pair(padding, "padding", where)
    if min(k) < 1 or min(s) < 1 or min(p) < 0:
        raise ValueError(f"{where}: kernel_size and stride must be >= 1 and padding >= 0, got "
                         f"kernel_size={kernel_size!r}, stride={stride!r}, padding={padding!r}")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{where}: padding {p} must be at most half the window {k}, or some windows "
                         "would see nothing but padding")
    out = check_window(where, x.shape, k, s, p, op="pool window")
    return k, s, p, out


def _padded(x, p, value):
    """x with H, W padded by ``value`` (an NCHW view of (C, H, W, N) memory); x itself if p == 0."""
    if p == (0, 0):
        return x
    return pad_chwn(to_chwn(x), p[0], p[1], value).transpose(3, 0, 1, 2)


def _window_views(a, k, s, out_hw):
    """For every offset (i, j) of the window: a[:, :, i + s*y, j + s*x] as one strided view."""
    Ho, Wo = out_hw
    for i in range(k[0]):
        for j in range(k[1]):
            yield a[:, :, i : i + s[0] * (Ho - 1) + 1 : s[0], j : j + s[1] * (Wo - 1) + 1 : s[1]]


def _copy_in_layout(g, like):
    """A copy of g in the memory order of ``like``, so that the per-offset loops below
    stream through memory instead of striding across it."""
    out = array_module(like).empty_like(like, dtype=g.dtype)
    out[...] = g
    return out


def _gradient_buffer(like, k, s):
    """Zeros shaped like the (padded) input; uninitialised when the windows cover it exactly once."""
    xp = array_module(like)
    exact = s == k and all(n % kk == 0 for n, kk in zip(like.shape[2:], k))
    return xp.empty_like(like) if exact else xp.zeros_like(like)  # *_like keeps the memory order


def _crop(gx, p, x_shape):
    if p == (0, 0):
        return gx
    return gx[:, :, p[0] : p[0] + x_shape[2], p[1] : p[1] + x_shape[3]]


class MaxPool2d(Function):
    """Max pooling.  x: (N, C, H, W) -> (N, C, H_out, W_out); padding counts as -inf.

    d/dx: each window's gradient goes to its maximum (the first one if several tie,
    as in PyTorch); overlapping windows add. The forward scans the window offsets
    t = 0, 1, ... and keeps, for t >= 1, the mask "offset t beat the maximum so far";
    the maximum sits at the last offset whose mask is set (offset 0 if none is).
    """

    def forward(self, x, kernel_size=2, stride=None, padding=0):
        k, s, p, out_hw = _pool_args("max_pool2d", x, kernel_size, stride, padding)
        if is_gpu_array(x):  # one thread per output, argmax kept (kernels/pool.cu)
            out, self.argmax = kernels.max_pool_forward(x, k, s, p, out_hw)
            self.args = (k, s, p, out_hw, x.shape)
            return out
        self.argmax = None
        xp = array_module(x)
        xpad = _padded(x, p, -np.inf)
        views = _window_views(xpad, k, s, out_hw)
        out = next(views).copy(order="K")
        beats = []
        for v in views:
            beats.append(v > out)  # strictly greater: on a tie the earlier offset keeps the maximum
            xp.maximum(out, v, out=out)
        self.beats, self.like, self.args = beats, xpad, (k, s, p, out_hw, x.shape)
        return out

    def backward(self, g):
        k, s, p, out_hw, x_shape = self.args
        if self.argmax is not None:  # a gather over the windows each input element won
            return kernels.max_pool_backward(g, self.argmax, x_shape, k, s, p)
        xp = array_module(g)
        gx = _gradient_buffer(self.like, k, s)
        overlap = s[0] < k[0] or s[1] < k[1]
        views = list(_window_views(gx, k, s, out_hw))
        rest = _copy_in_layout(g, self.beats[0]) if self.beats else g.copy()  # not yet handed out
        for view, beat in zip(reversed(views[1:]), reversed(self.beats)):
            if overlap:
                part = rest * beat
                view += part
            else:
                part = xp.multiply(rest, beat, out=view)
            rest -= part
        if overlap:
            views[0] += rest
        else:
            views[0][...] = rest
        return _crop(gx, p, x_shape)


class AvgPool2d(Function):
    """Average pooling.  x: (N, C, H, W) -> (N, C, H_out, W_out).

    Padding counts as zeros and every window divides by kH*kW (PyTorch's default,
    count_include_pad=True).  d/dx: each input gets g / (kH*kW) from every window it is in.
    """

    def forward(self, x, kernel_size=2, stride=None, padding=0):
        k, s, p, out_hw = _pool_args("avg_pool2d", x, kernel_size, stride, padding)
        xpad = _padded(x, p, 0.0)
        views = _window_views(xpad, k, s, out_hw)
        out = next(views).copy(order="K")
        for v in views:
            out += v
        out *= x.dtype.type(1.0 / (k[0] * k[1]))
        self.like, self.args = xpad, (k, s, p, out_hw, x.shape)
        return out

    def backward(self, g):
        k, s, p, out_hw, x_shape = self.args
        gx = _gradient_buffer(self.like, k, s)
        overlap = s[0] < k[0] or s[1] < k[1]
        share = g * g.dtype.type(1.0 / (k[0] * k[1]))
        for view in _window_views(gx, k, s, out_hw):
            if overlap:
                view += share
            else:
                view[...] = share
        return _crop(gx, p, x_shape)


class GlobalAvgPool(Function):
    """out[n, c] = mean of x[n, c] over H and W.  x: (N, C, H, W) -> (N, C).

    d/dx = g[n, c] / (H*W) at every position.
    """

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"global_avg_pool expects a 4-D NCHW input, got shape {tuple(x.shape)}")
        self.x_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, g):
        xp = array_module(g)
        H, W = self.x_shape[2:]
        gx = xp.empty(self.x_shape, dtype=g.dtype)
        gx[...] = (g * g.dtype.type(1.0 / (H * W)))[:, :, None, None]
        return gx


def max_pool2d(x, kernel_size=2, stride=None, padding=0):
    """Max pooling of NCHW images; ``stride`` defaults to ``kernel_size``.

    x: (N, C, H, W) -> (N, C, (H + 2*padding - kH) // stride + 1, (W + ...) // stride + 1).

        >>> import numpy as np
        >>> from dllab import Tensor
        >>> x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
        >>> max_pool2d(x, 2).data[0, 0]
        array([[ 5.,  7.],
               [13., 15.]])
        >>> avg_pool2d(x, 2).data[0, 0]
        array([[ 2.5,  4.5],
               [10.5, 12.5]])
        >>> max_pool2d(Tensor(np.zeros((1, 1, 7, 7))), 2).shape     # floored: row and column 7 dropped
        (1, 1, 3, 3)
    """
    return MaxPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding)


def avg_pool2d(x, kernel_size=2, stride=None, padding=0):
    """Average pooling of NCHW images (padding counts as zeros); ``stride`` defaults to ``kernel_size``."""
    return AvgPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding)


def global_avg_pool(x):
    """Mean over height and width: (N, C, H, W) -> (N, C)."""
    return GlobalAvgPool.apply(x)


__all__ = ["AvgPool2d", "GlobalAvgPool", "MaxPool2d", "avg_pool2d", "global_avg_pool", "max_pool2d"]
