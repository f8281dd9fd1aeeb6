"""Fixtures and helpers the labs' checks share; the answers they compare with are stored data.

``net_fixture`` builds small networks to test on, ``parameters_changed_by_a_step`` tells which
parameters a training step moves, ``area_resize_matrix`` is lab 3's given resizing helper. None of
them computes what an attendee is asked to write: those computations (the answer keys) live with
the grader, in ``grading/answer_keys.py``, and reach the notebooks only as the stored answers of
the tests' own inputs (``dllab.labs.answers``).
"""

from __future__ import annotations

import numpy as np

from ..autograd import _raw

_NET_PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3")


def _act(name):
    if name == "relu":
        return lambda z: np.maximum(z, 0)
    if name == "sigmoid":
        return lambda z: 0.5 * (1 + np.tanh(0.5 * z))
    raise ValueError(f"act must be 'relu' or 'sigmoid', got {name!r}")


def net_fixture(sizes=(5, 7, 6, 3), batch=4, seed=0):
    """A tiny 2-hidden-layer net in float64: ``(X, y, params)`` for gradient checks.

    The default sizes make every weight matrix non-square and every layer a different width, so a
    forgotten transpose fails with a shape error that names the right matrix.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, sizes[0]))
    y = rng.integers(0, sizes[-1], batch)
    y[: min(batch, sizes[-1])] = np.arange(min(batch, sizes[-1]))  # every class shows up
    params = {}
    for k in range(3):
        params[f"W{k + 1}"] = rng.standard_normal((sizes[k], sizes[k + 1])) / np.sqrt(sizes[k])
        params[f"b{k + 1}"] = rng.standard_normal(sizes[k + 1]) * 0.1
    return X, y, params


def _mean_cross_entropy(P, y):
    return float(-np.log(P[np.arange(len(y)), y]).mean())


def area_resize_matrix(n, m):
    """(m, n) matrix that averages n pixels into m bins, each pixel weighted by its overlap with
    its bin: ``A @ image @ A.T`` shrinks an n x n image to m x m (lab 3's ``resize``)."""
    edges = np.arange(m + 1) * (n / m)
    j = np.arange(n)[None, :]
    overlap = np.clip(np.minimum(edges[1:, None], j + 1) - np.maximum(edges[:-1, None], j), 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def parameters_changed_by_a_step(model, x, y, lr=0.1):
    """{parameter name: whether one SGD step (momentum 0.9, weight decay 5e-4) on the cross-entropy of
    model(x) against the labels y changed it at all}: what a frozen layer must show as False."""
    from .. import Tensor, cross_entropy
    from ..backend import to_device
    from ..optim import SGD

    inputs = Tensor(to_device(np.asarray(x)))
    model(inputs)  # creates the weights of a new layer before the optimizer reads them
    named = list(model.named_parameters())
    before = [np.array(_raw(p.data), copy=True) for _, p in named]
    optimizer = SGD(model, lr=lr, momentum=0.9, weight_decay=5e-4)
    model.train()
    loss = cross_entropy(model(inputs), np.asarray(y))
    optimizer.zero_grad()
    if loss.requires_grad:  # with every parameter frozen there is nothing to differentiate
        loss.backward()
    optimizer.step()
    return {name: not np.array_equal(old, p.numpy()) for (name, p), old in zip(named, before)}
