"""Recurrent ops over a whole sequence: ``lstm``, ``gru`` and a plain ``rnn``.

Each op takes a batch of sequences x: (N, T, F) and runs the recurrence over all
T steps inside ONE Function, so backpropagation through time is written out here
instead of being rebuilt from T x (a dozen) tiny autograd ops. What keeps the
per-step Python work small:

* the input projection x_t W_x + b of every step is computed before the loop;
  inside the loop only the recurrent matmul remains;
* the gates sit side by side in the columns of W_x and W_h, so one matmul per
  step produces all their pre-activations;
* backward keeps, per step, only what the recurrence needs (the gradient of the
  gate pre-activations and of the state); dW_x, dW_h, db and dx are computed
  after the loop for all steps at once;
* states are stored transposed, (H, N), so each gate is a contiguous block, and
  the big arrays come from a small pool instead of fresh allocations (see
  ``_Recurrence`` and ``_BufferPool`` in common.py). benchmarks/results/lstm.md has the timings.

One module per part: ``common`` (padding masks, the pool, ``_Recurrence``), ``lstm_sequence``
(``LSTMSequence`` and its NumPy loops; the CUDA ones are in ``dllab/kernels/lstm.py``),
``gru_rnn`` (``GRUSequence``, ``RNNSequence``); this module is the functional interface.

The LSTM's formula, one equation per line, is its reference ``dllab.functional.reference.lstm``
(tests/library/test_reference.py runs the two side by side); GRU and RNN give theirs in their docstrings.

Weight layout (H = hidden size, gate blocks of H columns, left to right):

========  ==============  ==============  ===========================  ==========
op        W_x             W_h             bias                         gate order
========  ==============  ==============  ===========================  ==========
lstm      (F, 4H)         (H, 4H)         b (4H,)                      i, f, g, o
gru       (F, 3H)         (H, 3H)         b (3H,) and b_h (3H,)        r, z, n
rnn       (F, H)          (H, H)          b (H,)                       -
========  ==============  ==============  ===========================  ==========

PyTorch's ``nn.LSTM`` stores the transposes with the same gate order:
``weight_ih_l0`` (4H, F) = W_x.T, ``weight_hh_l0`` (4H, H) = W_h.T and
``bias_ih_l0 + bias_hh_l0`` = b. ``nn.GRU`` likewise (gates r, z, n) with
``bias_ih_l0`` = b and ``bias_hh_l0`` = b_h; ``nn.RNN`` (tanh) as the LSTM.

Padded batches: pass ``lengths`` (N,) or a boolean ``mask`` (N, T). At a padded
step the state is carried through unchanged, so the last state is each
sequence's state at its own last real step; the sequence output is zero there.
"""

from __future__ import annotations

import numpy as np

from ... import backend
from ...autograd import Function, _raw
from ...backend import array_module
from ...errors import ShapeError
from .gru_rnn import GRUSequence, RNNSequence
from .lstm_sequence import LSTMSequence


class Last(Function):
    """out[n] = seq[n, lengths[n] - 1]: each sequence's output at its last real step.

    seq: (N, T, H), lengths: (N,) integers in 1..T -> (N, H).  d/dseq scatters g back.
    """

    def forward(self, seq, lengths):
        xp = array_module(seq)
        self.shape = seq.shape
        self.rows = xp.arange(seq.shape[0])
        self.cols = xp.asarray(lengths) - 1
        return seq[self.rows, self.cols]

    def backward(self, g):
        out = array_module(g).zeros(self.shape, dtype=g.dtype)
        out[self.rows, self.cols] = g
        return out, None


# --- the functional interface ------------------------------------------------


