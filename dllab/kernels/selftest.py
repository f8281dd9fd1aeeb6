"""Each GPU kernel against its NumPy twin, on random inputs (used by `dllab doctor` and the tests).

Every check takes CuPy, a NumPy generator and a shape case, runs the kernel and the
NumPy code the CPU path uses, and returns the largest absolute difference.
"""

from __future__ import annotations

import time

import numpy as np

from .. import kernels
from ..functional import activations as A
from ..functional import conv as C
from ..functional import losses as L
from ..functional import pool as P

TOL = {np.float32: 1e-4, np.float64: 1e-10}


def _diff(gpu, ref) -> float:
    return float(np.max(np.abs(gpu.get().astype(np.float64) - np.asarray(ref, dtype=np.float64)))) if ref.size else 0.0


def check_activation(cp, rng, kind="relu", shape=(3, 7), dtype=np.float32):
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    op = {"relu": A.ReLU, "sigmoid": A.Sigmoid, "tanh": A.Tanh}[kind]()
    y_ref = op.forward(x)
    dx_ref = op.backward(g)
    y = kernels.activation_forward(kind, cp.asarray(x))
    dx = kernels.activation_backward(kind, cp.asarray(g), y)
    return max(_diff(y, y_ref), _diff(dx, dx_ref))


def check_dropout(cp, rng, shape=(64, 33), dtype=np.float32, p=0.3):
    x = rng.standard_normal(shape).astype(dtype)
    y, mask = kernels.dropout_forward(cp.asarray(x), 1 - p)
    m = mask.get()
    values_ok = np.isin(m, np.array([0, 1 / (1 - p)], dtype=dtype)).all()
    rate = float((m == 0).mean())
    # the share of dropped units is only meaningful for a few hundred of them
    if not values_ok or (m.size >= 200 and abs(rate - p) > 0.1):
        return float("inf")
    return _diff(y, x * m)


def check_softmax_xent(cp, rng, n=5, classes=10, dtype=np.float32):
    x = (rng.standard_normal((n, classes)) * 5).astype(dtype)
    labels = rng.integers(0, classes, n)
    op = L.CrossEntropy()
    loss_ref = op.forward(x, labels)
    grad_ref, _ = op.backward(np.asarray(1.0, dtype=dtype))
    loss, probs = kernels.softmax_xent_forward(cp.asarray(x), cp.asarray(labels))
    grad = kernels.softmax_xent_backward(probs, cp.asarray(labels), cp.asarray(1.0, dtype=dtype))
    return max(_diff(loss, np.asarray(loss_ref)), _diff(grad, grad_ref))


def check_max_pool(cp, rng, shape=(2, 3, 7, 6), kernel=(3, 2), stride=(2, 2), padding=(1, 0),
                   dtype=np.float32):
    x = rng.standard_normal(shape).astype(dtype)
    op = P.MaxPool2d()
    y_ref = op.forward(x, kernel, stride, padding)
    g = rng.standard_normal(y_ref.shape).astype(dtype)
    dx_ref = op.backward(g)
    y, argmax = kernels.max_pool_forward(cp.asarray(x), kernel, stride, padding, y_ref.shape[2:])
    dx = kernels.max_pool_backward(cp.asarray(g), argmax, x.shape, kernel, stride, padding)
    return max(_diff(y, y_ref), _diff(dx, dx_ref))


def check_im2col(cp, rng, shape=(3, 2, 7, 5), kernel=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2),
                 dtype=np.float32):
    x = rng.standard_normal(shape).astype(dtype)
    cols_ref = C.im2col(x, kernel, stride, padding, dilation)
    Ho, Wo = C.check_window("im2col", x.shape, kernel, stride, padding, dilation)
    g = rng.standard_normal(cols_ref.shape).astype(dtype)
    dx_ref = C.col2im(g, x.shape, kernel, stride, padding, dilation)
    x_chwn = cp.asarray(np.ascontiguousarray(x.transpose(1, 2, 3, 0)))
    cols = kernels.im2col_chwn(x_chwn, kernel, stride, padding, dilation, (Ho, Wo))
    N, Cn, H, W = x.shape
    dx = kernels.col2im_chwn(cp.asarray(g), (Cn, H, W, N), kernel, stride, padding, dilation, (Ho, Wo))
    return max(_diff(cols, cols_ref), _diff(dx.transpose(3, 0, 1, 2), dx_ref))


