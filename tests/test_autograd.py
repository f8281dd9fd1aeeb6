"""The autograd engine: graph walk, gradient accumulation, and a graph used once."""

import numpy as np
import pytest

import dllab as dl


def test_backward_twice_through_the_same_graph_raises():
    x = dl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"backward\(\) ran twice through the same graph.*forward pass again"):
        loss.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])  # not doubled


def test_backward_twice_through_a_layer_raises_and_a_new_forward_pass_works(rng):
    layer = dl.Dense(2)
    xb = rng.random((4, 3)).astype(np.float32)
    loss = layer(xb).sum()
    loss.backward()
    first = layer.W.grad.copy()
    with pytest.raises(RuntimeError, match="twice"):
        loss.backward()
    layer.zero_grad()
    layer(xb).sum().backward()  # a fresh forward pass: fine
    np.testing.assert_allclose(layer.W.grad, first)
