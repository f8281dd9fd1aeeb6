"""Initial weights: how a layer's parameters start, before any training.

Every layer with weights (Dense, Conv2D, the recurrent layers) draws them here, from the
backend's seeded generator (``dllab.seed``), in the backend's default dtype and on its device:

    glorot  U(-sqrt(6/(fan_in+fan_out)), +sqrt(6/(fan_in+fan_out)))   keeps the variance through tanh/sigmoid
    he      N(0, 2/fan_in)                                            keeps it through relu, which halves it

    >>> w = init_weight((784, 400), 784, 400, "glorot")
    >>> w.shape, w.dtype, bool(abs(w.data).max() <= (6 / (784 + 400)) ** 0.5)
    ((784, 400), dtype('float32'), True)
    >>> zeros_parameter((3,), 1.0).data
    array([1., 1., 1.], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Parameter
from .module import _activation_name

_INITS = ("glorot", "he", "normal", "zeros")


def init_method(init, activation, where):
    """The ``init`` a layer was given, checked, or the default for its activation: "he" before relu and
    leaky_relu (which zero half of their inputs, halving the variance), "glorot" before anything else."""
    act = _activation_name(activation) if activation else ""
    method = init or ("he" if act in ("relu", "leaky_relu") else "glorot")
    if method not in _INITS:
        raise ValueError(f"{where}: unknown init {method!r}: use one of {', '.join(_INITS)}")
    return method


def init_weight(shape, fan_in, fan_out, method):
    """Draw initial weights.  glorot: U(+-sqrt(6/(fan_in+fan_out))); he: N(0, 2/fan_in)."""
    rng = backend.rng()
    if method == "glorot":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, size=shape)
    elif method == "he":
        w = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
    elif method == "normal":
        w = rng.standard_normal(shape) * 0.01
    elif method == "zeros":
        w = np.zeros(shape)
    else:
        raise ValueError(f"unknown init {method!r}: use one of {', '.join(_INITS)}")
    return Parameter(backend.to_device(w.astype(backend.default_dtype())))


def zeros_parameter(shape, value=0.0):
    """A Parameter filled with ``value`` (biases start at 0, batch-norm's scale at 1)."""
    return Parameter(backend.to_device(np.full(shape, value, dtype=backend.default_dtype())))


__all__ = ["init_method", "init_weight", "zeros_parameter"]
