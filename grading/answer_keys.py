"""The answer keys: what the labs' tests compare an attendee's answers with, and the usual mistakes
made on purpose so that a test can name the mistake it sees.

They stay on the grading side. The judge (``judge.py``) installs this module into ``dllab.labs``
(``labs.use_answer_keys``), so that every test computes its expected values here, for any input.
The notebooks attendees get carry only the values of the visible tests' own inputs, as data
(``dllab/labs/stored_answers.npz``, written by ``python answer_keys.py``): calling ``labs.<key>``
on other inputs in an attendee's kernel finds nothing, and an answer cell that calls one is graded 0.

    python answer_keys.py          # record the visible tests' expected values into dllab/labs/
"""

from __future__ import annotations

import sys

import numpy as np

from dllab.autograd import _raw
from dllab.functional.activations import softmax_array
from dllab.labs.lab2_mlp import activation
from dllab.labs.lab3_cnn import area_resize_matrix


def _logreg_step_gradients(X, y, W, b):
    """Loss and gradients of softmax regression, by the library's automatic differentiation."""
    from dllab.autograd import Tensor
    from dllab.functional import cross_entropy

    W, b = Tensor(np.array(W, dtype=np.float64), requires_grad=True), Tensor(np.array(b, dtype=np.float64),
                                                                               requires_grad=True)
    loss = cross_entropy(Tensor(np.asarray(X, dtype=np.float64)) @ W + b, np.asarray(y))
    loss.backward()
    return float(loss.item()), np.array(_raw(W.grad)), np.array(_raw(b.grad))


def reference_sgd_epoch(X, y, W, b, lr, batch_size, rng, *, gradients=_logreg_step_gradients,
                        full_batch=False, step_b=True, sign=-1.0):
    """Lab 1's epoch of minibatch SGD for softmax regression, as the lab describes it: (W, b, losses).

    The keyword arguments make the usual mistakes on purpose (see :func:`sgd_epoch_mistakes`).
    """
    losses = []
    order = rng.permutation(len(X))
    for i in range(0, len(X), batch_size):
        idx = order[i:i + batch_size]
        Xb, yb = (X, y) if full_batch else (X[idx], y[idx])
        loss, dW, db = gradients(Xb, yb, W, b)
        W = W + sign * lr * dW
        if step_b:
            b = b + sign * lr * db
        losses.append(loss)
    return W, b, losses


def sgd_epoch_mistakes(X, y, W, b, lr, batch_size, rng):
    """What an epoch gives with each usual mistake, by the mistake's description (for sgd_epoch's test)."""
    state = rng.bit_generator.state
    out = {}
    for why, options in [
        ("it steps up the gradient (W + lr * dW): the loss then grows. Step against it, W = W - lr * dW",
         {"sign": 1.0}),
        ("each step uses the gradient of all the images, not of its batch: call logreg_gradients on X[idx], "
         "y[idx]", {"full_batch": True}),
        ("b never moves: each step also needs b = b - lr * db", {"step_b": False}),
    ]:
        rng.bit_generator.state = state
        out[why] = reference_sgd_epoch(X, y, W, b, lr, batch_size, rng, **options)
    rng.bit_generator.state = state
    return out


def optimizer_steps(optimizer, w0, grads, **options):
    """The weights after each step of a dllab optimizer (class ``optimizer``, with ``options``) that
    starts from ``w0`` and is given ``grads`` one after the other: a list of arrays (float64)."""
    from dllab.autograd import Tensor

    w = Tensor(np.array(w0, dtype=np.float64), requires_grad=True)
    opt = optimizer([w], **options)
    out = []
    for g in grads:
        w.grad = np.array(g, dtype=np.float64)
        opt.step()
        out.append(np.array(_raw(w), dtype=np.float64))
    return out


