"""What the recurrent ops share: padding masks, a pool of scratch arrays, and ``_Recurrence``.

``_Recurrence`` is the base of ``LSTMSequence``, ``GRUSequence`` and ``RNNSequence``: it checks
the shapes, projects every step's input before the loop, and turns the loop's states back into
the op's output; on the way back it computes dx, dW_x, db and dW_h for all steps at once. Inside
the loops states are stored transposed, (H, N), and scratch arrays come from ``_pool``.

A padded batch becomes ``StepMasks`` in the loops' layout (T, 1, N)::

    >>> import numpy as np
    >>> steps = _step_masks("rnn", np.array([2, 3]), None, 2, 3, np.float32, np)
    >>> steps.valid[:, 0]                      # (T, N): the first sequence ends after step 2
    array([[1., 1.],
           [1., 1.],
           [0., 1.]], dtype=float32)
    >>> steps.partial                          # which steps have padding in some sequence
    [False, False, True]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import backend
from ...autograd import Function, _raw, is_grad_enabled
from ...backend import array_module
from ...errors import ShapeError


class StepMasks(NamedTuple):
    """Where a padded batch has real steps, in the loops' layout; the arrays are None without padding."""

    valid: object  # (T, 1, N): 1.0 at real steps, 0.0 at padding, in the dtype of x
    pad: object  # (T, 1, N): 1 - valid
    padded: object  # (T, 1, N) bool: True at padding
    partial: list  # partial[t]: True where step t has padding in some sequence


def _step_masks(name, lengths, mask, n, t_steps, dtype, xp) -> StepMasks:
    """The masks of a padded batch in the loops' layout (see ``StepMasks``); lengths (N,) or mask (N, T).

    The one check of ``lengths`` and ``mask``, for the ops and the recurrent layers alike.
    """
    no_padding = StepMasks(None, None, None, [False] * t_steps)
    if lengths is None and mask is None:
        return no_padding
    if lengths is not None and mask is not None:
        raise ValueError(f"{name}: pass either lengths or mask, not both")
    if lengths is not None:
        lengths = backend.to_numpy(_raw(lengths))
        if lengths.shape != (n,) or lengths.dtype.kind not in "iu":
            raise ShapeError(
                f"{name}: lengths must be {n} integers, one per sequence of x (batch {n}), got shape "
                f"{lengths.shape} dtype {lengths.dtype}; pad_sequences(seqs) returns x and its lengths"
            )
        if n and (lengths.min() < 0 or lengths.max() > t_steps):
            raise ShapeError(
                f"{name}: lengths must lie in 0..{t_steps} (x is padded to {t_steps} steps), got values "
                f"from {lengths.min()} to {lengths.max()}; a length counts the real steps of its sequence"
            )
        valid = np.arange(t_steps)[:, None] < lengths[None, :]
    else:
        mask = backend.to_numpy(_raw(mask))
        if mask.shape != (n, t_steps):
            raise ShapeError(
                f"{name}: mask must have shape (batch, time) = ({n}, {t_steps}), the first two axes of x, "
                f"with True at real steps; got shape {mask.shape}"
            )
        valid = mask.astype(bool).T
    partial = [not bool(row.all()) for row in valid]
    if not any(partial):
        return no_padding
    valid_f = xp.asarray(valid[:, None, :], dtype=dtype)
    return StepMasks(valid_f, 1 - valid_f, xp.asarray(~valid[:, None, :]), partial)


def _check_state(name, label, state, n, h):
    """An initial state (h0 or c0) is None or (batch, hidden)."""
    if state is not None and state.shape != (n, h):
        raise ShapeError(
            f"{name}: the initial state {label} must have shape (batch, hidden) = ({n}, {h}), got {state.shape}"
        )


class _BufferPool:
    """Scratch arrays kept between calls, by shape and dtype.

    Backprop through time needs a few arrays of T*N*4H numbers per call. Allocated
    afresh each time, they cost page faults on first touch (the C allocator hands
    large freed blocks back to the operating system): for a small batch that took
    as long as the arithmetic. ``keep`` bounds how many arrays of one shape wait here.
    """

    def __init__(self, keep=8):
        self.keep = keep
        self.free = {}

    def take(self, xp, shape, dtype):
        stack = self.free.get((xp.__name__, shape, dtype))
        return stack.pop() if stack else xp.empty(shape, dtype=dtype)

    def give(self, arrays):
        for a in arrays:
            stack = self.free.setdefault((array_module(a).__name__, a.shape, a.dtype), [])
            if len(stack) < self.keep:
                stack.append(a)


_pool = _BufferPool()


