"""The autograd engine: graph walk, gradient accumulation, and a graph used once."""

import re

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


# --- Tensor's own methods, word for word (each caught a surviving mutant) ----------------------------


def test_no_grad_restores_the_mode_and_lets_errors_through():
    x = dl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with dl.no_grad():
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad  # back on after the block
    with pytest.raises(KeyError, match="inside"):
        with dl.no_grad():
            raise KeyError("inside")
    assert (x * 2).requires_grad


def test_tensor_methods_pass_their_arguments_on():
    a = dl.Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(a.mean(axis=1).data, [1.0, 4.0])
    assert a.mean(axis=0, keepdims=True).shape == (1, 3) and a.mean().shape == ()
    np.testing.assert_array_equal(a.sum(axis=0).data, [3.0, 5.0, 7.0])
    assert a.sum(axis=1, keepdims=True).shape == (2, 1) and a.sum().shape == ()
    assert a.max(axis=1).shape == (2,) and a.max(axis=1, keepdims=True).shape == (2, 1)
    np.testing.assert_allclose(a.softmax(axis=0).data.sum(axis=0), 1.0)
    np.testing.assert_allclose(np.exp(a.log_softmax(axis=0).data).sum(axis=0), 1.0)
    np.testing.assert_allclose(a.softmax().data.sum(axis=1), 1.0)  # default: the last axis
    np.testing.assert_allclose(np.exp(a.log_softmax().data).sum(axis=1), 1.0)
    assert a.reshape((3, 2)).shape == a.reshape([3, 2]).shape == a.reshape(3, 2).shape == (3, 2)
    assert a.reshape(6).shape == (6,)
    b = dl.Tensor(np.zeros((2, 3, 4)))
    assert b.transpose((2, 0, 1)).shape == b.transpose([2, 0, 1]).shape == b.transpose(2, 0, 1).shape == (4, 2, 3)
    assert b.transpose().shape == (4, 3, 2) and b.T.shape == (4, 3, 2)


def test_reflected_operators_and_comparisons():
    a = dl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    np.testing.assert_array_equal((10 + a).data, [11, 12])
    np.testing.assert_array_equal((3 * a).data, [3, 6])
    np.testing.assert_array_equal((np.array([[1.0, 1.0]]) @ a).data, [3.0])
    (10 + a * 1).sum().backward()
    np.testing.assert_array_equal(a.grad, [1, 1])
    np.testing.assert_array_equal(a < 2, [True, False])
    np.testing.assert_array_equal(a <= 2, [True, True])
    np.testing.assert_array_equal(a > 1, [False, True])
    np.testing.assert_array_equal(a >= 1, [True, True])


def test_conversions_repr_and_item():
    a = dl.Tensor(np.array([[1.5, 2.0]]), requires_grad=True)
    assert repr(a) == "Tensor([[1.5 2. ]], dtype=float64, requires_grad=True)"
    assert repr(dl.Tensor([1.0, 2.0])) == "Tensor([1. 2.], dtype=float32)"
    assert repr(dl.Tensor(np.arange(30.0))).startswith("Tensor([ 0.  1.  2. ...")  # summarised beyond 20 values
    assert repr(dl.Tensor(np.arange(21.0))) == "Tensor([ 0.  1.  2. ... 18. 19. 20.], dtype=float64)"
    # 20 values are all shown; a wrapped line and the rows of a matrix line up under the first value
    assert repr(dl.Tensor(np.arange(20.0))) == (
        "Tensor([ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15.\n"
        "        16. 17. 18. 19.], dtype=float64)")
    assert repr(dl.Tensor(np.arange(6.0).reshape(2, 3) / 3)) == ("Tensor([[0.     0.3333 0.6667]\n"
                                                                 "        [1.     1.3333 1.6667]], dtype=float64)")
    assert repr(dl.Tensor([1 / 3])) == "Tensor([0.3333], dtype=float32)"
    b = a.astype(np.float32)
    assert b.dtype == np.float32 and b.requires_grad and np.array_equal(b.data, [[1.5, 2.0]])
    d = a.detach()
    assert not d.requires_grad and d.data is a.data
    assert np.asarray(a).dtype == np.float64 and np.asarray(a, dtype=np.float32).dtype == np.float32
    np.testing.assert_array_equal(np.asarray(a), [[1.5, 2.0]])
    assert dl.Tensor([[2.5]]).item() == 2.5 and float(dl.Tensor(3.0)) == 3.0
    with pytest.raises(ValueError) as info:
        a.item()
    assert str(info.value) == "item() needs a tensor with one element, this one has shape (1, 2)"
    a.grad = np.ones((1, 2))
    a.zero_grad()
    assert a.grad is None


