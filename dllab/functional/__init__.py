"""The differentiable ops, grouped by family (import as ``dllab.functional as F``)."""

from .activations import identity, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from .basic import (
    add,
    concat,
    div,
    exp,
    flatten,
    getitem,
    linear,
    log,
    matmul,
    max,
    mean,
    mul,
    neg,
    pow,
    reshape,
    sub,
    sum,
    transpose,
)
from .batchnorm import batch_norm
from .conv import col2im, conv2d, im2col
from .dropout import dropout
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse,
)
from .pool import avg_pool2d, global_avg_pool, max_pool2d
from .recurrent import gru, last, lstm, pad_sequences, rnn

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "linear", "sum", "mean", "max",
    "reshape", "transpose", "flatten", "getitem", "concat", "exp", "log",
    "sigmoid", "tanh", "relu", "leaky_relu", "softmax", "log_softmax", "identity",
    "cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse",
    "dropout", "conv2d", "im2col", "col2im", "max_pool2d", "avg_pool2d", "global_avg_pool", "batch_norm",
    "lstm", "gru", "rnn", "last", "pad_sequences",
]


# --- Tensor's operators and methods: the ops above, bound directly ----------------------------------
# autograd.py defines Tensor before any op exists, so they are attached here, once.


def _reflected(op):
    """``other <op> tensor`` (Python calls ``tensor.__radd__(other)``): the op with its operands swapped."""
    def method(self, other):
        return op(other, self)

    method.__name__ = method.__qualname__ = f"reflected_{op.__name__}"
    return method


def _shape_method(op):
    """``t.reshape(2, 3)`` as well as ``t.reshape((2, 3))``, as NumPy takes them."""
    def method(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return op(self, shape)

    method.__name__ = method.__qualname__ = op.__name__
    return method


def _bind_tensor_methods():
    from ..autograd import Tensor

    for name, op in {"__add__": add, "__sub__": sub, "__mul__": mul, "__truediv__": div, "__pow__": pow,
                     "__matmul__": matmul, "__neg__": neg, "__getitem__": getitem,
                     "sum": sum, "mean": mean, "max": max, "flatten": flatten, "exp": exp, "log": log,
                     "sigmoid": sigmoid, "tanh": tanh, "relu": relu, "softmax": softmax,
                     "log_softmax": log_softmax}.items():
        setattr(Tensor, name, op)
    for name, op in {"__radd__": add, "__rsub__": sub, "__rmul__": mul, "__rtruediv__": div,
                     "__rmatmul__": matmul}.items():
        setattr(Tensor, name, _reflected(op))
    Tensor.reshape, Tensor.transpose = _shape_method(reshape), _shape_method(transpose)
    Tensor.T = property(lambda self: transpose(self, None), doc="The tensor with its axes reversed.")


_bind_tensor_methods()
