"""The GRU and the plain RNN over a whole sequence: ``GRUSequence`` and ``RNNSequence``.

Each writes its formula in its docstring and its step loops in NumPy; on a GPU the same loops
run on CuPy (no fused kernel: a step is a handful of elementwise calls). What they share with
the LSTM (checks, the input projection, padding, outputs, input gradients) is ``_Recurrence``.

    >>> import numpy as np
    >>> from dllab import Tensor
    >>> rng = np.random.default_rng(0)
    >>> x = Tensor(rng.standard_normal((2, 5, 3)))                          # N = 2, T = 5, F = 3
    >>> W_x, W_h, b, b_h = (Tensor(rng.standard_normal(s)) for s in ((3, 6), (2, 6), (6,), (6,)))
    >>> GRUSequence.apply(x, W_x, W_h, b, b_h).shape        # what gru(...) runs; H = 2: the last state
    (2, 2)
    >>> RNNSequence.apply(x, W_x[:, :2], W_h[:, :2], b[:2], return_sequences=True).shape  # every state
    (2, 5, 2)
"""

from __future__ import annotations

from ...errors import ShapeError
from .common import _Recurrence


class GRUSequence(_Recurrence):
    """Gated recurrent unit over a whole sequence (gates r, z, n; PyTorch's formulation).

    Per step, with a = x_t W_x + b and u = h_{t-1} W_h + b_h split into blocks r, z, n::

        r = sigmoid(a_r + u_r)   z = sigmoid(a_z + u_z)
        n = tanh(a_n + r * u_n)
        h_t = (1 - z) * n + z * h_{t-1}

    x: (N, T, F), W_x: (F, 3H), W_h: (H, 3H), b, b_h: (3H,), h0: (N, H) or None
    -> (N, T, H) or (N, H).  b_h is separate from b because u_n is gated by r.

    Backward, from dh = dL/dh_t::

        dn~ = dh * (1-z) * (1-n^2)       dz~ = dh * (h_{t-1} - n) * z(1-z)
        dr~ = dn~ * u_n * r(1-r)
        da = [dr~, dz~, dn~]   du = [dr~, dz~, dn~ * r]
        dh_{t-1} = du W_h^T + dh * z
    """

    gates = 3
    name = "gru"

    def forward(self, x, W_x, W_h, b, b_h, h0=None, lengths=None, mask=None, return_sequences=False):
        xw = self._start(x, W_x, W_h, b, h0, lengths, mask, return_sequences)
        if b_h.shape != b.shape or b_h.dtype != b.dtype:
            raise ShapeError(f"gru: b_h must have shape {b.shape} and dtype {b.dtype}, got {b_h.shape} {b_h.dtype}")
        xp, H, steps = self.xp, self.H, self.steps
        n, t_steps, _ = x.shape
        W_hT = xp.ascontiguousarray(W_h.T)  # (3H, H): u = W_h^T h in the (H, N) layout
        b_h = b_h.reshape(-1, 1)
        hw = self._buffer(t_steps, 3 * H, n)  # u per step (u_n is needed later)
        acts = self._buffer(t_steps, 3 * H, n)  # r, z, n per step
        hs = self._states(h0)
        tmp = xp.empty((H, n), dtype=x.dtype)
        for t in range(t_steps):
            u, a = hw[t], acts[t]
            xp.matmul(W_hT, hs[t], out=u)
            u += b_h
            rz, nn = a[: 2 * H], a[2 * H :]
            xp.add(xw[t, : 2 * H], u[: 2 * H], out=rz)
            rz *= 0.5  # sigmoid(v) = tanh(v/2)/2 + 1/2
            xp.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            xp.multiply(a[:H], u[2 * H :], out=nn)
            nn += xw[t, 2 * H :]
            xp.tanh(nn, out=nn)
            xp.subtract(hs[t], nn, out=tmp)  # h_t = n + z * (h_{t-1} - n)
            tmp *= a[H : 2 * H]
            xp.add(nn, tmp, out=hs[t + 1])
            if steps.partial[t]:
                xp.copyto(hs[t + 1], hs[t], where=steps.padded[t])
        self.hw, self.acts, self.hs = hw, acts, hs
        return self._finish_forward(xw, hs)

    def backward(self, g):
        self._begin_backward()
        xp, H, steps = self.xp, self.H, self.steps
        n, t_steps, _ = self.shape
        acts, hs = self.acts, self.hs
        r, z, nn = (acts[:, k * H : (k + 1) * H] for k in range(3))
        q_n = (1 - z) * (1 - nn * nn)
        q_z = (hs[:-1] - nn) * z * (1 - z)
        q_r = self.hw[:, 2 * H :] * r * (1 - r)
        du = self._buffer(*acts.shape)  # dL/du, u = h W_h + b_h, all steps
        dn = self._buffer(t_steps, H, n)  # dL/d(n pre-activation)
        W_h = self.W_h
        gt, dh = self._grad_out(g)
        tmp = xp.empty_like(dh)
        for t in range(t_steps - 1, -1, -1):
            if steps.partial[t]:
                carry_h = dh * steps.pad[t]
                dh *= steps.valid[t]
            d = du[t]
            xp.multiply(dh, q_n[t], out=dn[t])
            xp.multiply(dn[t], q_r[t], out=d[:H])
            xp.multiply(dh, q_z[t], out=d[H : 2 * H])
            xp.multiply(dn[t], r[t], out=d[2 * H :])
            xp.multiply(dh, z[t], out=tmp)
            xp.matmul(W_h, d, out=dh)
            dh += tmp
            if steps.partial[t]:
                dh += carry_h
            if gt is not None and t > 0:
                dh += gt[t - 1]
        dW_h = self._weight_grad(hs, du)
        db_h = du.sum(axis=(0, 2))
        du[:, 2 * H :] = dn  # the input side sees dn~ where the recurrent side saw dn~ * r
        dx, dW_x, db = self._input_grads(du)
        self._release()
        return dx, dW_x, dW_h, db, db_h, (dh.T.copy() if self.has_h0 else None)


