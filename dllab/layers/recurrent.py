"""Recurrent layers: LSTM, GRU and a plain RNN, plus Last.

Each layer runs one op from :mod:`dllab.functional.recurrent` over the whole
sequence. Input: x of shape (batch, time, features); the feature count is taken
from the first input. Output: the last hidden state (batch, hidden), or every
hidden state (batch, time, hidden) with ``return_sequences=True``.

Padded batches (sequences of unequal length, padded at the end): call the layer
with ``(x, lengths)`` - a pair, so it also flows through ``Sequential`` - or
with ``lengths=`` / ``mask=`` keywords::

    >>> import numpy as np
    >>> from dllab import Dense, Dropout
    >>> x, lengths = R.pad_sequences([np.ones((14, 2)), np.ones((9, 2))])  # x (2, 14, 2) padded
    >>> model = LSTM(16) >> Dropout(0.2) >> Dense(1)
    >>> model((x, lengths)).shape
    (2, 1)
    >>> model[0].W_x.shape, model[0].W_h.shape                              # gates i, f, g, o side by side
    ((2, 64), (16, 64))

A layer with ``return_sequences=True`` that was given a pair returns a pair
``(sequence, lengths)``, so recurrent layers stack: ``LSTM(32, return_sequences=True) >> LSTM(16)``.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Parameter, Tensor, as_tensor
from ..functional import recurrent as R
from .init import init_weight, zeros_parameter
from .module import Module, ShapeError, _describe, check_dtype

_PAD_FIX = (
    "pad them to one length and pass the true lengths: "
    "x, lengths = dllab.functional.recurrent.pad_sequences(seqs); layer((x, lengths))"
)


def _orthogonal_blocks(h, blocks):
    """(h, blocks*h): side-by-side random orthogonal matrices, one per gate (keeps h_t's scale)."""
    rng = backend.rng()
    mats = []
    for _ in range(blocks):
        q, r = np.linalg.qr(rng.standard_normal((h, h)))
        mats.append(q * np.sign(np.diag(r)))  # sign fix: uniformly distributed over orthogonal matrices
    return Parameter(backend.to_device(np.concatenate(mats, axis=1).astype(backend.default_dtype())))


class _RecurrentLayer(Module):
    """Shared by LSTM, GRU and RNN: lazy weights, input checks, (x, lengths) pairs."""

    gates = 1
    _lazy_params = ("W_x", "W_h", "b")

    def __init__(self, hidden, return_sequences=False, in_features=None, name=None):
        super().__init__()
        kind = type(self).__name__
        if not isinstance(hidden, (int, np.integer)) or isinstance(hidden, bool) or hidden < 1:
            raise ValueError(f"{kind}: hidden must be a positive integer (the state size), got {hidden!r}")
        self.hidden = int(hidden)
        self.return_sequences = bool(return_sequences)
        self.in_features = None
        self.name = name
        self.W_x = self.W_h = self.b = None
        if in_features is not None:
            self._build(in_features)

    def _build(self, in_features):
        f, h, g = int(in_features), self.hidden, self.gates
        self.in_features = f
        self.W_x = init_weight((f, g * h), f, g * h, "glorot")
        self.W_h = _orthogonal_blocks(h, g)
        self.b = zeros_parameter((g * h,))

    def _after_load(self):
        if self.W_x is None:
            return
        self.in_features = self.W_x.shape[0]
        want = (self.hidden, self.gates * self.hidden)
        if tuple(self.W_h.shape) != want:
            raise ShapeError(
                f"{self!r}: the loaded W_h has shape {tuple(self.W_h.shape)} but this layer needs "
                f"{want}; the weights come from a layer with a different hidden size"
            )

    def __call__(self, x, lengths=None, mask=None, initial_state=None):
        return self.forward(x, lengths=lengths, mask=mask, initial_state=initial_state)

    def forward(self, x, lengths=None, mask=None, initial_state=None):
        x, lengths, mask, paired = self._unpack(x, lengths, mask)
        self._check(x)  # lengths, mask and the initial state are checked by the op
        out = self._run(x, lengths, mask, initial_state)
        if paired and self.return_sequences:
            return out, (lengths if lengths is not None else mask)
        return out

    def _run(self, x, lengths, mask, initial_state):  # pragma: no cover - abstract
        raise NotImplementedError

    # --- input checks -----------------------------------------------------------
    def _unpack(self, x, lengths, mask):
        """Split an (x, lengths) or (x, mask) pair; reject ragged lists with the fix."""
        paired = False
        if isinstance(x, (tuple, list)) and len(x) == 2 and getattr(x[0], "ndim", 0) == 3:
            x, extra = x
            extra = backend.to_numpy(extra.data if isinstance(extra, Tensor) else extra)
            if lengths is not None or mask is not None:
                raise ValueError(f"{self!r}: got lengths twice (in the pair and as a keyword); pass one")
            if extra.ndim == 2:
                mask = extra
            else:
                lengths = extra
            paired = True
        elif isinstance(x, (tuple, list)) or (isinstance(x, np.ndarray) and x.dtype == object):
            sizes = sorted({len(s) for s in x}) if all(hasattr(s, "__len__") for s in x) else []
            if len(sizes) > 1:
                raise ShapeError(
                    f"{self!r} got {len(x)} sequences of unequal length ({sizes[0]} to {sizes[-1]} "
                    f"steps); a batch must be one array (batch, time, features): {_PAD_FIX}"
                )
            x = np.stack([np.asarray(s) for s in x]) if len(x) else np.asarray(x)
        return as_tensor(x), lengths, mask, paired

    def _check(self, x):
        if x.ndim != 3:
            if x.ndim == 2:
                hint = (
                    f"For one feature per step add an axis: x[:, :, None] gives shape "
                    f"{(x.shape[0], x.shape[1], 1)}; for one sequence add a batch axis: x[None]."
                )
            else:
                hint = "Recurrent layers read (batch, time, features)."
            raise ShapeError(f"{self!r} expects inputs of shape (batch, time, features), got {_describe(x)}. {hint}")
        f = x.shape[2]
        if self.W_x is None:
            check_dtype(self, x)
            self._build(f)
        elif f != self.in_features:
            raise ShapeError(
                f"{self!r} expects {self.in_features} features per step (last axis), got {_describe(x)}; "
                f"it was built for inputs (batch, time, {self.in_features}). Select the same feature "
                f"columns as in training, or use a new layer for {f} features."
            )
        if x.dtype != self.W_x.dtype:
            check_dtype(self, x, self.W_x.dtype)

    @staticmethod
    def _initial(state):
        return None if state is None else as_tensor(state)

    def extra_repr(self):
        parts = [str(self.hidden)]
        if self.return_sequences:
            parts.append("return_sequences=True")
        if self.in_features is not None:
            parts.append(f"in_features={self.in_features}")
        if self.name:
            parts.append(f"name={self.name!r}")
        return ", ".join(parts)


class LSTM(_RecurrentLayer):
    """Long short-term memory layer: (N, T, F) -> (N, H), or (N, T, H) with ``return_sequences``.

    Weights: W_x (F, 4H), W_h (H, 4H), b (4H,), gate blocks in the order
    input, forget, cell (g), output - as PyTorch (``weight_ih_l0`` = W_x.T).
    W_x starts Glorot-uniform, W_h orthogonal per gate, b zero except the
    forget gate, which starts at ``forget_bias`` = 1 so that early in training
    the cell keeps its memory and gradients flow back through time.

    ``initial_state``: (h0, c0), each (N, H); zeros by default.
    """

    gates = 4

    def __init__(self, hidden, return_sequences=False, in_features=None, forget_bias=1.0, name=None):
        self.forget_bias = float(forget_bias)
        super().__init__(hidden, return_sequences, in_features, name)

    def _build(self, in_features):
        super()._build(in_features)
        h = self.hidden
        self.b.data[h : 2 * h] = self.forget_bias

    def _run(self, x, lengths, mask, initial_state):
        h0 = c0 = None
        if initial_state is not None:
            if not isinstance(initial_state, (tuple, list)) or len(initial_state) != 2:
                raise ValueError(f"{self!r}: initial_state must be a pair (h0, c0), each (batch, {self.hidden})")
            h0, c0 = self._initial(initial_state[0]), self._initial(initial_state[1])
        return R.lstm(x, self.W_x, self.W_h, self.b, h0, c0, lengths=lengths, mask=mask,
                      return_sequences=self.return_sequences)


class GRU(_RecurrentLayer):
    """Gated recurrent unit layer: (N, T, F) -> (N, H) or (N, T, H).

    Weights: W_x (F, 3H), W_h (H, 3H), b and b_h (3H,), gate blocks reset,
    update, new (r, z, n) - PyTorch's order and formulation (``bias_hh_l0`` = b_h).
    ``initial_state``: h0 (N, H).
    """

    gates = 3
    _lazy_params = ("W_x", "W_h", "b", "b_h")

    def __init__(self, hidden, return_sequences=False, in_features=None, name=None):
        super().__init__(hidden, return_sequences, in_features, name)
        if self.W_x is None:
            self.b_h = None  # created with the other weights on the first call

    def _build(self, in_features):
        super()._build(in_features)
        self.b_h = zeros_parameter((3 * self.hidden,))

    def _run(self, x, lengths, mask, initial_state):
        h0 = self._initial(initial_state)
        return R.gru(x, self.W_x, self.W_h, self.b, self.b_h, h0, lengths=lengths, mask=mask,
                     return_sequences=self.return_sequences)


class RNN(_RecurrentLayer):
    """Plain recurrent layer, h_t = tanh(x_t W_x + h_{t-1} W_h + b): (N, T, F) -> (N, H) or (N, T, H).

    Weights: W_x (F, H), W_h (H, H), b (H,). ``initial_state``: h0 (N, H).
    """

    gates = 1

    def _run(self, x, lengths, mask, initial_state):
        h0 = self._initial(initial_state)
        return R.rnn(x, self.W_x, self.W_h, self.b, h0, lengths=lengths, mask=mask,
                     return_sequences=self.return_sequences)


class Last(Module):
    """Each sequence's output at its last real step: (N, T, H) or ((N, T, H), lengths) -> (N, H).

    Ends a stack of ``return_sequences=True`` layers::

        LSTM(32, return_sequences=True) >> LSTM(32, return_sequences=True) >> Last() >> Dense(1)
    """

    def __init__(self, name=None):
        super().__init__()
        self.name = name

    def forward(self, x):
        lengths = None
        if isinstance(x, (tuple, list)) and len(x) == 2:
            x, lengths = x
            lengths = backend.to_numpy(lengths.data if isinstance(lengths, Tensor) else lengths)
            if lengths.ndim == 2:  # a mask: the position after the last True of each row
                mask = lengths.astype(bool)
                last_true = mask.shape[1] - np.argmax(mask[:, ::-1], axis=1)
                lengths = np.where(mask.any(axis=1), last_true, 0)
        x = as_tensor(x)
        if x.ndim != 3:
            raise ShapeError(f"{self!r} expects sequences (batch, time, features), got {_describe(x)}")
        return R.last(x, lengths)


__all__ = ["GRU", "LSTM", "RNN", "Last"]