class _Recurrence(Function):
    """What lstm, gru and rnn share: checks, the input projection, masks, outputs, input gradients.

    Inside the loops a state is stored transposed, (H, N), and the gate
    pre-activations of a step as (gates*H, N): then every gate is a contiguous
    block of rows, so the elementwise work of a step runs on contiguous memory
    (noticeably faster than strided column blocks for small H). The matmuls
    become W_h^T h (forward) and W_h dz (backward). Subclasses set ``gates``
    (blocks of H columns in W_x and W_h) and write the step loops.
    """

    gates = 1
    name = "rnn"

    def _start(self, x, W_x, W_h, b, h0, lengths, mask, return_sequences):
        """Check shapes, project every step's input at once; returns xw (T, gates*H, N)."""
        self._check(x, W_x, W_h, b, h0)
        xp = array_module(x)
        n, t_steps, _ = x.shape
        self.xp, self.shape, self.H, self.dtype = xp, x.shape, W_h.shape[0], x.dtype
        self.W_x, self.W_h = W_x, W_h
        self.return_sequences = bool(return_sequences)
        self.has_h0 = h0 is not None
        self._taken, self._released = [], False
        self.steps = _step_masks(self.name, lengths, mask, n, t_steps, x.dtype, xp)
        # time-major copy of x; every matmul below stays small (one step's worth): on a
        # small batch a multi-threaded BLAS call costs more in thread wake-ups than it saves
        self.xt = xp.ascontiguousarray(x.transpose(1, 0, 2))  # (T, N, F)
        xw = _pool.take(xp, (t_steps, W_x.shape[1], n), x.dtype)  # all steps' inputs, (T, gates*H, N)
        xp.matmul(W_x.T, self.xt.transpose(0, 2, 1), out=xw)
        xw += b.reshape(-1, 1)
        return xw

    def _buffer(self, *shape):
        """A scratch array from the pool; it goes back when backward is done."""
        a = _pool.take(self.xp, shape, self.dtype)
        self._taken.append(a)
        return a

    def _finish_forward(self, xw, hs):
        """Return xw to the pool (and everything when no graph is recorded); the output."""
        _pool.give([xw])
        out = self._output(hs)
        if not is_grad_enabled():
            self._release()
        return out

    def _begin_backward(self):
        if self._released:
            raise RuntimeError(
                f"{self.name}: backward ran twice through the same forward pass; its saved arrays "
                "have been reused. Run the forward pass again before a second backward."
            )

    def _release(self):
        _pool.give(self._taken)
        self._taken, self._released = [], True

    def _check(self, x, W_x, W_h, b, h0):
        name, g = self.name, self.gates
        if x.ndim != 3:
            raise ShapeError(f"{name}: x must have shape (batch, time, features), got shape {x.shape}")
        n, t_steps, f = x.shape
        if t_steps < 1:
            raise ShapeError(f"{name}: the sequences are empty (x has shape {x.shape}); give at least one step")
        if W_h.ndim != 2 or W_h.shape[1] != g * W_h.shape[0]:
            raise ShapeError(f"{name}: W_h must have shape (H, {g}*H), got {W_h.shape}")
        h = W_h.shape[0]
        if W_x.shape != (f, g * h):
            raise ShapeError(
                f"{name}: W_x must have shape (features, {g}*H) = ({f}, {g * h}) for x of shape "
                f"{x.shape}, got {W_x.shape}"
            )
        if b.shape != (g * h,):
            raise ShapeError(f"{name}: the bias must have shape ({g * h},), got {b.shape}")
        _check_state(name, "h0", h0, n, h)
        for label, w in (("W_x", W_x), ("W_h", W_h), ("b", b)):
            if w.dtype != x.dtype:
                raise TypeError(f"{name}: {label} is {w.dtype} but x is {x.dtype}; use one dtype for both")

    def _states(self, h0):
        """(T+1, H, N) buffer for the (transposed) states; [0] holds the initial state."""
        n, t_steps, _ = self.shape
        states = self._buffer(t_steps + 1, self.H, n)
        states[0] = 0 if h0 is None else h0.T
        return states

    def _output(self, hs):
        """All hidden states (N, T, H), zero at padded steps, or the last state (N, H)."""
        if not self.return_sequences:
            return hs[-1].T.copy()  # a copy: hs goes back to the pool
        valid = self.steps.valid
        seq = hs[1:] if valid is None else hs[1:] * valid
        return seq.transpose(2, 0, 1).copy()

    def _grad_out(self, g):
        """Gradient of the sequence output in loop layout (T, H, N) or None, and dL/d(last state) (H, N)."""
        if not self.return_sequences:
            return None, g.T.astype(self.dtype, order="C")
        gt, valid = g.transpose(1, 2, 0), self.steps.valid
        gt = gt * valid if valid is not None else self.xp.ascontiguousarray(gt)
        return gt, gt[-1].copy()

    def _input_grads(self, dz):
        """dx, dW_x, db from dz (T, gates*H, N), the gradient of the projected inputs."""
        xp = self.xp
        dz_rows = dz.transpose(0, 2, 1)  # (T, N, gates*H) view
        dx = xp.matmul(dz_rows, self.W_x.T).transpose(1, 0, 2)
        dW_x = xp.matmul(self.xt.transpose(0, 2, 1), dz_rows).sum(axis=0)
        db = dz.sum(axis=0).sum(axis=1)  # two passes: much faster than sum(axis=(0, 2)) here
        return xp.ascontiguousarray(dx), dW_x, db

    def _weight_grad(self, hs, dz):
        """dW_h = sum over steps of h_{t-1}^T dz_t  (hs: (T+1, H, N), dz: (T, gates*H, N))."""
        return self.xp.matmul(hs[:-1], dz.transpose(0, 2, 1)).sum(axis=0)

