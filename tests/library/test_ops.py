"""Every op's backward against central differences (float64), and known values (PyTorch as the oracle:
test_ops_pytorch.py)."""

import numpy as np
import pytest

import dllab as dl
import dllab.functional as F
from dllab.gradcheck import GradcheckError, gradcheck, numerical_gradient


def r(rng, *shape, positive=False):
    a = rng.standard_normal(shape)
    return np.abs(a) + 0.5 if positive else a


LABELS = np.array([0, 2, 1, 2])

CASES = {
    "add": (lambda a, b: a + b, [(3, 4), (4,)]),
    "add_broadcast_col": (lambda a, b: a + b, [(3, 4), (3, 1)]),
    "sub": (lambda a, b: a - b, [(3, 4), (1, 4)]),
    "mul": (lambda a, b: a * b, [(2, 3, 4), (3, 1)]),
    "div": (lambda a, b: a / b, [(3, 4), "pos(3, 4)"]),
    "neg": (lambda a: -a, [(5,)]),
    "pow": (lambda a: a**3, [(3, 4)]),
    "pow_frac": (lambda a: a**0.5, ["pos(3, 4)"]),
    "rsub_scalar": (lambda a: 2.0 - a, [(3,)]),
    "rdiv_scalar": (lambda a: 1.0 / a, ["pos(3,)"]),
    "matmul": (lambda a, b: a @ b, [(3, 4), (4, 5)]),
    "matmul_batched": (lambda a, b: a @ b, [(2, 3, 4), (4, 5)]),
    "matmul_vec": (lambda a, b: a @ b, [(3, 4), (4,)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [(5, 4), (4, 3), (3,)]),
    "sum_all": (lambda a: a.sum(), [(3, 4)]),
    "sum_axis": (lambda a: a.sum(axis=1), [(3, 4, 2)]),
    "sum_keepdims": (lambda a: a.sum(axis=0, keepdims=True), [(3, 4)]),
    "mean": (lambda a: a.mean(axis=(0, 2)), [(3, 4, 2)]),
    "max": (lambda a: a.max(axis=1), [(3, 5)]),
    "max_all": (lambda a: a.max(), [(4, 3)]),
    "reshape": (lambda a: a.reshape(4, 3) * 2, [(3, 4)]),
    "transpose": (lambda a: a.transpose(2, 0, 1), [(2, 3, 4)]),
    "T": (lambda a: a.T, [(2, 3)]),
    "flatten": (lambda a: a.flatten(), [(2, 3, 4)]),
    "getitem": (lambda a: a[1:, ::2], [(3, 4)]),
    "getitem_repeat": (lambda a: a[np.array([0, 0, 2])], [(3, 4)]),
    "concat": (lambda a, b: F.concat([a, b], axis=1), [(2, 3), (2, 2)]),
    "exp": (lambda a: a.exp(), [(3, 4)]),
    "log": (lambda a: a.log(), ["pos(3, 4)"]),
    "sigmoid": (lambda a: a.sigmoid(), [(3, 4)]),
    "tanh": (lambda a: a.tanh(), [(3, 4)]),
    "relu": (lambda a: a.relu(), [(3, 4)]),
    "leaky_relu": (lambda a: F.leaky_relu(a, 0.1), [(3, 4)]),
    "softmax": (lambda a: a.softmax(), [(3, 4)]),
    "softmax_axis0": (lambda a: F.softmax(a, axis=0), [(3, 4)]),
    "log_softmax": (lambda a: a.log_softmax(), [(3, 4)]),
    "cross_entropy_labels": (lambda a: F.cross_entropy(a, LABELS), [(4, 3)]),
    "cross_entropy_onehot": (lambda a: F.cross_entropy(a, np.eye(3)[LABELS]), [(4, 3)]),
    "bce": (lambda a: F.binary_cross_entropy(a.sigmoid(), np.array([0.0, 1, 1, 0])), [(4,)]),
    "bce_logits": (lambda a: F.binary_cross_entropy_with_logits(a, np.array([0.0, 1, 1, 0])), [(4,)]),
    "mse": (lambda a: F.mse(a, np.ones((3, 2))), [(3, 2)]),
}


def make(rng, spec):
    if isinstance(spec, str):
        shape = eval(spec[3:])  # "pos(3, 4)" -> (3, 4), a positive array
        return r(rng, *shape, positive=True)
    return r(rng, *spec)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name, rng):
    fn, specs = CASES[name]
    inputs = [make(rng, s) for s in specs]
    if name.startswith(("max", "relu", "leaky")):
        inputs = [a + np.sign(a) * 0.05 for a in inputs]  # keep away from kinks/ties
    gradcheck(fn, inputs)


