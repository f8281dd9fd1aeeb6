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
