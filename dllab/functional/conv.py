"""2-D convolution over NCHW images, computed with im2col / col2im.

    out[n, o, y, x] = b[o] + sum_{c, i, j} W[o, c, i, j] * xpad[n, c, s*y + d*i, s*x + d*j]

x: (N, C_in, H, W), W: (C_out, C_in, kH, kW), b: (C_out,) -> out: (N, C_out, H_out, W_out) with

    H_out = floor((H + 2*pad - dilation*(kH - 1) - 1) / stride) + 1      (likewise W_out)

The weight layout is PyTorch's, CNTK's and cuDNN's, so results compare directly.

Windows that do not tile the input: the floor above is PyTorch's (and Keras's, cuDNN's) rule.
The windows start at 0, stride, 2*stride, ... and stop at the last one that fits, so when
(H + 2*pad - span) is not a multiple of the stride, the last (H + 2*pad - span) % stride rows
of the padded input are read by no window: they do not affect the output and get a zero
gradient. A 3x3 kernel with stride 2 and padding 1 on 28x28 gives 14x14 and never reads the
last padded row; a 2x2 pool on 7x7 gives 3x3 and drops row and column 7.

How it is computed (im2col): every receptive field is copied into one column of
a matrix, so the whole convolution becomes ONE matrix product::

    cols (C_in*kH*kW, H_out*W_out*N)        im2col(x)
    out  = W.reshape(C_out, -1) @ cols      (C_out, H_out*W_out*N)
    dW   = g @ cols.T                       the weight gradient is a matrix product too
    dcols = W.T @ g;  dx = col2im(dcols)    col2im adds each column back onto its field

Memory order, the one trick here: images are NCHW to the user, but the arrays
this module returns are NCHW *views* of memory ordered (C, H, W, N), batch
innermost. Then a receptive-field row of one channel is a contiguous run of
W_out*N numbers, so the im2col copy and the col2im sums move long runs instead of
5-number snippets (about 5x faster on a CPU). NumPy treats the view like any other
array: only speed depends on the layout, never values.

Memory, the second trick: the columns are the largest arrays of a CNN's step (8 MB for
LeNet's second convolution at batch 64), and on a CPU a freshly allocated array costs a page
fault per 4 KB the first time it is written, about a quarter of LeNet's step. So the backward
pass writes dcols over the columns (they have the same shape and are not needed any more), and
hands the buffer to the next forward pass of the same shape (``_spare_columns``).

The formula read line by line, one output position at a time, is the reference
``dllab.functional.reference.conv2d``; tests/library/test_reference.py checks this module against it.
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from ..autograd import Function, is_grad_enabled
from ..backend import array_module, is_gpu_array

# Without gradients (evaluation, prediction) im2col works on slices of the batch so that
# its columns hold at most this many numbers (64 MB in float32), e.g. for batches of 1000.
INFERENCE_COLUMNS = 1 << 24

# Column buffers of finished backward passes, by (shape, dtype), for the next forward pass (CPU):
# reusing last step's memory saves the page faults of a fresh array (see the module docstring).
_spare_columns = {}

# --- sizes and argument checks -----------------------------------------------------


def pair(value, name, where="conv2d"):
    """``3`` -> ``(3, 3)``; ``(3, 5)`` stays; anything else is an error naming ``where``."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        a, b = value
    else:
        a = b = value
    for v in (a, b):
        if isinstance(v, bool) or not isinstance(v, int) and not _is_np_int(v):
            raise TypeError(f"{where}: {name} must be an int or a pair of ints, got {value!r}")
    return int(a), int(b)


def _is_np_int(v):
    return hasattr(v, "dtype") and getattr(v.dtype, "kind", "") in "iu" and getattr(v, "ndim", 1) == 0


