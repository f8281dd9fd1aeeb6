"""The LSTM, read against its formula: one step forward, one step back, a loop over the sequence.

The fast twin, ``dllab.functional.recurrent.lstm``, computes the same values with its
states transposed to (H, N), the i, f, o rows of the weights negated so that one ``exp``
gives e^-z, every step's factors of the backward pass computed before its loop, and
arrays reused between calls. Here every array is fresh and (N, H), as on the slide.
"""

from __future__ import annotations

import numpy as np

from ...autograd import Function, _raw
from ...backend import array_module, to_numpy


def sigmoid(z):
    """1 / (1 + e^-z); e^-z overflows to inf for z < -709 in float64, and 1 / inf = 0 is right."""
    with np.errstate(over="ignore"):
        return 1 / (1 + array_module(z).exp(-z))


def lstm_step_forward(x_t, h_prev, c_prev, W_x, W_h, b):
    """One LSTM step.

    x_t: (N, F), h_prev, c_prev: (N, H), W_x: (F, 4H), W_h: (H, 4H), b: (4H,)
    -> h: (N, H), c: (N, H), cache (what the backward step needs).

        z   = x_t W_x + h_{t-1} W_h + b        (N, 4H): the four gates' pre-activations
        i   = sigmoid(z[:, 0:H])               input gate
        f   = sigmoid(z[:, H:2H])              forget gate
        g   = tanh(z[:, 2H:3H])                candidate cell
        o   = sigmoid(z[:, 3H:4H])             output gate
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)
    """
    xp = array_module(x_t)
    H = h_prev.shape[1]
    z = x_t @ W_x + h_prev @ W_h + b
    i = sigmoid(z[:, 0:H])
    f = sigmoid(z[:, H : 2 * H])
    g = xp.tanh(z[:, 2 * H : 3 * H])
    o = sigmoid(z[:, 3 * H : 4 * H])
    c = f * c_prev + i * g
    h = o * xp.tanh(c)
    return h, c, (x_t, h_prev, c_prev, i, f, g, o, c)


def lstm_step_backward(dh, dc, cache, W_x, W_h):
    """The backward of one LSTM step: the chain rule through the lines of ``lstm_step_forward``.

    dh, dc: (N, H), the gradients of h_t and c_t from the loss and from step t+1
    -> dx_t (N, F), dh_prev (N, H), dc_prev (N, H), dW_x (F, 4H), dW_h (H, 4H), db (4H,).

        dc      = dc + dh * o * (1 - tanh(c_t)^2)     c_t reaches the loss through h_t too
        do      = dh * tanh(c_t)
        di      = dc * g
        df      = dc * c_{t-1}
        dg      = dc * i
        dz      = [di * i(1 - i), df * f(1 - f), dg * (1 - g^2), do * o(1 - o)]    (N, 4H)
        dx_t    = dz W_x^T
        dh_{t-1} = dz W_h^T
        dc_{t-1} = dc * f
        dW_x    = x_t^T dz,   dW_h = h_{t-1}^T dz,   db = sum over n of dz
    """
    xp = array_module(dh)
    x_t, h_prev, c_prev, i, f, g, o, c = cache
    tanh_c = xp.tanh(c)
    dc = dc + dh * o * (1 - tanh_c**2)
    do = dh * tanh_c
    di = dc * g
    df = dc * c_prev
    dg = dc * i
    dz = xp.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], axis=1)
    dx_t = dz @ W_x.T
    dh_prev = dz @ W_h.T
    dc_prev = dc * f
    return dx_t, dh_prev, dc_prev, x_t.T @ dz, h_prev.T @ dz, dz.sum(axis=0)


def step_mask(lengths, mask, n, t_steps, dtype, xp):
    """(T, N, 1) with 1 at real steps and 0 at padding, from lengths (N,) or a mask (N, T); None if neither."""
    if lengths is None and mask is None:
        return None
    if mask is None:
        mask = np.arange(t_steps)[None, :] < to_numpy(lengths)[:, None]
    return xp.asarray(to_numpy(mask).astype(bool).T[:, :, None], dtype=dtype)