class RNNSequence(_Recurrence):
    """Plain (Elman) recurrent layer over a whole sequence.

        h_t = tanh(x_t W_x + h_{t-1} W_h + b)

    x: (N, T, F), W_x: (F, H), W_h: (H, H), b: (H,), h0: (N, H) or None -> (N, T, H) or (N, H).
    Backward: dz = dh * (1 - h_t^2), dh_{t-1} = dz W_h^T.
    """

    gates = 1
    name = "rnn"

    def forward(self, x, W_x, W_h, b, h0=None, lengths=None, mask=None, return_sequences=False):
        xw = self._start(x, W_x, W_h, b, h0, lengths, mask, return_sequences)
        xp, steps = self.xp, self.steps
        W_hT = xp.ascontiguousarray(W_h.T)
        hs = self._states(h0)
        for t in range(x.shape[1]):
            h = hs[t + 1]
            xp.matmul(W_hT, hs[t], out=h)
            h += xw[t]
            xp.tanh(h, out=h)
            if steps.partial[t]:
                xp.copyto(h, hs[t], where=steps.padded[t])
        self.hs = hs
        return self._finish_forward(xw, hs)

    def backward(self, g):
        self._begin_backward()
        xp, steps = self.xp, self.steps
        hs = self.hs
        deriv = 1 - hs[1:] * hs[1:]
        dz = self._buffer(*deriv.shape)
        gt, dh = self._grad_out(g)
        for t in range(self.shape[1] - 1, -1, -1):
            if steps.partial[t]:
                carry_h = dh * steps.pad[t]
                dh *= steps.valid[t]
            xp.multiply(dh, deriv[t], out=dz[t])
            xp.matmul(self.W_h, dz[t], out=dh)
            if steps.partial[t]:
                dh += carry_h
            if gt is not None and t > 0:
                dh += gt[t - 1]
        dx, dW_x, db = self._input_grads(dz)
        dW_h = self._weight_grad(hs, dz)
        self._release()
        return dx, dW_x, dW_h, db, (dh.T.copy() if self.has_h0 else None)