def test_dropout_gradient_uses_the_same_mask(rng):
    x = dl.Tensor(r(rng, 50, 20), requires_grad=True)
    dl.seed(3)
    y = F.dropout(x, 0.3)
    y.sum().backward()
    mask = (y.data != 0)
    np.testing.assert_allclose(x.grad, mask / 0.7)
    assert 0.6 < mask.mean() < 0.8
    assert F.dropout(x, 0.3, training=False) is x


def test_gradcheck_catches_a_wrong_backward(rng):
    class BadSquare(dl.Function):
        def forward(self, a):
            self.a = a
            return a * a

        def backward(self, g):
            return g * self.a  # missing the factor 2

    with pytest.raises(GradcheckError, match="gradient of input 0 is wrong"):
        gradcheck(lambda a: BadSquare.apply(a), [r(rng, 3)])


def test_gradcheck_wants_float64(rng):
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda a: a * 2, [r(rng, 3).astype(np.float32)])


def test_numerical_gradient_of_known_function():
    x = np.array([1.0, -2.0, 3.0])
    g = numerical_gradient(lambda: (x**2).sum(), x)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-6)


def test_gradients_accumulate_over_reuse():
    x = dl.Tensor(np.array([2.0]), requires_grad=True)
    y = x * x + x * 3
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [2 * 2 + 3])


def test_no_grad_builds_no_graph():
    x = dl.Tensor([1.0, 2.0], requires_grad=True)
    with dl.no_grad():
        y = x * 2
    assert not y.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_backward_of_nonscalar_needs_a_gradient():
    x = dl.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    (x * 2).backward(np.ones(2, dtype=np.float32))
    np.testing.assert_allclose(x.grad, [2, 2])


def test_float32_default_and_dtype_kept():
    assert dl.Tensor([1, 2]).dtype == np.float32
    assert dl.Tensor(np.zeros(2)).dtype == np.float64
    x = dl.Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    (x * 2.5 + 1).sum().backward()
    assert x.grad.dtype == np.float32


def test_softmax_stable_for_huge_scores():
    x = dl.Tensor(np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32))
    p = F.softmax(x).numpy()
    assert np.isfinite(p).all() and abs(p.sum() - 1) < 1e-6
    loss = F.cross_entropy(x, np.array([2]))
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(2000.0, rel=1e-5)


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise"):
        s = F.sigmoid(dl.Tensor(np.array([-1000.0, 0.0, 1000.0], np.float32))).numpy()
    np.testing.assert_allclose(s, [0, 0.5, 1])


def test_max_splits_the_gradient_evenly_between_tied_maxima():
    """The docstring's promise: ties share the gradient (their sum is the gradient of the max)."""
    a = dl.Tensor(np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [5.0, 1.0, 4.0, 5.0]]), requires_grad=True)
    (a.max(axis=1) * dl.Tensor(np.array([1.0, 2.0, 3.0]))).sum().backward()
    np.testing.assert_allclose(a.grad, [[0, 0.5, 0.5, 0], [0.5, 0.5, 0.5, 0.5], [1.5, 0, 0, 1.5]])
    b = dl.Tensor(np.array([[7.0, 1.0], [7.0, 7.0]]), requires_grad=True)
    b.max().backward()
    np.testing.assert_allclose(b.grad, [[1 / 3, 0], [1 / 3, 1 / 3]])
    c = dl.Tensor(np.array([[4.0, 4.0], [1.0, 4.0]]), requires_grad=True)
    c.max(axis=0, keepdims=True).sum().backward()
    np.testing.assert_allclose(c.grad, [[1, 0.5], [0, 0.5]])