def _rule_steps(rule, w, grads, lr, momentum=0.0, weight_decay=0.0, l1=0.0, rho=0.9, betas=(0.9, 0.999),
                eps=1e-8, *, keep_state=True, l2_sign=1.0, l1_of=np.sign, no_sqrt=False, no_correction=False):
    """Lab 2's update rules with one mistake switched on at a time (see optimizer_mistakes)."""
    b1, b2 = betas
    state, out = {}, []
    for g in grads:
        if not keep_state:
            state = {}
        if rule == "sgd_step":
            g = g + l2_sign * weight_decay * w + l1 * l1_of(w)
            state["v"] = momentum * state.get("v", 0.0) + g
            w = w - lr * state["v"]
        elif rule == "rmsprop_step":
            state["s"] = rho * state.get("s", 0.0) + (1 - rho) * g ** 2
            w = w - lr * g / ((state["s"] if no_sqrt else np.sqrt(state["s"])) + eps)
        else:
            t = state["t"] = state.get("t", 0) + 1
            state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
            state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g ** 2
            m, v = state["m"], state["v"]
            if not no_correction:
                m, v = m / (1 - b1 ** t), v / (1 - b2 ** t)
            w = w - lr * m / (np.sqrt(v) + eps)
        out.append(w)
    return out


_RULE_MISTAKES = {
    "sgd_step": [("the velocity is not kept between steps: store it, state['v'] = v, and start from "
                  "state.get('v', 0.0)", {"keep_state": False}),
                 ("L2 must pull the weights towards 0: add + weight_decay * w to the gradient",
                  {"l2_sign": -1.0}),
                 ("L1 adds l1 * np.sign(w) to the gradient (the slope of |w|), not l1 * w",
                  {"l1_of": lambda w: w})],
    "rmsprop_step": [("s is not kept between steps: store it in state['s']", {"keep_state": False}),
                     ("divide by the square root of s: g / (np.sqrt(s) + eps)", {"no_sqrt": True})],
    "adam_step": [("m, v and t are not kept between steps: store them in state", {"keep_state": False}),
                  ("the running means need their bias correction, m / (1 - beta1**t) and v / (1 - beta2**t), "
                   "with t counting the steps from 1", {"no_correction": True})],
}


def optimizer_mistakes(rule, w0, grads, **options):
    """What lab 2's update rule ``rule`` ("sgd_step", "rmsprop_step" or "adam_step") gives after
    ``grads`` with each usual mistake, by the mistake's description; a mistake that changes nothing
    for these options (no momentum, no L1, ...) is left out."""
    right = _rule_steps(rule, np.array(w0, dtype=np.float64), grads, **options)[-1]
    out = {}
    for why, mistake in _RULE_MISTAKES[rule]:
        wrong = _rule_steps(rule, np.array(w0, dtype=np.float64), grads, **options, **mistake)
        if not np.allclose(wrong[-1], right, rtol=1e-4, atol=1e-8):
            out[why] = wrong
    return out


def reference_forward(X, params, act="relu"):
    """The 2-hidden-layer forward pass with the cache layout the lab uses."""
    f = activation(act)
    cache, A = {"X": X}, X
    for k in ("1", "2", "3"):
        cache["Z" + k] = A @ params["W" + k] + params["b" + k]
        if k != "3":  # no activation on the class scores: softmax follows
            cache["A" + k] = A = f(cache["Z" + k])
    return softmax_array(cache["Z3"]), cache


def conv2d_reference(x, k):
    """Valid cross-correlation of one image x (H, W) with one kernel k (kh, kw): (H-kh+1, W-kw+1)."""
    from numpy.lib.stride_tricks import sliding_window_view

    x, k = np.asarray(x, dtype=np.float64), np.asarray(k, dtype=np.float64)
    return np.einsum("ijkl,kl->ij", sliding_window_view(x, k.shape), k)


