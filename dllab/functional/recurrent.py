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
  ``_Recurrence`` and ``_BufferPool``). benchmarks/results/lstm.md has the timings.

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

from .. import backend, kernels
from ..autograd import Function, _raw, is_grad_enabled
from ..backend import array_module, is_gpu_array


def _step_masks(name, lengths, mask, n, t_steps, dtype, xp):
    """Masks for a padded batch in the loop's layout, or None when no step has padding.

    Returns (valid, pad, padded, partial): valid (T, 1, N) 1.0/0.0 in ``dtype``,
    pad = 1 - valid, padded (T, 1, N) bool, and partial[t] True where step t has padding.
    """
    if lengths is None and mask is None:
        return None
    if lengths is not None and mask is not None:
        raise ValueError(f"{name}: pass either lengths or mask, not both")
    if lengths is not None:
        lengths = backend.to_numpy(_raw(lengths))
        if lengths.shape != (n,) or lengths.dtype.kind not in "iu":
            raise ValueError(
                f"{name}: lengths must be {n} integers (one per sequence in the batch), got "
                f"shape {lengths.shape} dtype {lengths.dtype}"
            )
        if n and (lengths.min() < 0 or lengths.max() > t_steps):
            raise ValueError(
                f"{name}: lengths must lie in 0..{t_steps} (the padded length), got values from "
                f"{lengths.min()} to {lengths.max()}"
            )
        valid = np.arange(t_steps)[:, None] < lengths[None, :]
    else:
        mask = backend.to_numpy(_raw(mask))
        if mask.shape != (n, t_steps):
            raise ValueError(
                f"{name}: mask must have shape (batch, time) = ({n}, {t_steps}) with True at real "
                f"steps, got shape {mask.shape}"
            )
        valid = mask.astype(bool).T
    partial = [not bool(row.all()) for row in valid]
    if not any(partial):
        return None
    valid_f = xp.asarray(valid[:, None, :], dtype=dtype)
    return valid_f, 1 - valid_f, xp.asarray(~valid[:, None, :]), partial


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
        masks = _step_masks(self.name, lengths, mask, n, t_steps, x.dtype, xp)
        self.valid, self.pad, self.padded, self.partial = masks or (None, None, None, [False] * t_steps)
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
            raise ValueError(f"{name}: x must have shape (batch, time, features), got shape {x.shape}")
        n, t_steps, f = x.shape
        if t_steps < 1:
            raise ValueError(f"{name}: the sequences are empty (shape {x.shape}); give at least one step")
        if W_h.ndim != 2 or W_h.shape[1] != g * W_h.shape[0]:
            raise ValueError(f"{name}: W_h must have shape (H, {g}*H), got {W_h.shape}")
        h = W_h.shape[0]
        if W_x.shape != (f, g * h):
            raise ValueError(
                f"{name}: W_x must have shape (features, {g}*H) = ({f}, {g * h}) for x of shape "
                f"{x.shape}, got {W_x.shape}"
            )
        if b.shape != (g * h,):
            raise ValueError(f"{name}: the bias must have shape ({g * h},), got {b.shape}")
        if h0 is not None and h0.shape != (n, h):
            raise ValueError(f"{name}: the initial state must have shape (batch, H) = ({n}, {h}), got {h0.shape}")
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
        seq = hs[1:] if self.valid is None else hs[1:] * self.valid
        return seq.transpose(2, 0, 1).copy()

    def _grad_out(self, g):
        """Gradient of the sequence output in loop layout (T, H, N) or None, and dL/d(last state) (H, N)."""
        if not self.return_sequences:
            return None, g.T.astype(self.dtype, order="C")
        gt = g.transpose(1, 2, 0)
        gt = gt * self.valid if self.valid is not None else self.xp.ascontiguousarray(gt)
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
    On a GPU one fused CUDA kernel does a step's elementwise work (kernels/lstm.cu).
    """

    gates = 4
    name = "lstm"

    def forward(self, x, W_x, W_h, b, h0=None, c0=None, lengths=None, mask=None, return_sequences=False):
        xw = self._start(x, W_x, W_h, b, h0, lengths, mask, return_sequences)
        if c0 is not None and c0.shape != (x.shape[0], self.H):
            raise ValueError(f"lstm: c0 must have shape (batch, H) = ({x.shape[0]}, {self.H}), got {c0.shape}")
        if is_gpu_array(x):
            return self._forward_gpu(xw, h0, c0)
        xp, H = self.xp, self.H
        n, t_steps, _ = x.shape
        # sigmoid(z) = 1 / (1 + e^-z): the i, f, o rows of xw and W_h are negated once here,
        # so the loop computes e^-z directly (exp is about twice as fast as tanh in NumPy)
        sign = xp.ones((4 * H, 1), dtype=x.dtype)
        sign[: 2 * H] = sign[3 * H :] = -1
        xw *= sign
        W_hs = xp.ascontiguousarray((W_h * sign.T).T)  # (4H, H): the loop's z is W_hs @ h + xw[t]
        sigmoid_rows, cell_rows = (slice(0, 2 * H), slice(3 * H, 4 * H)), slice(2 * H, 3 * H)
        acts = self._buffer(t_steps, 4 * H, n)  # gate activations i, f, g, o per step
        hs = self._states(h0)
        cs = self._states(c0)
        tanh_c = self._buffer(t_steps, H, n)
        z = xp.empty((4 * H, n), dtype=x.dtype)
        ig = xp.empty((H, n), dtype=x.dtype)
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
                if self.partial[t]:  # padded sequences keep their state
                    xp.copyto(c, cs[t], where=self.padded[t])
                    xp.copyto(hs[t + 1], hs[t], where=self.padded[t])
        self.acts, self.hs, self.cs, self.tanh_c, self.has_c0 = acts, hs, cs, tanh_c, c0 is not None
        return self._finish_forward(xw, hs)

    def backward(self, g):
        self._begin_backward()
        if is_gpu_array(self.acts):
            return self._backward_gpu(g)
        xp, H = self.xp, self.H
        n, t_steps, _ = self.shape
        acts, cs, tanh_c = self.acts, self.cs, self.tanh_c
        i, f, gg, o = (acts[:, k * H : (k + 1) * H] for k in range(4))
        # everything the step loop multiplies by, computed for all steps at once
        p = self._buffer(*acts.shape)
        p[:, :H] = gg * i * (1 - i)
        p[:, H : 2 * H] = cs[:-1] * f * (1 - f)
        p[:, 2 * H : 3 * H] = i * (1 - gg * gg)
        p[:, 3 * H :] = tanh_c * o * (1 - o)
        dc_dh = o * (1 - tanh_c * tanh_c)
        p4 = p.reshape(t_steps, 4, H, n)
        dz = self._buffer(*acts.shape)  # dL/d(gate pre-activations), all steps
        dz4 = dz.reshape(t_steps, 4, H, n)
        W_h = self.W_h
        gt, dh = self._grad_out(g)
        dc = xp.zeros_like(dh)
        tmp = xp.empty_like(dh)
        for t in range(t_steps - 1, -1, -1):
            if self.partial[t]:  # padded rows pass their gradient straight to the previous state
                carry_h, carry_c = dh * self.pad[t], dc * self.pad[t]
                dh *= self.valid[t]
                dc *= self.valid[t]
            xp.multiply(dh, dc_dh[t], out=tmp)
            dc += tmp
            xp.multiply(dc, p4[t, :3], out=dz4[t, :3])  # dz_i, dz_f, dz_g: dc times their factors
            xp.multiply(dh, p4[t, 3], out=dz4[t, 3])
            dc *= f[t]
            xp.matmul(W_h, dz[t], out=dh)
            if self.partial[t]:
                dh += carry_h
                dc += carry_c
            if gt is not None and t > 0:
                dh += gt[t - 1]
        dx, dW_x, db = self._input_grads(dz)
        dW_h = self._weight_grad(self.hs, dz)
        self._release()
        dh0 = dh.T.copy() if self.has_h0 else None
        dc0 = dc.T.copy() if self.has_c0 else None
        return dx, dW_x, dW_h, db, dh0, dc0


    # --- the GPU path: cuBLAS for W_h @ h, one fused CUDA kernel for the rest of a step ----------
    # (kernels/lstm.cu; the NumPy loops above are its twin, tests/library/test_kernels.py compares them)

    def _step_valid(self, t):
        """(N,) 1/0 validity of step t for the kernels, or None when no sequence is padded there."""
        return self.valid[t].reshape(-1) if self.partial[t] else None

    def _forward_gpu(self, xw, h0, c0):
        xp, H = self.xp, self.H
        n, t_steps, _ = self.shape
        W_hT = xp.ascontiguousarray(self.W_h.T)  # (4H, H)
        acts = self._buffer(t_steps, 4 * H, n)
        hs, cs = self._states(h0), self._states(c0)
        tanh_c = self._buffer(t_steps, H, n)
        z = xp.empty((4 * H, n), dtype=self.dtype)
        for t in range(t_steps):
            xp.matmul(W_hT, hs[t], out=z)
            z += xw[t]
            kernels.lstm_step_forward(z, cs[t], hs[t], self._step_valid(t), acts[t], cs[t + 1], tanh_c[t],
                                      hs[t + 1])
        self.acts, self.hs, self.cs, self.tanh_c, self.has_c0 = acts, hs, cs, tanh_c, c0 is not None
        return self._finish_forward(xw, hs)

    def _backward_gpu(self, g):
        xp = self.xp
        t_steps = self.shape[1]
        gt, dh = self._grad_out(g)
        dc = xp.zeros_like(dh)
        dc_prev, carry_h = xp.empty_like(dh), xp.empty_like(dh)
        dz = self._buffer(*self.acts.shape)
        for t in range(t_steps - 1, -1, -1):
            valid = self._step_valid(t)
            kernels.lstm_step_backward(dh, dc, self.acts[t], self.cs[t], self.tanh_c[t], valid, dz[t], dc_prev,
                                       carry_h)
            dc, dc_prev = dc_prev, dc
            dh = self.W_h @ dz[t]
            if valid is not None:  # padded sequences pass dh straight to the previous step
                dh += carry_h
            if gt is not None and t > 0:
                dh += gt[t - 1]
        dx, dW_x, db = self._input_grads(dz)
        dW_h = self._weight_grad(self.hs, dz)
        self._release()
        dh0 = dh.T.copy() if self.has_h0 else None
        dc0 = dc.T.copy() if self.has_c0 else None
        return dx, dW_x, dW_h, db, dh0, dc0


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
            raise ValueError(f"gru: b_h must have shape {b.shape} and dtype {b.dtype}, got {b_h.shape} {b_h.dtype}")
        xp, H = self.xp, self.H
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
            if self.partial[t]:
                xp.copyto(hs[t + 1], hs[t], where=self.padded[t])
        self.hw, self.acts, self.hs = hw, acts, hs
        return self._finish_forward(xw, hs)

    def backward(self, g):
        self._begin_backward()
        xp, H = self.xp, self.H
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
            if self.partial[t]:
                carry_h = dh * self.pad[t]
                dh *= self.valid[t]
            d = du[t]
            xp.multiply(dh, q_n[t], out=dn[t])
            xp.multiply(dn[t], q_r[t], out=d[:H])
            xp.multiply(dh, q_z[t], out=d[H : 2 * H])
            xp.multiply(dn[t], r[t], out=d[2 * H :])
            xp.multiply(dh, z[t], out=tmp)
            xp.matmul(W_h, d, out=dh)
            dh += tmp
            if self.partial[t]:
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
        xp = self.xp
        W_hT = xp.ascontiguousarray(W_h.T)
        hs = self._states(h0)
        for t in range(x.shape[1]):
            h = hs[t + 1]
            xp.matmul(W_hT, hs[t], out=h)
            h += xw[t]
            xp.tanh(h, out=h)
            if self.partial[t]:
                xp.copyto(h, hs[t], where=self.padded[t])
        self.hs = hs
        return self._finish_forward(xw, hs)

    def backward(self, g):
        self._begin_backward()
        xp = self.xp
        hs = self.hs
        deriv = 1 - hs[1:] * hs[1:]
        dz = self._buffer(*deriv.shape)
        gt, dh = self._grad_out(g)
        for t in range(self.shape[1] - 1, -1, -1):
            if self.partial[t]:
                carry_h = dh * self.pad[t]
                dh *= self.valid[t]
            xp.multiply(dh, deriv[t], out=dz[t])
            xp.matmul(self.W_h, dz[t], out=dh)
            if self.partial[t]:
                dh += carry_h
            if gt is not None and t > 0:
                dh += gt[t - 1]
        dx, dW_x, db = self._input_grads(dz)
        dW_h = self._weight_grad(hs, dz)
        self._release()
        return dx, dW_x, dW_h, db, (dh.T.copy() if self.has_h0 else None)


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
        raise ValueError(
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
        raise ValueError(
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
