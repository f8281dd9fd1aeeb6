"""The fully connected layer and the parameter-free layers around it: Dense, Dropout, Flatten.

These are the layers of an MLP (lab 2); the convolutional ones are in ``conv``, the recurrent
ones in ``recurrent``, and what all of them share (Module, Sequential, Activation) in ``module``.
Layers infer their input size on the first call, so a model is written without repeating sizes:

    >>> import numpy as np
    >>> from dllab import relu
    >>> model = Dense(400, activation=relu) >> Dense(400, activation=relu) >> Dense(10)
    >>> model(np.zeros((32, 784), np.float32)).shape
    (32, 10)
    >>> model[0].W.shape, model.num_parameters()
    ((784, 400), 478410)
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..autograd import as_tensor
from .init import init_method, init_weight, zeros_parameter
from .module import Module, ShapeError, _activation_name, _describe, check_dtype, resolve_activation


class Dense(Module):
    """Fully connected layer: y = activation(x @ W + b).

    x: (N, in_features) -> (N, units).  W: (in_features, units), b: (units,).
    ``in_features`` is taken from the first input unless given. ``init`` is
    "glorot" (default) or "he" (default when the activation is relu/leaky_relu).
    """

    def __init__(self, units, activation=None, in_features=None, bias=True, init=None, name=None):
        super().__init__()
        if not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = resolve_activation(activation, "Dense")
        self.init = init_method(init, self.activation, "Dense")
        self.in_features = in_features
        self.use_bias = bias
        self.name = name
        self._lazy_params = ("W", "b") if bias else ("W",)
        self.W = None
        self.b = None
        if in_features is not None:
            self._build(in_features)

    def _build(self, in_features):
        self.in_features = int(in_features)
        self.W = init_weight((self.in_features, self.units), self.in_features, self.units, self.init)
        if self.use_bias:
            self.b = zeros_parameter((self.units,))

    def _after_load(self):
        if self.W is not None:
            if self.W.ndim != 2 or self.W.shape[1] != self.units:
                raise ShapeError(f"{self!r}: loaded W of shape {tuple(self.W.shape)} has {self.W.shape[-1]} "
                                 f"units, but this layer has {self.units}; the weights come from a layer of "
                                 f"another width: build the model with Dense({self.W.shape[-1]}) or load "
                                 "weights saved from this model")
            self.in_features = self.W.shape[0]

    def forward(self, x):
        x = as_tensor(x)
        if x.ndim != 2:
            hint = (
                "Add Flatten() before it (images are (N, C, H, W))."
                if x.ndim > 2
                else "Inputs are batches: reshape a single example with x.reshape(1, -1)."
            )
            raise ShapeError(f"{self!r} expects inputs of shape (batch, features), got {_describe(x)}. {hint}")
        if self.W is None:
            check_dtype(self, x)
            self._build(x.shape[1])
        elif x.shape[1] != self.in_features:
            raise ShapeError(
                f"{self!r} expects {self.in_features} input features (last axis), got {_describe(x)}; "
                "the layer was built for a different input size"
            )
        if x.dtype != self.W.dtype:
            check_dtype(self, x, self.W.dtype)
        y = F.linear(x, self.W, self.b)
        return self.activation(y) if self.activation is not None else y

    def extra_repr(self):
        parts = [str(self.units)]
        if self.activation is not None:
            parts.append(f"activation={_activation_name(self.activation)}")
        if self.in_features is not None:
            parts.append(f"in_features={self.in_features}")
        if self.name:
            parts.append(f"name={self.name!r}")
        return ", ".join(parts)


class Dropout(Module):
    """Zeroes each activation with probability ``p`` while training; identity in eval mode."""

    def __init__(self, p=0.5, name=None):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p is the drop probability and must be in [0, 1), got {p}")
        self.p = p
        self.name = name

    def forward(self, x):
        return F.dropout(as_tensor(x), self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1*d2*...)."""

    def forward(self, x):
        x = as_tensor(x)
        return x if x.ndim == 2 else F.flatten(x)


__all__ = ["Dense", "Dropout", "Flatten"]