def lstm(x, W_x, W_h, b, h0=None, c0=None, lengths=None, mask=None, return_sequences=False):
    """LSTM over a sequence: x (N, T, F) -> (N, T, H) if ``return_sequences`` else (N, H).

    W_x: (F, 4H), W_h: (H, 4H), b: (4H,), gate blocks i, f, g, o (see :class:`LSTMSequence`).
    ``h0``/``c0``: initial hidden/cell state (N, H), zeros if None. ``lengths`` (N,)
    or ``mask`` (N, T, True at real steps) for padded batches.

        >>> import numpy as np
        >>> from dllab import Tensor
        >>> x, lengths = pad_sequences([np.ones((3, 2)), np.ones((5, 2))])   # (2, 5, 2), lengths [3, 5]
        >>> rng = np.random.default_rng(0)
        >>> W_x, W_h, b = (Tensor(rng.standard_normal(s), dtype=np.float32) for s in ((2, 16), (4, 16), (16,)))
        >>> lstm(Tensor(x), W_x, W_h, b, lengths=lengths).shape                # each sequence's last state
        (2, 4)
        >>> seq = lstm(Tensor(x), W_x, W_h, b, lengths=lengths, return_sequences=True)
        >>> seq.shape, bool((seq.data[0, 3:] == 0).all())                       # zero after length 3
        ((2, 5, 4), True)
    """
    return LSTMSequence.apply(
        x, W_x, W_h, b, h0, c0,
        lengths=_raw(lengths), mask=_raw(mask), return_sequences=return_sequences,
    )  # fmt: skip


def gru(x, W_x, W_h, b, b_h, h0=None, lengths=None, mask=None, return_sequences=False):
    """GRU over a sequence: x (N, T, F) -> (N, T, H) or (N, H).

    W_x: (F, 3H), W_h: (H, 3H), b and b_h: (3H,), gate blocks r, z, n (see :class:`GRUSequence`).
    """
    return GRUSequence.apply(
        x, W_x, W_h, b, b_h, h0,
        lengths=_raw(lengths), mask=_raw(mask), return_sequences=return_sequences,
    )  # fmt: skip


def rnn(x, W_x, W_h, b, h0=None, lengths=None, mask=None, return_sequences=False):
    """Plain tanh RNN over a sequence: x (N, T, F) -> (N, T, H) or (N, H).

    W_x: (F, H), W_h: (H, H), b: (H,).
    """
    return RNNSequence.apply(
        x, W_x, W_h, b, h0,
        lengths=_raw(lengths), mask=_raw(mask), return_sequences=return_sequences,
    )  # fmt: skip


def last(seq, lengths=None):
    """The output at each sequence's last real step: seq (N, T, H) -> (N, H).

    Without ``lengths`` this is ``seq[:, -1]``.
    """
    if lengths is None:
        return seq[:, -1]
    lengths = backend.to_numpy(_raw(lengths))
    n, t_steps = seq.shape[:2]
    if lengths.shape != (n,) or lengths.dtype.kind not in "iu" \
            or (n and (lengths.min() < 1 or lengths.max() > t_steps)):
        raise ShapeError(
            f"last: lengths must be {n} integers in 1..{t_steps}, got shape {lengths.shape} "
            f"dtype {lengths.dtype}" + (f" with values {lengths.min()}..{lengths.max()}" if lengths.size else "")
        )
    return Last.apply(seq, lengths)


def pad_sequences(sequences, length=None, value=0.0, dtype=np.float32):
    """Stack sequences of unequal length into one padded batch.

    sequences: N arrays of shape (T_i, F) (or (T_i,) for one feature).
    Returns (x, lengths): x (N, T, F) padded with ``value`` at the end, T = ``length``
    or the longest T_i; lengths (N,) int64. Feed both to a recurrent layer:
    ``LSTM(16)((x, lengths))``.
    """
    seqs = [np.asarray(backend.to_numpy(_raw(s)), dtype=dtype) for s in sequences]
    seqs = [s[:, None] if s.ndim == 1 else s for s in seqs]
    if not seqs:
        raise ValueError("pad_sequences: no sequences given")
    bad = [i for i, s in enumerate(seqs) if s.ndim != 2 or s.shape[1] != seqs[0].shape[1]]
    if bad:
        raise ShapeError(
            f"pad_sequences: every sequence must be (time, features) with {seqs[0].shape[1:]} features; "
            f"sequence {bad[0]} has shape {seqs[bad[0]].shape}"
        )
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    t_steps = int(lengths.max()) if length is None else int(length)
    if lengths.max() > t_steps:
        raise ValueError(f"pad_sequences: length={t_steps} is shorter than the longest sequence "
                         f"({lengths.max()} steps)")
    x = np.full((len(seqs), t_steps, seqs[0].shape[1]), value, dtype=dtype)
    for k, s in enumerate(seqs):
        x[k, : len(s)] = s
    return x, lengths


__all__ = ["GRUSequence", "LSTMSequence", "RNNSequence", "gru", "last", "lstm", "pad_sequences", "rnn"]
