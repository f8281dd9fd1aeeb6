"""The LSTM over a whole sequence: ``LSTMSequence`` and its NumPy step loops.

``lstm_forward_loop`` and ``lstm_backward_loop`` are the NumPy twins of the loops in
``dllab/kernels/lstm.py`` (one fused CUDA kernel per step): both pairs take the same arguments
and return the same things, and ``LSTMSequence`` picks one pair by the device of its input.
"""

from __future__ import annotations

import numpy as np

from ... import kernels
from ...backend import array_module, is_gpu_array
from .common import _check_state, _pool, _Recurrence


class LSTMSequence(_Recurrence):
    """Long short-term memory over a whole sequence (gates i, f, g, o): the fast twin.

    The formula, one line per equation with (N, H) states, is the reference
    ``dllab.functional.reference.lstm`` (``lstm_step_forward`` / ``lstm_step_backward``);
    ``tests/library/test_reference.py`` checks this class against it. The same values are computed here
    in another order:

    * states and gate pre-activations are stored transposed, h: (H, N), z: (4H, N), so that each
      gate is a contiguous block of rows; the recurrent product is W_h^T h;
    * (NumPy) the i, f, o rows of xw (= x_t W_x + b for every step, computed before the loop) and
      of W_h^T are negated once, so the loop's z holds -z for those gates and one ``exp`` gives e^-z:
      sigmoid = 1 / (1 + e^-z) as exp, +1, reciprocal in place (e^-z = inf is right: 1/inf = 0);
    * backward first computes, for all steps at once, the factors each gate's dz is made of,
      p = [g i(1-i), c_{t-1} f(1-f), i (1-g^2), tanh(c_t) o(1-o)] and o (1 - tanh(c_t)^2);
      the step loop is then dc += dh * that, dz_ifg = dc * p_ifg, dz_o = dh * p_o, dc *= f,
      dh = W_h dz; dx, dW_x, dW_h and db are matrix products over all steps after the loop;
    * the big arrays come from a pool (``_BufferPool``) and are written in place (``out=``).

    x: (N, T, F), W_x: (F, 4H), W_h: (H, 4H), b: (4H,), h0, c0: (N, H) or None (zeros)
    -> (N, T, H) all hidden states, or (N, H) the last one.
    On a GPU one fused CUDA kernel does a step's elementwise work (kernels/lstm.cu, kernels/lstm.py).

        >>> import numpy as np
        >>> from dllab import Tensor
        >>> rng = np.random.default_rng(0)
        >>> x, W_x, W_h, b = (Tensor(rng.standard_normal(s), requires_grad=True)
        ...                   for s in ((2, 5, 3), (3, 8), (2, 8), (8,)))
        >>> h = LSTMSequence.apply(x, W_x, W_h, b, return_sequences=True)   # what lstm(...) runs
        >>> h.shape
        (2, 5, 2)
        >>> h.sum().backward(); W_h.grad.shape
        (2, 8)
    """

    gates = 4
    name = "lstm"

    def forward(self, x, W_x, W_h, b, h0=None, c0=None, lengths=None, mask=None, return_sequences=False):
        xw = self._start(x, W_x, W_h, b, h0, lengths, mask, return_sequences)
        _check_state(self.name, "c0", c0, x.shape[0], self.H)
        if is_gpu_array(x):  # cuBLAS for W_h^T h, one fused CUDA kernel for the rest of a step
            self.loops = kernels.lstm_forward_loop, kernels.lstm_backward_loop
        else:
            self.loops = lstm_forward_loop, lstm_backward_loop
        H = self.H
        n, t_steps, _ = x.shape
        self.acts = self._buffer(t_steps, 4 * H, n)  # gate activations i, f, g, o per step
        self.hs, self.cs = self._states(h0), self._states(c0)
        self.tanh_c = self._buffer(t_steps, H, n)
        self.has_c0 = c0 is not None
        self.loops[0](xw, W_h, self.steps, self.acts, self.hs, self.cs, self.tanh_c)
        return self._finish_forward(xw, self.hs)

    def backward(self, g):
        self._begin_backward()
        gt, dh = self._grad_out(g)
        dz = self._buffer(*self.acts.shape)  # dL/d(gate pre-activations), all steps
        dh, dc = self.loops[1](self.W_h, self.steps, self.acts, self.cs, self.tanh_c, gt, dh, dz)
        dx, dW_x, db = self._input_grads(dz)
        dW_h = self._weight_grad(self.hs, dz)
        self._release()
        dh0 = dh.T.copy() if self.has_h0 else None
        dc0 = dc.T.copy() if self.has_c0 else None
        return dx, dW_x, dW_h, db, dh0, dc0


