"""Max pooling, read against its formula: every window side by side, an argmax and a scatter.

The fast twin, ``dllab.functional.pool.max_pool2d``, keeps masks instead of an argmax.
"""

from __future__ import annotations

import numpy as np

from ...autograd import Function
from ...backend import array_module
from ..conv import output_size, pair


def windows(xpad, k, s, out_hw):
    """Every pooling window of a padded NCHW array, side by side on a last axis.

    xpad: (N, C, H, W) -> (N, C, H_out, W_out, kH*kW), where
    windows[n, c, y, x, i*kW + j] = xpad[n, c, s*y + i, s*x + j].
    """
    (kh, kw), (sh, sw), (Ho, Wo) = k, s, out_hw
    xp = array_module(xpad)
    rows = (sh * xp.arange(Ho))[:, None] + xp.arange(kh)[None, :]  # (H_out, kH): the rows of each window
    cols = (sw * xp.arange(Wo))[:, None] + xp.arange(kw)[None, :]  # (W_out, kW)
    w = xpad[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (N, C, H_out, W_out, kH, kW)
    return w.reshape(w.shape[:4] + (kh * kw,))


class MaxPool2dReference(Function):
    """Max pooling, read against its formula.

    x: (N, C, H, W) -> out: (N, C, H_out, W_out), H_out = (H + 2*pad - kH) // stride + 1.

        xpad           = x padded with -inf
        out[n,c,y,x]   = max over (i, j) of xpad[n, c, s*y + i, s*x + j]
        a[n,c,y,x]     = argmax over (i, j) of the same window (the first maximum)
        dxpad[n,c,s*y + a_i, s*x + a_j] += g[n,c,y,x]      (every window sends its gradient to its max)
        dx             = dxpad without the padding
    """

    def forward(self, x, kernel_size=2, stride=None, padding=0):
        k = pair(kernel_size, "kernel_size", "max_pool2d")
        s = k if stride is None else pair(stride, "stride", "max_pool2d")
        p = pair(padding, "padding", "max_pool2d")
        xp = array_module(x)
        N, C, H, W = x.shape
        Ho, Wo = output_size(H, k[0], s[0], p[0]), output_size(W, k[1], s[1], p[1])
        xpad = xp.full((N, C, H + 2 * p[0], W + 2 * p[1]), -np.inf, dtype=x.dtype)
        xpad[:, :, p[0] : p[0] + H, p[1] : p[1] + W] = x
        win = windows(xpad, k, s, (Ho, Wo))  # (N, C, H_out, W_out, kH*kW)
        self.argmax = win.argmax(axis=-1)    # (N, C, H_out, W_out): the first maximum of each window
        self.args = (k, s, p, (Ho, Wo), x.shape, xpad.shape)
        return win.max(axis=-1)

    def backward(self, g):
        k, s, p, (Ho, Wo), x_shape, pad_shape = self.args
        xp = array_module(g)
        N, C = g.shape[:2]
        i, j = self.argmax // k[1], self.argmax % k[1]          # the max's offset inside its window
        rows = s[0] * xp.arange(Ho)[None, None, :, None] + i     # (N, C, H_out, W_out): its row in xpad
        cols = s[1] * xp.arange(Wo)[None, None, None, :] + j     # its column in xpad
        n = xp.arange(N)[:, None, None, None]
        c = xp.arange(C)[None, :, None, None]
        dxpad = xp.zeros(pad_shape, dtype=g.dtype)
        xp.add.at(dxpad, (n, c, rows, cols), g)                  # overlapping windows add up
        return dxpad[:, :, p[0] : p[0] + x_shape[2], p[1] : p[1] + x_shape[3]]


def max_pool2d(x, kernel_size=2, stride=None, padding=0):
    """The reference max pooling: same arguments and result as ``dllab.functional.max_pool2d``.

        >>> import numpy as np
        >>> from dllab import Tensor
        >>> x = Tensor(np.array([[[[1.0, 3.0], [3.0, 0.0]]]]), requires_grad=True)
        >>> y = max_pool2d(x, 2)
        >>> y.backward(np.ones((1, 1, 1, 1)))
        >>> x.grad[0, 0]                        # a tie: the first maximum takes the gradient
        array([[0., 1.],
               [0., 0.]])
    """
    return MaxPool2dReference.apply(x, kernel_size=kernel_size, stride=stride, padding=padding)


__all__ = ["MaxPool2dReference", "max_pool2d", "windows"]