def max_pool_reference(x, size):
    """Non-overlapping size x size max pooling of x (H, W), H and W multiples of size."""
    x = np.asarray(x, dtype=np.float64)
    H, W = x.shape
    return x.reshape(H // size, size, W // size, size).max(axis=(1, 3))


def prepare_photo_reference(photo, invert=False, *, crop=True, centre=True, square=True):
    """A photo (h, w) uint8, dark ink on light paper -> (1, 28, 28) float32 in [0, 1], as lab 3 asks.

    Grey levels scaled so that the paper (the median) is 1 and the ink (the 1st percentile) 0,
    clipped to [0, 1]; cropped to the pixels below 0.5; padded with paper (1) to a square, the
    crop in the middle; shrunk to 20 x 20 by area averaging; put into a 28 x 28 page of paper
    so that the ink's centre of mass (mass = 1 - x) is at (13.5, 13.5), the box kept inside;
    ``1 - x`` when ``invert``. ``crop``, ``centre`` and ``square`` False make the usual
    mistakes on purpose (no crop, the 20 x 20 box put in the middle, stretched to a square).
    """
    grey = np.asarray(photo, dtype=np.float64) / 255
    levels = np.percentile(grey, [1, 50])  # ink and paper
    x = np.clip((grey - levels[0]) / (levels[1] - levels[0]), 0, 1)
    if crop:
        inked = x < 0.5
        keep_rows, keep_cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
        x = x[keep_rows[0]:keep_rows[-1] + 1, keep_cols[0]:keep_cols[-1] + 1]
    h, w = x.shape
    if square:
        side = max(h, w)
        page = np.ones((side, side))
        page[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = x
        small = area_resize_matrix(side, 20) @ page @ area_resize_matrix(side, 20).T
    else:
        small = area_resize_matrix(h, 20) @ x @ area_resize_matrix(w, 20).T
    top, left = 4, 4
    if centre:
        ink_mass = 1 - small
        centre_of_mass = [np.average(np.arange(20), weights=ink_mass.sum(axis=a)) for a in (1, 0)]
        top, left = (int(np.clip(np.round(13.5 - c), 0, 8)) for c in centre_of_mass)
    out = np.ones((28, 28))
    out[top:top + 20][:, left:left + 20] = small
    return (1 - out if invert else out).astype(np.float32)[None]


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


_LSTM_STEP_MISTAKES = [
    ("the candidate g went through a sigmoid: g = np.tanh(z[:, 2H:3H]) (between -1 and 1, so the cell can "
     "also be written down); only the gates i, f, o use the sigmoid", {"g": _sigmoid}),
    ("a gate went through tanh: i, f and o use the sigmoid (between 0 and 1, a dimmer), only the candidate g "
     "uses tanh", {"gate": np.tanh}),
    ("the new cell ignores the forget gate: c_new = f * c + i * g (f decides how much of the old cell stays)",
     {"no_forget": True}),
    ("the new cell forgets the old one: c_new = f * c + i * g keeps f * c, the memory carried from step to "
     "step", {"no_old_cell": True}),
    ("h = o * c_new misses the tanh: h_new = o * np.tanh(c_new)", {"no_tanh_h": True}),
    ("the gate blocks are in the wrong order: the columns of z are i, f, g, o (input, forget, candidate, "
     "output), each H wide: i = z[:, :H], f = z[:, H:2H], g = z[:, 2H:3H], o = z[:, 3H:]", {"order": "ifog"}),
    ("the gate blocks are in the wrong order: the columns of z are i, f, g, o (input, forget, candidate, "
     "output), each H wide: i = z[:, :H], f = z[:, H:2H], g = z[:, 2H:3H], o = z[:, 3H:]", {"order": "figo"}),
    ("the recurrent input is missing: z = x_t @ W_x + h @ W_h + b (the gates read the previous output h too)",
     {"no_h": True}),
]


def lstm_step_reference(x_t, h, c, W_x, W_h, b, *, g=np.tanh, gate=_sigmoid, no_forget=False, no_old_cell=False,
                        no_tanh_h=False, order="ifgo", no_h=False):
    """One LSTM step with dllab's layout (W_x (F, 4H), W_h (H, 4H), b (4H,), gate blocks i, f, g, o)
    -> (h_new, c_new), in float64; the keyword options make the usual mistakes on purpose."""
    x_t, h, c, W_x, W_h, b = (np.asarray(_raw(a), dtype=np.float64) for a in (x_t, h, c, W_x, W_h, b))
    H = h.shape[1]
    z = x_t @ W_x + (0 if no_h else h @ W_h) + b
    blocks = dict(zip(order, (z[:, k * H:(k + 1) * H] for k in range(4))))
    i, f, o = (gate(blocks[name]) for name in "ifo")
    cand = g(blocks["g"])
    c_new = (c if no_forget else 0 if no_old_cell else f * c) + i * cand
    return o * (c_new if no_tanh_h else np.tanh(c_new)), c_new


def lstm_step_mistakes(x_t, h, c, W_x, W_h, b):
    """What one LSTM step gives with each usual mistake, by the mistake's description (for lstm_step's test)."""
    return [(why, lstm_step_reference(x_t, h, c, W_x, W_h, b, **mistake)) for why, mistake in _LSTM_STEP_MISTAKES]


def lstm_forward_reference(x, W_x, W_h, b, lengths=None, return_sequences=False, *, carry=True, stop=True):
    """An LSTM over x (N, T, F) from h = c = 0 with lstm_step_reference: the last state (N, H) of each
    sequence (its step lengths[n] - 1 when lengths are given), or every step's h (N, T, H) with
    return_sequences (zeros after each sequence's length, as dl.LSTM). carry=False starts every step
    from zeros; stop=False lets the padding steps update the state (both usual mistakes)."""
    x = np.asarray(_raw(x), dtype=np.float64)
    N, T, _ = x.shape
    H = np.shape(_raw(W_h))[0]
    h, c = np.zeros((N, H)), np.zeros((N, H))
    seq = np.zeros((N, T, H))
    for t in range(T):
        h_new, c_new = lstm_step_reference(x[:, t], h if carry else 0 * h, c if carry else 0 * c, W_x, W_h, b)
        alive = (np.ones(N, bool) if lengths is None or not stop else t < np.asarray(lengths))[:, None]
        h, c = np.where(alive, h_new, h), np.where(alive, c_new, c)
        seq[:, t] = h if lengths is None else np.where((t < np.asarray(lengths))[:, None], h, 0)
    return seq if return_sequences else h


def lstm_forward_mistakes(x, W_x, W_h, b, lengths=None, return_sequences=False):
    """What an LSTM over x gives with each usual mistake of the loop, by the mistake's description."""
    out = [("the state is not carried from step to step: each step must start from the h and c the step "
            "before returned (h, c = lstm_step(x[:, t], h, c, ...)), only the first one from zeros",
            lstm_forward_reference(x, W_x, W_h, b, lengths, return_sequences, carry=False))]
    if lengths is not None:
        out.append(("the padding steps update the state: after a sequence's length (t >= lengths[n]) its h and "
                    "c must stay as they are, e.g. keep = (t < lengths)[:, None]; h = np.where(keep, h_new, h), "
                    "and c the same", lstm_forward_reference(x, W_x, W_h, b, lengths, return_sequences, stop=False)))
    return out


# ---- the store the notebooks get ------------------------------------------------------------------------
def record(labs_to_run=None, parameters=({}, {"subset": 2000, "epochs": 1, "device": "cpu"})):
    """Run each lab's visible tests on its solutions, with these keys computing, and keep every value asked
    for: ``{"name:digest": value}``. Hidden tests are not run, so their inputs are never stored. Each
    lab runs once per set of ``parameters`` (the default size and CI's), in case a fixture reads the data."""
    import contextlib
    import io
    import os
    from pathlib import Path

    import jupytext

    from dllab import labs
    from grading.judge import is_graded_test

    here = Path(__file__).resolve().parent
    entries = {}
    names = labs_to_run or sorted(p.name for p in (here / "source").iterdir() if (p / f"{p.name}.py").exists())
    labs.use_answer_keys(sys.modules[__name__], recorder=lambda name, key, value: entries.setdefault(
        f"{name}:{key}", value))
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        for lab in names:
            nb = jupytext.read(here / "source" / lab / f"{lab}.py")
            for values in parameters:
                ns = {"__name__": "__main__"}
                for cell in nb.cells:
                    if cell.cell_type != "code" or (is_graded_test(cell) and "BEGIN HIDDEN TESTS" in cell.source):
                        continue
                    source = cell.source
                    if "parameters" in cell.metadata.get("tags", []):
                        source += "".join(f"\n{k} = {v!r}" for k, v in values.items())
                    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                        exec(compile(source, f"<{lab}>", "exec"), ns)  # noqa: S102 - the instructor's own lab
    finally:
        labs.use_answer_keys(None)
    return entries


if __name__ == "__main__":
    import sys as _sys

    from dllab.labs.answers import STORE, write_store

    if _sys.argv[1:]:  # the store is written whole: one lab's values alone would drop the others'
        _sys.exit("python answer_keys.py takes no arguments: it records the visible tests of every lab")
    found = record()
    write_store(found)
    print(f"{len(found)} stored answers of the visible tests -> {STORE}")