def lstm_forward_loop(xw, W_h, steps, acts, hs, cs, tanh_c):
    """The T steps forward, in the (rows, N) layout; writes acts, hs[1:], cs[1:] and tanh_c in place.

    xw (T, 4H, N): x_t W_x + b of every step (overwritten); W_h (H, 4H); steps: the padding
    (``StepMasks``); acts (T, 4H, N): the gate activations i, f, g, o; hs, cs (T+1, H, N), [0] the
    initial state; tanh_c (T, H, N).
    """
    xp = array_module(xw)
    t_steps, rows, n = xw.shape
    H = rows // 4
    # sigmoid(z) = 1 / (1 + e^-z): the i, f, o rows of xw and W_h are negated once here,
    # so the loop computes e^-z directly (exp is about twice as fast as tanh in NumPy)
    sign = xp.ones((4 * H, 1), dtype=xw.dtype)
    sign[: 2 * H] = sign[3 * H :] = -1
    xw *= sign
    W_hs = xp.ascontiguousarray((W_h * sign.T).T)  # (4H, H): the loop's z is W_hs @ h + xw[t]
    sigmoid_rows, cell_rows = (slice(0, 2 * H), slice(3 * H, 4 * H)), slice(2 * H, 3 * H)
    z = xp.empty((4 * H, n), dtype=xw.dtype)
    ig = xp.empty((H, n), dtype=xw.dtype)
    with np.errstate(over="ignore"):  # see the comment in the loop
        for t in range(t_steps):
            a = acts[t]
            xp.matmul(W_hs, hs[t], out=z)
            z += xw[t]
            for rows in sigmoid_rows:  # e^-z is inf for z < -88: then 1 / (1 + inf) = 0, as it should
                s = a[rows]
                xp.exp(z[rows], out=s)
                s += 1
                xp.reciprocal(s, out=s)
            xp.tanh(z[cell_rows], out=a[cell_rows])
            c = cs[t + 1]
            xp.multiply(a[H : 2 * H], cs[t], out=c)  # f * c_{t-1}
            xp.multiply(a[:H], a[2 * H : 3 * H], out=ig)  # i * g
            c += ig
            xp.tanh(c, out=tanh_c[t])
            xp.multiply(a[3 * H :], tanh_c[t], out=hs[t + 1])
            if steps.partial[t]:  # padded sequences keep their state
                xp.copyto(c, cs[t], where=steps.padded[t])
                xp.copyto(hs[t + 1], hs[t], where=steps.padded[t])


def lstm_backward_loop(W_h, steps, acts, cs, tanh_c, gt, dh, dz):
    """Backpropagation through the T steps; writes dz (T, 4H, N), the gradient of the gate pre-activations.

    gt (T, H, N) or None: the gradient of the sequence output; dh (H, N): of the last state.
    Returns (dh, dc): the gradients of the initial states h0 and c0, (H, N) each.
    """
    xp = array_module(dh)
    t_steps, rows, n = acts.shape
    H = rows // 4
    i, f, gg, o = (acts[:, k * H : (k + 1) * H] for k in range(4))
    # everything the step loop multiplies by, computed for all steps at once
    p = _pool.take(xp, acts.shape, acts.dtype)
    p[:, :H] = gg * i * (1 - i)
    p[:, H : 2 * H] = cs[:-1] * f * (1 - f)
    p[:, 2 * H : 3 * H] = i * (1 - gg * gg)
    p[:, 3 * H :] = tanh_c * o * (1 - o)
    dc_dh = o * (1 - tanh_c * tanh_c)
    p4 = p.reshape(t_steps, 4, H, n)
    dz4 = dz.reshape(t_steps, 4, H, n)
    dc = xp.zeros_like(dh)
    tmp = xp.empty_like(dh)
    for t in range(t_steps - 1, -1, -1):
        if steps.partial[t]:  # padded rows pass their gradient straight to the previous state
            carry_h, carry_c = dh * steps.pad[t], dc * steps.pad[t]
            dh *= steps.valid[t]
            dc *= steps.valid[t]
        xp.multiply(dh, dc_dh[t], out=tmp)
        dc += tmp
        xp.multiply(dc, p4[t, :3], out=dz4[t, :3])  # dz_i, dz_f, dz_g: dc times their factors
        xp.multiply(dh, p4[t, 3], out=dz4[t, 3])
        dc *= f[t]
        xp.matmul(W_h, dz[t], out=dh)
        if steps.partial[t]:
            dh += carry_h
            dc += carry_c
        if gt is not None and t > 0:
            dh += gt[t - 1]
    _pool.give([p])
    return dh, dc
