"""The recurrent tests' naive reference: lstm, gru and rnn one small autograd op at a time, with the random
weights, the op's call, the gradients and the lengths-to-mask the tests share."""

import numpy as np

from dllab import functional as F
from dllab.autograd import Tensor
from dllab.functional import recurrent as R

GATES = {"lstm": 4, "gru": 3, "rnn": 1}


# --- a naive reference: one small autograd op at a time ------------------------


def _keep(mask_t, new, old):
    """new where the step is real, old where it is padding (mask_t: (N, 1) 0/1)."""
    return new * mask_t + old * (1.0 - mask_t)


def naive(kind, x, W_x, W_h, b, b_h=None, h0=None, c0=None, mask=None, return_sequences=False):
    """The recurrence unrolled into matmul/sigmoid/tanh ops; mask (N, T) of 0/1 or None."""
    n, t_steps, _ = x.shape
    H = W_h.shape[0]
    zeros = Tensor(np.zeros((n, H), dtype=x.dtype))
    h = h0 if h0 is not None else zeros
    c = c0 if c0 is not None else zeros
    outs = []
    for t in range(t_steps):
        xt = x[:, t, :]
        if kind == "lstm":
            z = xt @ W_x + h @ W_h + b
            i, f = F.sigmoid(z[:, :H]), F.sigmoid(z[:, H : 2 * H])
            g, o = F.tanh(z[:, 2 * H : 3 * H]), F.sigmoid(z[:, 3 * H :])
            c_new = f * c + i * g
            h_new = o * F.tanh(c_new)
        elif kind == "gru":
            a, u = xt @ W_x + b, h @ W_h + b_h
            r = F.sigmoid(a[:, :H] + u[:, :H])
            zg = F.sigmoid(a[:, H : 2 * H] + u[:, H : 2 * H])
            nn = F.tanh(a[:, 2 * H :] + r * u[:, 2 * H :])
            h_new = (1.0 - zg) * nn + zg * h
        else:
            h_new = F.tanh(xt @ W_x + h @ W_h + b)
        if mask is None:
            h = h_new
            if kind == "lstm":
                c = c_new
            outs.append(h)
        else:
            m = Tensor(mask[:, t : t + 1].astype(x.dtype))
            h = _keep(m, h_new, h)
            if kind == "lstm":
                c = _keep(m, c_new, c)
            outs.append(h * m)
    if not return_sequences:
        return h
    return F.concat([o.reshape(n, 1, H) for o in outs], axis=1)


def make(kind, rng, n=3, t=5, f=2, H=4, dtype=np.float64, scale=0.6):
    """Random inputs and weights (as Tensors) for one op."""
    g = GATES[kind]

    def r(*shape):
        return Tensor((rng.standard_normal(shape) * scale).astype(dtype), requires_grad=True)

    args = {"x": r(n, t, f), "W_x": r(f, g * H), "W_h": r(H, g * H), "b": r(g * H)}
    if kind == "gru":
        args["b_h"] = r(g * H)
    return args


def run_op(kind, args, **kw):
    fn = {"lstm": R.lstm, "gru": R.gru, "rnn": R.rnn}[kind]
    return fn(*args.values(), **kw)


def grads(out, inputs, rng):
    for t in inputs:
        t.grad = None
    w = Tensor(rng.standard_normal(out.shape))
    (out * w).sum().backward()
    return [t.grad.copy() for t in inputs]


def lengths_to_mask(lengths, t):
    return (np.arange(t)[None, :] < np.asarray(lengths)[:, None]).astype(np.float64)
