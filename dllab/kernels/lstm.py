"""The LSTM on the GPU: one fused CUDA kernel per step (lstm.cu) and the loops over the steps.

``lstm_forward_loop`` and ``lstm_backward_loop`` take the same arguments and return the same
things as their NumPy twins in ``dllab/functional/recurrent/lstm_sequence.py``; ``LSTMSequence``
picks one pair by the device of its input. The recurrent product W_h^T h of each step goes to
cuBLAS (``cupy.matmul``), the rest of the step's elementwise work to one kernel launch.
``tests/library/test_kernels.py`` checks the step kernels against NumPy and a whole LSTM
training step on the GPU against the CPU.
"""

from __future__ import annotations

import numpy as np

from .compile import _cupy, _launch


def lstm_step_forward(z, c_prev, h_prev, valid, acts, c, tanh_c, h):
    """One fused LSTM step in the (4H, N) layout; writes acts, c, tanh_c and h in place."""
    H, N = c_prev.shape
    masked = valid is not None
    _launch("lstm_step_forward", z.dtype, H * N,
            (z, c_prev, h_prev, valid if masked else c_prev, np.int32(masked), acts, c, tanh_c, h,
             np.int32(H), np.int32(N)))


def lstm_step_backward(dh, dc, acts, c_prev, tanh_c, valid, dz, dc_prev, carry_h):
    """Backward of one step: writes dz (4H, N), dc_prev and carry_h (dh passed through padding)."""
    H, N = dh.shape
    masked = valid is not None
    _launch("lstm_step_backward", dh.dtype, H * N,
            (dh, dc, acts, c_prev, tanh_c, valid if masked else dh, np.int32(masked), dz, dc_prev, carry_h,
             np.int32(H), np.int32(N)))


def _step_valid(steps, t):
    """(N,) 1/0 validity of step t for the kernels, or None when no sequence is padded there."""
    return steps.valid[t].reshape(-1) if steps.partial[t] else None


def lstm_forward_loop(xw, W_h, steps, acts, hs, cs, tanh_c):
    """The T steps forward, in the (rows, N) layout; writes acts, hs[1:], cs[1:] and tanh_c in place.

    xw (T, 4H, N): x_t W_x + b of every step; W_h (H, 4H); steps: the padding (``StepMasks``);
    acts (T, 4H, N): the gate activations i, f, g, o; hs, cs (T+1, H, N), [0] the initial state;
    tanh_c (T, H, N).
    """
    xp = _cupy()
    t_steps, rows, n = xw.shape
    W_hT = xp.ascontiguousarray(W_h.T)  # (4H, H)
    z = xp.empty((rows, n), dtype=xw.dtype)
    for t in range(t_steps):
        xp.matmul(W_hT, hs[t], out=z)
        z += xw[t]
        lstm_step_forward(z, cs[t], hs[t], _step_valid(steps, t), acts[t], cs[t + 1], tanh_c[t], hs[t + 1])


def lstm_backward_loop(W_h, steps, acts, cs, tanh_c, gt, dh, dz):
    """Backpropagation through the T steps; writes dz (T, 4H, N), the gradient of the gate pre-activations.

    gt (T, H, N) or None: the gradient of the sequence output; dh (H, N): of the last state.
    Returns (dh, dc): the gradients of the initial states h0 and c0, (H, N) each.
    """
    xp = _cupy()
    dc = xp.zeros_like(dh)
    dc_prev, carry_h = xp.empty_like(dh), xp.empty_like(dh)
    for t in range(len(acts) - 1, -1, -1):
        valid = _step_valid(steps, t)
        lstm_step_backward(dh, dc, acts[t], cs[t], tanh_c[t], valid, dz[t], dc_prev, carry_h)
        dc, dc_prev = dc_prev, dc
        dh = W_h @ dz[t]
        if valid is not None:  # padded sequences pass dh straight to the previous step
            dh += carry_h
        if gt is not None and t > 0:
            dh += gt[t - 1]
    return dh, dc