def resolve_padding(padding, kernel, stride=(1, 1), dilation=(1, 1), where="conv2d"):
    """Padding as ``(pad_h, pad_w)``: an int, a pair, ``"valid"`` (0) or ``"same"``.

    ``"same"`` keeps H and W (needs stride 1 and an odd effective kernel size
    dilation*(k-1)+1, so that the padding is the same on both sides).
    """
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return 0, 0
        if mode != "same":
            raise ValueError(f"{where}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
        if stride != (1, 1):
            raise ValueError(
                f"{where}: padding='same' needs stride 1 (got stride {stride}); with a larger stride "
                "give the padding as a number, e.g. padding=kernel_size // 2"
            )
        pads = []
        for k, d in zip(kernel, dilation):
            span = d * (k - 1)
            if span % 2:
                raise ValueError(
                    f"{where}: padding='same' needs an odd kernel size (kernel {kernel}, dilation "
                    f"{dilation}) so both sides get the same padding; use an odd kernel_size"
                )
            pads.append(span // 2)
        return tuple(pads)
    ph, pw = pair(padding, "padding", where)
    if ph < 0 or pw < 0:
        raise ValueError(f"{where}: padding must be >= 0, got {padding!r}")
    return ph, pw


def output_size(size, kernel, stride, padding, dilation=1):
    """floor((size + 2*padding - dilation*(kernel-1) - 1) / stride) + 1: windows that fit (PyTorch's rule)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def dropped(size, kernel, stride, padding, dilation=1):
    """How many rows (or columns) at the end of the padded input no window reads."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) % stride


def check_window(where, x_shape, kernel, stride, padding, dilation=(1, 1), error=ValueError, op="kernel"):
    """The output size (H_out, W_out) of a sliding window over an NCHW input, floored as in PyTorch.

    Raises ``error`` (a ShapeError from the layers) naming ``where``, the shapes and a fix when
    the window is larger than the padded input.
    """
    H, W = x_shape[2], x_shape[3]
    outs = []
    for axis, size, k, s, p, d in zip(("height", "width"), (H, W), kernel, stride, padding, dilation):
        span = d * (k - 1) + 1
        if span > size + 2 * p:
            hint = ""
            if axis == "width" and x_shape[3] in (1, 3, 4) and x_shape[1] > x_shape[3]:
                hint = (
                    f" The input looks channels-last (NHWC, {x_shape[3]} channels); dllab uses NCHW: "
                    "convert with x.transpose(0, 3, 1, 2)."
                )
            raise error(
                f"{where}: the {op} ({span} wide along the {axis}, {op} {kernel}"
                + (f", dilation {dilation}" if op == "kernel" else "")
                + f") is larger than the padded input: {axis} {size} + 2*{p} padding = "
                f"{size + 2 * p}, input shape {tuple(x_shape)}. Use a smaller {op}, "
                + ("more padding (e.g. padding='same'), " if op == "kernel" else "")
                + f"or remove a pooling layer before this one (the input is too small).{hint}"
            )
        outs.append(output_size(size, k, s, p, d))
    return tuple(outs)


def check_conv_input(where, x_shape, w_shape, error=ValueError):
    """Rank and channel checks for conv2d, with hints for the usual mix-ups."""
    if len(x_shape) != 4:
        if len(x_shape) == 3:
            hint = "For a batch of grayscale images (N, H, W) add the channel axis: x[:, None]."
        elif len(x_shape) == 2:
            hint = "Flat images (N, H*W) must be reshaped first, e.g. x.reshape(-1, 1, 28, 28)."
        else:
            hint = "Images are (batch, channels, height, width)."
        raise error(f"{where} expects a 4-D NCHW input (batch, channels, height, width), got shape "
                    f"{tuple(x_shape)}. {hint}")
    if len(w_shape) != 4:
        raise error(f"{where}: weights must be 4-D (C_out, C_in, kH, kW), got shape {tuple(w_shape)}")
    c_in = w_shape[1]
    if x_shape[1] != c_in:
        if x_shape[3] == c_in:
            hint = (f"The input looks channels-last (NHWC: its last axis is {c_in}); dllab uses NCHW: "
                    "convert with x.transpose(0, 3, 1, 2).")
        else:
            hint = ("The layer was built for a different number of channels; check the previous layer "
                    "or build a new layer.")
        raise error(f"{where} expects {c_in} input channels (axis 1 of NCHW) but got input shape "
                    f"{tuple(x_shape)} with {x_shape[1]} channels. {hint}")


# --- layout helpers ---------------------------------------------------------------


def to_chwn(x):
    """x (N, C, H, W) as a C-contiguous (C, H, W, N) array: free when x is already a view of one."""
    return array_module(x).ascontiguousarray(x.transpose(1, 2, 3, 0))


def pad_chwn(x_chwn, ph, pw, value=0.0):
    """Pad H and W of a (C, H, W, N) array by ph, pw on each side with ``value``."""
    if ph == 0 and pw == 0:
        return x_chwn
    xp = array_module(x_chwn)
    C, H, W, N = x_chwn.shape
    out = xp.full((C, H + 2 * ph, W + 2 * pw, N), value, dtype=x_chwn.dtype)
    out[:, ph : ph + H, pw : pw + W] = x_chwn
    return out


def _as_strided(xp, a, shape, strides):
    return xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)


# --- im2col / col2im ----------------------------------------------------------------


def im2col(x, kernel, stride=1, padding=0, dilation=1, out=None):
    """Copy every receptive field of x into a column.

    x: (N, C, H, W) -> cols (C*kH*kW, H_out*W_out*N), written into ``out`` if given (CPU).
    Rows are ordered (c, i, j), like ``W.reshape(C_out, -1)``; columns are ordered
    (y, x, n), batch fastest. One strided view + one copy: no Python loop.
    """
    kh, kw = pair(kernel, "kernel", "im2col")
    sh, sw = pair(stride, "stride", "im2col")
    dh, dw = pair(dilation, "dilation", "im2col")
    ph, pw = resolve_padding(padding, (kh, kw), (sh, sw), (dh, dw), "im2col")
    Ho, Wo = check_window("im2col", x.shape, (kh, kw), (sh, sw), (ph, pw), (dh, dw))
    if is_gpu_array(x):  # one thread per column entry, padding read as zeros (kernels/im2col.cu)
        return kernels.im2col_chwn(to_chwn(x), (kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo))
    xp = array_module(x)
    xc = pad_chwn(to_chwn(x), ph, pw)
    C, N = xc.shape[0], xc.shape[3]
    sC, sH, sW, sN = xc.strides
    # window view (C, kH, kW, H_out, W_out, N): for stride 1 the last two axes of one
    # (c, i, j) row are one contiguous run of W_out*N values in memory
    view = _as_strided(xp, xc, (C, kh, kw, Ho, Wo, N), (sC, dh * sH, dw * sW, sh * sH, sw * sW, sN))
    if out is None:
        return view.reshape(C * kh * kw, Ho * Wo * N)
    out.reshape(view.shape)[...] = view  # the same copy, into memory the caller already has
    return out


def col2im(cols, x_shape, kernel, stride=1, padding=0, dilation=1):
    """The adjoint of im2col: add every column back onto its receptive field.

    cols: (C*kH*kW, H_out*W_out*N) -> (N, C, H, W) (an NCHW view of (C, H, W, N) memory).
    Overlapping fields add up, which is exactly the gradient of im2col. The loop
    runs over the kH*kW kernel offsets only; each step adds a whole strided block
    (all channels, positions and images at once), so no np.add.at is needed.
    """
    N, C, H, W = x_shape
    kh, kw = pair(kernel, "kernel", "col2im")
    sh, sw = pair(stride, "stride", "col2im")
    dh, dw = pair(dilation, "dilation", "col2im")
    ph, pw = resolve_padding(padding, (kh, kw), (sh, sw), (dh, dw), "col2im")
    Ho, Wo = check_window("col2im", x_shape, (kh, kw), (sh, sw), (ph, pw), (dh, dw))
    if is_gpu_array(cols):  # a gather: each image element sums the columns that read it
        gx = kernels.col2im_chwn(cols, (C, H, W, N), (kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo))
        return gx.transpose(3, 0, 1, 2)
    xp = array_module(cols)
    blocks = cols.reshape(C, kh, kw, Ho, Wo, N)
    gx = xp.zeros((C, H + 2 * ph, W + 2 * pw, N), dtype=cols.dtype)
    for i in range(kh):
        y0 = i * dh
        for j in range(kw):
            x0 = j * dw
            gx[:, y0 : y0 + sh * (Ho - 1) + 1 : sh, x0 : x0 + sw * (Wo - 1) + 1 : sw] += blocks[:, i, j]
    return gx[:, ph : ph + H, pw : pw + W].transpose(3, 0, 1, 2)


# --- the op -----------------------------------------------------------------------------


def _column_buffer(rows, columns, dtype):
    """An array of its own for the columns (never a view of x: backward writes over it), a spare one if any."""
    spare = _spare_columns.pop((rows, columns, dtype), None)
    return spare if spare is not None else np.empty((rows, columns), dtype=dtype)


class Conv2d(Function):
    """2-D convolution (cross-correlation, as in every DL library), NCHW.

    x: (N, C_in, H, W), weight: (C_out, C_in, kH, kW), bias: (C_out,) or None
    -> (N, C_out, H_out, W_out).

        out = W2 @ im2col(x) + b           W2 = weight.reshape(C_out, C_in*kH*kW)
        dW  = g2 @ im2col(x).T             g2 = g as (C_out, H_out*W_out*N)
        db  = sum of g over N, H_out, W_out
        dx  = col2im(W2.T @ g2)            (skipped when x needs no gradient, e.g. the input batch)
    """

    def forward(self, x, weight, bias=None, stride=1, padding=0, dilation=1):
        check_conv_input("conv2d", x.shape, weight.shape)
        C_out, _, kh, kw = weight.shape
        self.stride = pair(stride, "stride")
        self.dilation = pair(dilation, "dilation")
        self.padding = resolve_padding(padding, (kh, kw), self.stride, self.dilation)
        if min(self.stride) < 1 or min(self.dilation) < 1:
            raise ValueError(f"conv2d: stride and dilation must be >= 1, got {stride!r} and {dilation!r}")
        Ho, Wo = check_window("conv2d", x.shape, (kh, kw), self.stride, self.padding, self.dilation)
        if bias is not None and bias.shape != (C_out,):
            raise ValueError(f"conv2d: bias must have shape ({C_out},), one per output channel, got {bias.shape}")
        self.weight, self.x_shape, self.has_bias = weight, x.shape, bias is not None
        w2, N = weight.reshape(C_out, -1), x.shape[0]
        per_image = w2.shape[1] * Ho * Wo
        args = ((kh, kw), self.stride, self.padding, self.dilation)
        if is_grad_enabled() or per_image * N <= INFERENCE_COLUMNS:
            buffer = None if is_gpu_array(x) else _column_buffer(w2.shape[1], Ho * Wo * N, x.dtype)
            self.cols = im2col(x, *args, out=buffer)
            out = (w2 @ self.cols).reshape(C_out, Ho, Wo, N)
        else:
            # evaluating a big batch: no backward needs the columns, so build them for a
            # slice of the batch at a time and keep memory bounded
            self.cols = None
            xp = array_module(x)
            out = xp.empty((C_out, Ho, Wo, N), dtype=xp.result_type(x.dtype, weight.dtype))
            step = max(1, INFERENCE_COLUMNS // per_image)
            for start in range(0, N, step):
                part = im2col(x[start : start + step], *args)
                out[..., start : start + step] = (w2 @ part).reshape(C_out, Ho, Wo, -1)
        if bias is not None:
            out += bias[:, None, None, None]
        return out.transpose(3, 0, 1, 2)

    def backward(self, g):
        weight, cols = self.weight, self.cols
        C_out = weight.shape[0]
        g2 = to_chwn(g).reshape(C_out, -1)  # free when g kept this module's (C, H, W, N) order
        # dW = g2 @ cols.T computed as (cols @ g2.T).T: the same sums, ~20% faster in OpenBLAS (LeNet's shapes)
        gw = (cols @ g2.T).T.reshape(weight.shape)
        gb = g2.sum(axis=1) if self.has_bias else None
        gx = None
        on_cpu = not is_gpu_array(cols)
        if self.needs[0]:  # not for the input batch itself
            w2t = weight.reshape(C_out, -1).T
            # dcols has the shape of the columns, which are used up: on the CPU write it over them
            reuse = on_cpu and cols.dtype == array_module(cols).result_type(w2t.dtype, g2.dtype)
            dcols = array_module(cols).matmul(w2t, g2, out=cols if reuse else None)
            gx = col2im(dcols, self.x_shape, weight.shape[2:], self.stride, self.padding, self.dilation)
        self.cols = None  # backward runs once (autograd frees the graph); the buffer goes to the next step
        if on_cpu:
            if len(_spare_columns) >= 8:  # many shapes (varying batch sizes): keep the memory bounded
                _spare_columns.clear()
            _spare_columns[cols.shape + (cols.dtype,)] = cols
        return gx, gw, gb


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D convolution of NCHW images.

    x: (N, C_in, H, W), weight: (C_out, C_in, kH, kW), bias: (C_out,) or None.
    stride, padding, dilation: an int or a pair (height, width); padding may also be
    ``"same"`` or ``"valid"``. Returns (N, C_out, H_out, W_out).

        >>> import numpy as np
        >>> from dllab import Tensor
        >>> x, w = Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 3, 3)))
        >>> conv2d(x, w).data                     # every 3x3 field of ones, summed
        array([[[[9., 9.],
                 [9., 9.]]]])
        >>> conv2d(x, w, padding=1).data[0, 0]    # at the border the field holds zeros
        array([[4., 6., 6., 4.],
               [6., 9., 9., 6.],
               [6., 9., 9., 6.],
               [4., 6., 6., 4.]])
        >>> conv2d(Tensor(np.ones((1, 1, 28, 28))), w, stride=2, padding=1).shape   # floored, as PyTorch
        (1, 1, 14, 14)
    """
    return Conv2d.apply(x, weight, bias, stride=stride, padding=padding, dilation=dilation)


__all__ = [
    "Conv2d",
    "check_conv_input",
    "check_window",
    "col2im",
    "conv2d",
    "dropped",
    "im2col",
    "output_size",
    "pair",
    "resolve_padding",
    "to_chwn",
]
