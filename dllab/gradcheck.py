"""Numerical gradient checking with central differences.

    df/dx_i ~= (f(x + h e_i) - f(x - h e_i)) / 2h

Used by the tests (every op is checked) and by the labs, where attendees check
their own backprop. Run it in float64: float32 rounding swamps the difference.
"""

from __future__ import annotations

import numpy as np

from .autograd import Tensor


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f()`` w.r.t. the array ``x``.

    ``x`` is perturbed in place (and restored), so ``f`` must read it.
    Returns an array of x's shape.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = float(f())
        flat[i] = old - h
        fm = float(f())
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * h)
    return grad


def relative_error(a, b) -> float:
    """max |a - b| / max(|a| + |b|, tiny): scale-free, 0 for identical arrays."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-8)))


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree."""


def gradcheck(fn, inputs, h=1e-6, rtol=1e-5, atol=1e-7, raise_on_fail=True, names=None):
    """Compare the backward pass of ``fn(*inputs)`` with central differences.

    inputs: float64 Tensors (or arrays, wrapped as Tensors with requires_grad).
    fn: returns a Tensor; a non-scalar output is reduced with a fixed random
        weighting so every output element is checked.
    Returns a dict ``name -> max abs difference``; raises :class:`GradcheckError`
    naming the input, the worst element and both values when they disagree.
    """
    tensors = [x if isinstance(x, Tensor) else Tensor(np.asarray(x), requires_grad=True) for x in inputs]
    names = names or [t.name or f"input {i}" for i, t in enumerate(tensors)]
    for name, t in zip(names, tensors):
        if t.dtype != np.float64:
            raise TypeError(
                f"gradcheck: {name} has dtype {t.dtype}; use float64 (x.astype(np.float64)) - "
                "float32 rounding is larger than the differences being measured"
            )
        t.requires_grad = True
        t.grad = None

    out = fn(*tensors)
    weights = np.random.default_rng(1234).standard_normal(out.shape)

    def scalar():
        return float((np.asarray(fn(*tensors).data) * weights).sum())

    (out * Tensor(weights)).sum().backward()

    report = {}
    for name, t in zip(names, tensors):
        analytic = np.zeros(t.shape) if t.grad is None else np.asarray(t.grad, dtype=np.float64)
        numeric = numerical_gradient(scalar, t.data, h)
        diff = np.abs(analytic - numeric)
        report[name] = float(diff.max()) if diff.size else 0.0
        bad = diff > atol + rtol * np.abs(numeric)
        if raise_on_fail and bad.any():
            i = np.unravel_index(int(np.argmax(diff - rtol * np.abs(numeric))), t.shape)
            raise GradcheckError(
                f"gradient of {name} is wrong at index {tuple(int(k) for k in i)}: backward gives "
                f"{analytic[i]:.6g}, central differences give {numeric[i]:.6g} "
                f"(max abs difference {report[name]:.3g} over {int(bad.sum())} of {t.size} elements)"
            )
    return report