def fused_lstm_step_numpy(z, c_prev, h_prev, valid):
    """The NumPy twin of one fused LSTM step, (4H, N) layout."""
    H = c_prev.shape[0]
    sig = lambda v: np.tanh(v * 0.5) * 0.5 + 0.5  # noqa: E731
    i, f, g, o = sig(z[:H]), sig(z[H:2 * H]), np.tanh(z[2 * H:3 * H]), sig(z[3 * H:])
    c = f * c_prev + i * g
    tc = np.tanh(c)
    h = o * tc
    if valid is not None:
        c = np.where(valid > 0, c, c_prev)
        h = np.where(valid > 0, h, h_prev)
    return np.concatenate([i, f, g, o]), c, tc, h


def lstm_step_backward_reference(dh, dc, acts, c_prev, tc, valid):
    H = dh.shape[0]
    i, f, g, o = acts[:H], acts[H:2 * H], acts[2 * H:3 * H], acts[3 * H:]
    live = np.ones_like(dh) if valid is None else np.broadcast_to(valid > 0, dh.shape).astype(dh.dtype)
    dh_l, dc_l = dh * live, dc * live
    dct = dc_l + dh_l * o * (1 - tc * tc)
    dz = np.concatenate([dct * g * i * (1 - i), dct * c_prev * f * (1 - f), dct * i * (1 - g * g),
                         dh_l * tc * o * (1 - o)])
    return dz, dct * f * live + dc * (1 - live), dh * (1 - live)


def check_lstm_step(cp, rng, H=5, N=3, masked=True, dtype=np.float32):
    z = rng.standard_normal((4 * H, N)).astype(dtype)
    c_prev, h_prev = (rng.standard_normal((H, N)).astype(dtype) for _ in range(2))
    valid = (np.arange(N) % 2 == 0).astype(dtype) if masked else None
    acts_r, c_r, tc_r, h_r = fused_lstm_step_numpy(z, c_prev, h_prev, valid)
    d = cp.asarray
    acts, c, tc, h = cp.empty((4 * H, N), dtype), *(cp.empty((H, N), dtype) for _ in range(3))
    kernels.lstm_step_forward(d(z), d(c_prev), d(h_prev), None if valid is None else d(valid), acts, c, tc, h)
    err = max(_diff(acts, acts_r), _diff(c, c_r), _diff(tc, tc_r), _diff(h, h_r))
    dh, dc = (rng.standard_normal((H, N)).astype(dtype) for _ in range(2))
    dz_r, dcp_r, carry_r = lstm_step_backward_reference(dh, dc, acts_r, c_prev, tc_r, valid)
    dz, dcp, carry = cp.empty((4 * H, N), dtype), cp.empty((H, N), dtype), cp.empty((H, N), dtype)
    kernels.lstm_step_backward(d(dh), d(dc), acts, d(c_prev), tc, None if valid is None else d(valid), dz, dcp, carry)
    return max(err, _diff(dz, dz_r), _diff(dcp, dcp_r), _diff(carry, carry_r))


CHECKS = {
    "relu": lambda cp, rng: check_activation(cp, rng, "relu"),
    "sigmoid": lambda cp, rng: check_activation(cp, rng, "sigmoid"),
    "tanh": lambda cp, rng: check_activation(cp, rng, "tanh"),
    "dropout": check_dropout,
    "softmax_xent": check_softmax_xent,
    "max_pool": check_max_pool,
    "im2col/col2im": check_im2col,
    "lstm_step": check_lstm_step,
}


def run():
    """Every check once, float32: [(name, ok, detail)]."""
    import cupy as cp  # noqa: PLC0415 - only called when a GPU is usable

    rng = np.random.default_rng(0)
    results = []
    for name, check in CHECKS.items():
        t0 = time.perf_counter()
        try:
            err = check(cp, rng)
            ok = err <= TOL[np.float32]
            detail = f"max |GPU - NumPy| = {err:.2e} ({(time.perf_counter() - t0) * 1e3:.0f} ms)"
        except Exception as exc:  # a kernel that fails to compile or launch is reported, not fatal
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        results.append((name, ok, detail))
    return results
