"""2-D convolution, read against its formula: one output position at a time.

The fast twin, ``dllab.functional.conv.conv2d``, computes the same sums as one matrix
product over im2col columns, in (C, H, W, N) memory order.
"""

from __future__ import annotations

from ...autograd import Function
from ...backend import array_module
from ..conv import check_conv_input, check_window, pair, resolve_padding


def conv_arguments(x, weight, bias, stride, padding, dilation):
    """The checks of the fast conv2d (same errors), then (stride, padding, dilation, (H_out, W_out))."""
    check_conv_input("conv2d", x.shape, weight.shape)
    kernel = weight.shape[2:]
    s, d = pair(stride, "stride"), pair(dilation, "dilation")
    if min(s) < 1 or min(d) < 1:
        raise ValueError(f"conv2d: stride and dilation must be >= 1, got {stride!r} and {dilation!r}")
    p = resolve_padding(padding, kernel, s, d)
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"conv2d: bias must have shape ({weight.shape[0]},), one per output channel, "
                         f"got {bias.shape}")
    return s, p, d, check_window("conv2d", x.shape, kernel, s, p, d)


def field(y, x, kernel, s, d):
    """The rows and columns of xpad that output (y, x) reads: s*y + d*i for i < kH, s*x + d*j for j < kW."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, s, d
    rows = slice(sh * y, sh * y + dh * (kh - 1) + 1, dh)
    cols = slice(sw * x, sw * x + dw * (kw - 1) + 1, dw)
    return rows, cols


class Conv2dReference(Function):
    """2-D convolution (cross-correlation, as in every DL library) of NCHW images.

    x: (N, C_in, H, W), weight: (C_out, C_in, kH, kW), bias: (C_out,) or None
    -> out: (N, C_out, H_out, W_out), H_out = (H + 2*pad - d*(kH - 1) - 1) // s + 1 (likewise W_out).

        xpad               = x with pad zeros on each side of H and W
        out[n, o, y, x]    = b[o] + sum_{c, i, j} W[o, c, i, j] * xpad[n, c, s*y + d*i, s*x + d*j]

    Every product W[o, c, i, j] * xpad[n, c, ...] sends g[n, o, y, x] back to both factors:

        dW[o, c, i, j]                      = sum_{n, y, x} g[n, o, y, x] * xpad[n, c, s*y + d*i, s*x + d*j]
        dxpad[n, c, s*y + d*i, s*x + d*j]  += sum_o        g[n, o, y, x] * W[o, c, i, j]
        db[o]                               = sum_{n, y, x} g[n, o, y, x]
        dx                                  = dxpad without the padding

    Rows and columns of xpad that no window reaches (the floor in H_out) get zero gradient.
    """

    def forward(self, x, weight, bias=None, stride=1, padding=0, dilation=1):
        s, p, d, (H_out, W_out) = conv_arguments(x, weight, bias, stride, padding, dilation)
        xp = array_module(x)
        N, C_out, kernel = x.shape[0], weight.shape[0], weight.shape[2:]
        xpad = xp.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))          # (N, C_in, H + 2ph, W + 2pw)
        out = xp.zeros((N, C_out, H_out, W_out), dtype=xp.result_type(x, weight))
        for y in range(H_out):
            for x_ in range(W_out):
                rows, cols = field(y, x_, kernel, s, d)
                window = xpad[:, :, rows, cols]                                 # (N, C_in, kH, kW)
                out[:, :, y, x_] = xp.einsum("ncij,ocij->no", window, weight)  # sum over c, i, j
        if bias is not None:
            out += bias[None, :, None, None]
        self.xpad, self.weight, self.has_bias = xpad, weight, bias is not None
        self.args, self.x_shape = (kernel, s, p, d), x.shape
        return out

    def backward(self, g):
        (kernel, s, p, d), (_, _, H, W) = self.args, self.x_shape
        xp, xpad, weight = array_module(g), self.xpad, self.weight
        dW = xp.zeros_like(weight)
        dxpad = xp.zeros_like(xpad)
        for y in range(g.shape[2]):
            for x_ in range(g.shape[3]):
                rows, cols = field(y, x_, kernel, s, d)
                g_yx = g[:, :, y, x_]                                                    # (N, C_out)
                dW += xp.einsum("no,ncij->ocij", g_yx, xpad[:, :, rows, cols])           # sum over n
                dxpad[:, :, rows, cols] += xp.einsum("no,ocij->ncij", g_yx, weight)      # sum over o
        db = g.sum(axis=(0, 2, 3)) if self.has_bias else None
        dx = dxpad[:, :, p[0] : p[0] + H, p[1] : p[1] + W]
        return dx, dW, db


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """The reference convolution: same arguments and result as ``dllab.functional.conv2d``.

        >>> import numpy as np
        >>> from dllab import Tensor
        >>> x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
        >>> conv2d(x, Tensor(np.ones((1, 1, 2, 2))), stride=2).data[0, 0]   # the sum of each 2x2 block
        array([[10., 18.],
               [42., 50.]])
    """
    return Conv2dReference.apply(x, weight, bias, stride=stride, padding=padding, dilation=dilation)


__all__ = ["Conv2dReference", "conv2d", "field"]
