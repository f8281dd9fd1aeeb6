"""CUDA kernels for the GPU path, compiled by CuPy on first use.

The ``.cu`` files beside this one hold the kernels; this module compiles them
lazily (CuPy caches the binaries on disk, so only the very first use on a
machine pays for NVRTC) and wraps each in a small function that takes and
returns CuPy arrays. The functional ops call these wrappers when their inputs
live on the GPU and use their own NumPy code otherwise: that NumPy code is each
kernel's twin, and ``tests/library/test_kernels.py`` checks one against the other.

Matrix products are not here: they go to cuBLAS through ``cupy.matmul``.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np

from .. import backend

HERE = Path(__file__).resolve().parent

# source file -> kernel templates it defines (each instantiated for float and double)
KERNELS = {
    "activations": ["relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward",
                    "tanh_forward", "tanh_backward", "dropout_forward"],
    "softmax_xent": ["softmax_xent_forward", "softmax_xent_backward"],
    "pool": ["max_pool_forward", "max_pool_backward"],
    "im2col": ["im2col_chwn", "col2im_chwn"],
    "lstm": ["lstm_step_forward", "lstm_step_backward"],
}
C_TYPES = {"float32": "float", "float64": "double"}
_SOURCE_OF = {name: src for src, names in KERNELS.items() for name in names}
THREADS = 256


def source_code(source: str) -> str:
    """The full CUDA source of one file, with the shared header inlined."""
    common = (HERE / "common.cuh").read_text()
    return (HERE / f"{source}.cu").read_text().replace('#include "common.cuh"', common)


@functools.cache
def _module(source: str):
    cp = _cupy()
    names = [f"{k}<{t}>" for k in KERNELS[source] for t in C_TYPES.values()]
    return cp.RawModule(code=source_code(source), options=("-std=c++14",), name_expressions=names)


def _cupy():
    if not backend.gpu_available():
        raise backend.DeviceError(f"the GPU kernels need CuPy and a GPU: {backend.gpu_unavailable_reason()}")
    import cupy  # noqa: PLC0415 - only reached when CuPy works

    return cupy


_FUNCTIONS: dict = {}  # (name, dtype) -> compiled function: looked up once, not at every launch


def kernel(name: str, dtype):
    """The compiled kernel ``name`` for ``dtype`` (float32 or float64)."""
    dtype = np.dtype(dtype)
    found = _FUNCTIONS.get((name, dtype.name))
    if found is None:
        if dtype.name not in C_TYPES:
            raise TypeError(f"GPU kernel {name}: float32 or float64 arrays expected, got {dtype}")
        found = _FUNCTIONS[name, dtype.name] = _module(_SOURCE_OF[name]).get_function(
            f"{name}<{C_TYPES[dtype.name]}>")
    return found


def _launch(name, dtype, n, args, shared_mem=0, blocks=None):
    if blocks is None:
        blocks = max(1, min(math.ceil(n / THREADS), 65535 * 4))
    kernel(name, dtype)((blocks,), (THREADS,), args, shared_mem=shared_mem)


def _c(x):
    return _cupy().ascontiguousarray(x)


# --- activations -------------------------------------------------------------------------


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


# --- softmax cross-entropy -------------------------------------------------------------------


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


# --- max pooling -----------------------------------------------------------------------------


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


# --- im2col / col2im ---------------------------------------------------------------------------


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


# --- LSTM step -----------------------------------------------------------------------------------


def lstm_step_forward(z, c_prev, h_prev, valid, acts, c, tanh_c, h):
    """One fused LSTM step in the (4H, N) layout; writes acts, c, tanh_c and h in place."""
    H, N = c_prev.shape
    masked = valid is not None
    _launch("lstm_step_forward", z.dtype, H * N,
            (z, c_prev, h_prev, valid if masked else c_prev, np.int32(masked), acts, c, tanh_c, h,
             np.int32(H), np.int32(N)))


def lstm_step_backward(dh, dc, acts, c_prev, tanh_c, valid, dz, dc_prev, carry_h):
    """Backward of one step: writes dz (4H, N), dc_prev and carry_h (dh passed through padding)."""
    H, N = dh.shape
    masked = valid is not None
    _launch("lstm_step_backward", dh.dtype, H * N,
            (dh, dc, acts, c_prev, tanh_c, valid if masked else dh, np.int32(masked), dz, dc_prev, carry_h,
             np.int32(H), np.int32(N)))


def _i32(*values):
    return tuple(np.int32(v) for v in values)


def self_test() -> list[tuple[str, bool, str]]:
    """Run every kernel once on small random inputs against NumPy; (name, ok, detail) per kernel."""
    from . import selftest  # noqa: PLC0415 - GPU only

    return selftest.run()
