"""Checks written for one lab each: backpropagation (lab 2), convolution and pooling (lab 3), a
layer that watches how it is called (lab 5)."""

from __future__ import annotations

import numpy as np

from ..autograd import is_grad_enabled
from ..gradcheck import numerical_gradient
from ..layers.core import Module
from .checks import LabCheckError, _arr, _where, call, check_gradient
from .references import (
    _NET_PARAMS,
    _mean_cross_entropy,
    conv2d_reference,
    max_pool_reference,
    net_fixture,
    reference_forward,
)

_DELTA_HINTS = {
    "3": "at the output layer, δ3 = (P − Y) / N, dW3 = A2.T @ δ3, db3 = δ3 summed over the batch (axis 0)",
    "2": "δ2 = (δ3 @ W3.T) * f'(Z2): check that the derivative is taken at Z2 (not A2) and multiplied "
         "elementwise",
    "1": "δ1 = (δ2 @ W2.T) * f'(Z1), dW1 = X.T @ δ1: check the derivative at Z1 and that X (the input) "
         "is used",
}


def check_backprop(backward, act="relu", sizes=(5, 7, 6, 3), batch=4, seed=0):
    """Check ``backward(X, y, params, cache, act) -> grads`` against central differences.

    The cache comes from a correct forward pass, so only ``backward`` is tested. Layers
    are checked from the output back, because a mistake in δ3 spoils every δ below it.
    Returns ``{parameter: max abs difference}``.
    """
    __tracebackhide__ = True
    X, y, params = net_fixture(sizes, batch, seed)
    P, cache = reference_forward(X, params, act)
    grads = call(backward, X, y, {k: v.copy() for k, v in params.items()}, dict(cache, P=P), act,
                 hint="grads must have the shapes of params: dW = (input of the layer).T @ δ, db = δ.sum(axis=0); "
                      "δ3 is (N, classes), δ2 and δ1 have one column per unit of their layer.")
    if grads is None:
        raise LabCheckError("backward returned None: it must return a dict {'W1': dW1, 'b1': db1, ...}")
    missing = [k for k in _NET_PARAMS if k not in grads]
    if missing:
        raise LabCheckError(f"backward must return a dict with the keys {list(_NET_PARAMS)}; "
                            f"missing: {missing}")
    report = {}
    for name in ("W3", "b3", "W2", "b2", "W1", "b1"):
        p = params[name]
        numeric = numerical_gradient(lambda: _mean_cross_entropy(reference_forward(X, params, act)[0], y), p)
        layer = name[1]
        right_above = [k for k in ("W3", "b3", "W2", "b2") if k[1] > layer]  # checked already, and right
        hint = _DELTA_HINTS[layer]
        if right_above:
            hint = f"{', '.join(right_above)} are right, so look at this layer: " + hint
        report[name] = check_gradient(grads[name], numeric, name, batch_size=batch, hint=hint)
    return report


def check_conv2d(out, x, k, name="conv2d_single(x, k)"):
    """Compare a hand-written convolution with the reference and say what kind of mistake it looks like.

    Recognises: a missing return, padding ('same' or 'full' output size), an off-by-one
    output size, a flipped kernel (convolution in the signal-processing sense), a transposed
    result.
    """
    __tracebackhide__ = True
    x, k = np.asarray(x, dtype=np.float64), np.asarray(k, dtype=np.float64)
    (H, W), (kh, kw) = x.shape, k.shape
    want = conv2d_reference(x, k)
    if out is None:
        raise LabCheckError(f"{name} is None: did you forget a `return`?")
    a = _arr(out).astype(np.float64)
    if a.shape != want.shape:
        if a.shape == (H, W):
            why = ("that is the input's size, as with padding. Without padding a kernel only fits where it "
                   "lies wholly inside the input")
        elif a.shape == (H + kh - 1, W + kw - 1):
            why = "that is the 'full' size, with the kernel hanging over the edges; here it stays inside"
        elif a.shape in ((H - kh, W - kw), (H - kh + 2, W - kw + 2)):
            why = "off by one: a kernel of width kw fits at W - kw + 1 positions (columns 0 .. W - kw)"
        else:
            why = "the output has one value per position where the kernel fits inside the input"
        raise LabCheckError(f"{name} should have shape {want.shape} for a {H}x{W} input and a {kh}x{kw} kernel, "
                            f"got {a.shape}: {why}.")
    if np.allclose(a, want):
        return
    if np.allclose(a, conv2d_reference(x, k[::-1, ::-1])):
        raise LabCheckError(f"{name} flips the kernel (that is convolution as in signal processing). Deep-learning "
                            "layers multiply each window by the kernel as it is: out[i, j] = "
                            "sum(x[i:i+kh, j:j+kw] * k).")
    if want.shape[0] == want.shape[1] and np.allclose(a, want.T):
        raise LabCheckError(f"{name} is transposed: out[i, j] belongs to the window that starts at row i and "
                            "column j, x[i:i+kh, j:j+kw].")
    i = _where(np.abs(a - want))
    raise LabCheckError(f"{name} is wrong: at index {i} it is {a[i]:.6g}, expected {want[i]:.6g}, which is "
                        f"sum(x[{i[0]}:{i[0] + kh}, {i[1]}:{i[1] + kw}] * k).")


def check_max_pool(out, x, size, name="max_pool_single(x)"):
    """Compare hand-written max pooling with the reference and say what kind of mistake it looks like.

    Recognises: a missing return, overlapping windows (stride 1), averaging, a transposed result.
    """
    __tracebackhide__ = True
    x = np.asarray(x, dtype=np.float64)
    H, W = x.shape
    want = max_pool_reference(x, size)
    if out is None:
        raise LabCheckError(f"{name} is None: did you forget a `return`?")
    a = _arr(out).astype(np.float64)
    if a.shape != want.shape:
        why = (f"the windows do not overlap: with size {size} the stride is {size} too, so each side "
               f"shrinks by a factor {size}")
        if a.shape == (H - size + 1, W - size + 1):
            why = f"you slid the window one pixel at a time (stride 1); pooling moves it by {size}"
        raise LabCheckError(f"{name} should have shape {want.shape} for a {H}x{W} input, got {a.shape}: {why}.")
    if np.allclose(a, want):
        return
    mean = x.reshape(H // size, size, W // size, size).mean(axis=(1, 3))
    if np.allclose(a, mean):
        raise LabCheckError(f"{name} averages each window; max pooling keeps the largest value of each window "
                            "(.max(), not .mean()).")
    if want.shape[0] == want.shape[1] and np.allclose(a, want.T):
        raise LabCheckError(f"{name} is transposed: out[i, j] is the maximum of rows {size}*i .. {size}*i+{size - 1} "
                            f"and columns {size}*j .. {size}*j+{size - 1}.")
    i = _where(np.abs(a - want))
    r, c = i[0] * size, i[1] * size
    raise LabCheckError(f"{name} is wrong: at index {i} it is {a[i]:.6g}, expected {want[i]:.6g}, the maximum of "
                        f"x[{r}:{r + size}, {c}:{c + size}].")


# --- a layer that watches how it is called (lab 5) --------------------------------------------


class ProbeLayer(Module):
    """A layer that passes its input through unchanged and records how it was called.

    ``calls`` holds one ``(batch size, gradients enabled, training mode)`` per call. Put it
    in a Sequential to check how a function runs a model (in batches? under no_grad? in
    evaluation mode?).
    """

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, x):
        self.calls.append((int(x.shape[0]), is_grad_enabled(), self.training))
        return x

    @property
    def batch_sizes(self):
        return [n for n, _, _ in self.calls]