class LSTMReference(Function):
    """Long short-term memory over a whole sequence, one step at a time (gates i, f, g, o).

    x: (N, T, F), W_x: (F, 4H), W_h: (H, 4H), b: (4H,), h0, c0: (N, H) or None (zeros)
    -> (N, T, H) every h_t if ``return_sequences``, else (N, H) the last one.

    Forward: h_t, c_t = lstm_step_forward(x_t, h_{t-1}, c_{t-1}) for t = 1..T.
    Padded steps (m_t = 0 where ``lengths`` or ``mask`` says so) keep the state and output zero:

        h_t = m_t * h_t + (1 - m_t) * h_{t-1},   c_t likewise,   out_t = m_t * h_t

    Backward through time, t = T..1, starting from dh = dL/dh_T (and dc = 0):

        dh += dL/dout_t * m_t                 the sequence output's own gradient at step t
        dx_t, dh_prev, dc_prev, dW_x_t, dW_h_t, db_t = lstm_step_backward(m_t * dh, m_t * dc)
        dh = dh_prev + (1 - m_t) * dh,   dc = dc_prev + (1 - m_t) * dc
        dW_x, dW_h, db: the sums over t of dW_x_t, dW_h_t, db_t
    """

    def forward(self, x, W_x, W_h, b, h0=None, c0=None, lengths=None, mask=None, return_sequences=False):
        xp = array_module(x)
        N, T, _ = x.shape
        H = W_h.shape[0]
        h = xp.zeros((N, H), dtype=x.dtype) if h0 is None else h0
        c = xp.zeros((N, H), dtype=x.dtype) if c0 is None else c0
        m = step_mask(lengths, mask, N, T, x.dtype, xp)  # (T, N, 1) or None
        caches, outputs = [], []
        for t in range(T):
            h_new, c_new, cache = lstm_step_forward(x[:, t], h, c, W_x, W_h, b)
            caches.append(cache)
            if m is not None:
                h_new = m[t] * h_new + (1 - m[t]) * h
                c_new = m[t] * c_new + (1 - m[t]) * c
            h, c = h_new, c_new
            outputs.append(h if m is None else m[t] * h)
        self.caches, self.m, self.W_x, self.W_h = caches, m, W_x, W_h
        self.return_sequences, self.x_shape = return_sequences, x.shape
        self.has_h0, self.has_c0 = h0 is not None, c0 is not None
        return xp.stack(outputs, axis=1) if return_sequences else h

    def backward(self, grad):
        xp, m = array_module(grad), self.m
        T = self.x_shape[1]
        dx = xp.zeros(self.x_shape, dtype=grad.dtype)
        dW_x, dW_h = xp.zeros_like(self.W_x), xp.zeros_like(self.W_h)
        db = xp.zeros(self.W_h.shape[1], dtype=grad.dtype)
        dh = xp.zeros_like(grad[:, 0]) if self.return_sequences else grad
        dc = xp.zeros_like(dh)
        for t in reversed(range(T)):
            if self.return_sequences:
                dh = dh + (grad[:, t] if m is None else m[t] * grad[:, t])
            keep = 1 if m is None else m[t]  # 1 at a real step, 0 at padding
            dx_t, dh_prev, dc_prev, dW_x_t, dW_h_t, db_t = lstm_step_backward(
                keep * dh, keep * dc, self.caches[t], self.W_x, self.W_h)
            dx[:, t] = dx_t
            dW_x += dW_x_t
            dW_h += dW_h_t
            db += db_t
            dh = dh_prev + (1 - keep) * dh
            dc = dc_prev + (1 - keep) * dc
        return dx, dW_x, dW_h, db, dh if self.has_h0 else None, dc if self.has_c0 else None


def lstm(x, W_x, W_h, b, h0=None, c0=None, lengths=None, mask=None, return_sequences=False):
    """The reference LSTM: same arguments and result as ``dllab.functional.lstm``.

        >>> import numpy as np
        >>> from dllab import Tensor
        >>> x = Tensor(np.ones((2, 3, 1)))                    # 2 sequences, 3 steps, 1 feature
        >>> W_x, W_h, b = Tensor(np.zeros((1, 8))), Tensor(np.zeros((2, 8))), Tensor(np.zeros(8))
        >>> lstm(x, W_x, W_h, b).data                         # all gates 1/2, g = 0: the state stays 0
        array([[0., 0.],
               [0., 0.]])
    """
    return LSTMReference.apply(x, W_x, W_h, b, h0, c0, lengths=_raw(lengths), mask=_raw(mask),
                               return_sequences=return_sequences)


__all__ = ["LSTMReference", "lstm", "lstm_step_backward", "lstm_step_forward", "sigmoid"]