def test_as_tensor_parameter_and_raw():
    from dllab.autograd import _raw, as_tensor

    t = dl.Tensor([1.0])
    assert as_tensor(t) is t
    assert as_tensor([1, 2], dtype=np.float64).dtype == np.float64 and as_tensor([1, 2]).dtype == np.float32
    assert _raw(t) is t.data and _raw(5) == 5
    p = dl.Parameter(np.zeros(2), name="W")
    assert p.name == "W" and p.requires_grad and repr(p) == "Parameter(shape=(2,), dtype=float64)"


def test_the_operators_are_the_functional_ops_bound_directly():
    """``a + b`` is one call to ``F.add`` (no proxy in between); reflected operators swap the operands."""
    import dllab.functional as F
    from dllab.autograd import Tensor

    assert Tensor.__add__ is F.add and Tensor.__matmul__ is F.matmul and Tensor.sum is F.sum
    a, b = dl.Tensor([[1.0, 2.0]], requires_grad=True), np.array([[4.0, 8.0]], np.float32)
    np.testing.assert_array_equal((b - a).data, [[3.0, 6.0]])   # ndarray - Tensor -> Tensor.__rsub__
    np.testing.assert_array_equal((b / a).data, [[4.0, 4.0]])
    np.testing.assert_array_equal((a ** 2).data, [[1.0, 4.0]])
    assert a.reshape(2, 1).shape == a.reshape((2, 1)).shape == (2, 1) and a.T.shape == a.transpose().shape == (2, 1)
    (b - a).sum().backward()
    np.testing.assert_array_equal(a.grad, [[-1.0, -1.0]])


def test_a_function_names_itself():
    class Square(dl.Function):
        def forward(self, a):
            return a * a

    assert repr(Square()) == "<Square>"


# --- the graph walk and the gradients a user reads (each caught a surviving mutant) -------------------


def test_a_tensor_used_by_several_ops_gets_one_backward_call_with_the_whole_gradient():
    calls = []

    class Double(dl.Function):  # y = 2x, recording every gradient its backward is given
        def forward(self, a):
            return 2 * a

        def backward(self, g):
            calls.append(g.copy())
            return 2 * g

    x = dl.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    a = Double.apply(x)  # a = [2, -4] feeds two products, one of them twice: a * a and a * 3
    (a * a + a * 3).sum().backward()
    # d/da (a^2 + 3a) = 2a + 3 = [7, -5], given once; d/dx = 2 * that
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], [7.0, -5.0])
    np.testing.assert_allclose(x.grad, [14.0, -10.0])


def test_an_input_an_op_gives_no_gradient_to_neither_gets_one_nor_stops_the_others():
    class TimesConstant(dl.Function):  # a * b with b held constant: no gradient for b
        def forward(self, a, b):
            self.b = b
            return a * b

        def backward(self, g):
            return g * self.b, None

    class ConstantTimes(dl.Function):  # the same with the constant first
        def forward(self, b, a):
            self.b = b
            return b * a

        def backward(self, g):
            return None, g * self.b

    for op, first in ((TimesConstant, True), (ConstantTimes, False)):
        a = dl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
        b = dl.Tensor(np.array([3.0, 5.0]), requires_grad=True)
        y = op.apply(a, b) if first else op.apply(b, a)
        y.sum().backward()
        np.testing.assert_allclose(a.grad, [3.0, 5.0])
        assert b.grad is None
        # b used elsewhere too: it gets that gradient only
        a.zero_grad()
        y = op.apply(a, b) if first else op.apply(b, a)
        (y.sum() + (b * 4).sum()).backward()
        np.testing.assert_allclose(a.grad, [3.0, 5.0])
        np.testing.assert_allclose(b.grad, [4.0, 4.0])


def test_leaves_accumulate_over_two_backward_passes():
    x = dl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()  # 2x = [2, 4]
    (x * 3).sum().backward()  # + 3
    np.testing.assert_allclose(x.grad, [5.0, 7.0])


def test_backward_with_the_upstream_gradient_as_a_tensor_or_an_array():
    for upstream in (dl.Tensor(np.array([1.0, 2.0, 3.0])), np.array([1.0, 2.0, 3.0]), [1.0, 2.0, 3.0]):
        x = dl.Tensor(np.array([1.0, -1.0, 2.0]), requires_grad=True)
        (x * x).backward(upstream)
        np.testing.assert_allclose(x.grad, [2.0, -4.0, 12.0])  # 2x * upstream


def test_broadcast_operands_get_gradients_summed_back_to_their_shapes():
    x = dl.Tensor(np.array([[1.0, 2.0, 3.0]]), requires_grad=True)  # (1, 3), repeated over 2 rows
    y = dl.Tensor(np.array([[10.0], [20.0]]), requires_grad=True)  # (2, 1), repeated over 3 columns
    (x * y).sum().backward()
    assert x.grad.shape == (1, 3) and y.grad.shape == (2, 1)
    np.testing.assert_allclose(x.grad, [[30.0, 30.0, 30.0]])  # y summed over the rows
    np.testing.assert_allclose(y.grad, [[6.0], [6.0]])  # x summed over the columns
    z = dl.Tensor(np.ones((2, 2, 3)), requires_grad=True)
    (x + z).sum().backward()  # a leading axis added as well
    np.testing.assert_allclose(x.grad, [[34.0, 34.0, 34.0]])  # 30 before, + 4 copies


def test_an_op_result_without_grad_is_a_plain_tensor_that_can_become_a_leaf():
    x = dl.Tensor(np.array([1.0, 2.0, 3.0]))
    y = x * 2
    assert y.requires_grad is False and y.grad is None and y.name is None
    dl.gradcheck(lambda t: (t * t).sum(), [y])  # gradcheck turns it into a leaf
    y.grad = None
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad, [4.0, 8.0, 12.0])
    z = x * dl.Tensor(np.ones(3), requires_grad=True)
    z.sum().backward()
    assert z.grad is None and z.name is None  # only leaves keep a gradient


def test_error_messages_of_backward_in_full():
    x = dl.Tensor(np.array([1.0, 2.0]))
    with pytest.raises(RuntimeError, match=re.escape(
            "backward() on a tensor that does not require grad: no parameter or input with requires_grad=True "
            "was used to compute it (or it was computed under no_grad())")):
        (x * x).sum().backward()
    x.requires_grad = True
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=re.escape(
            "backward() ran twice through the same graph: the first backward freed the values the forward pass "
            "saved (as in PyTorch). Run the forward pass again (recompute the loss) before calling backward() "
            "again; to combine two losses, add them and call backward() once: (loss1 + loss2).backward()")):
        loss.backward()


def test_tensor_of_a_tensor_python_values_and_numpy_conversions():
    t = dl.Tensor(dl.Tensor([1.0, 2.0]))
    assert t.dtype == np.float32 and np.array_equal(t.data, [1.0, 2.0])
    assert dl.Tensor([True, 2]).dtype == np.float32  # Python numbers: the default dtype
    c = dl.Tensor([1 + 2j])  # complex values keep their type (float32 would drop the imaginary part)
    assert c.dtype == np.complex128 and c.data[0] == 1 + 2j
    f = dl.Tensor([1.5, 2.0])
    assert np.asarray(f).dtype == np.float32  # NumPy gets the tensor's own dtype
    big = dl.Tensor(np.array([2**53 + 1], dtype=np.int64))
    assert np.asarray(big, dtype=np.int64)[0] == 2**53 + 1  # exact: not through a float
