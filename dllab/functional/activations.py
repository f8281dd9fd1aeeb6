"""Activation functions and softmax.

Each works on NumPy or CuPy arrays alike: the array module comes from the input.
On the GPU, sigmoid, tanh and relu run our fused CUDA kernels (dllab/kernels/
activations.cu); the NumPy code below is their twin and the reference.

    >>> from dllab import Tensor
    >>> sigmoid(Tensor([0.0])).data
    array([0.5], dtype=float32)
    >>> relu(Tensor([-1.0, 0.5, 2.0])).data.tolist() == [0.0, 0.5, 2.0]
    True
    >>> p = softmax(Tensor([[1.0, 2.0, 3.0]]))          # e^x_i / sum_j e^x_j, row by row
    >>> p.data.round(3), float(p.data.sum())
    (array([[0.09 , 0.245, 0.665]], dtype=float32), 1.0)
"""

from __future__ import annotations

from .. import kernels
from ..autograd import Function
from ..backend import array_module, is_gpu_array


class Sigmoid(Function):
    """s = 1 / (1 + e^-x), computed as (1 + tanh(x/2)) / 2 so it never overflows.

    d/dx = g * s * (1 - s).
    """

    def forward(self, x):
        if is_gpu_array(x):
            self.s = kernels.activation_forward("sigmoid", x)
            return self.s
        xp = array_module(x)
        s = xp.tanh(x * 0.5)
        s *= 0.5
        s += 0.5
        self.s = s
        return s

    def backward(self, g):
        s = self.s
        if is_gpu_array(s):
            return kernels.activation_backward("sigmoid", g, s)
        return g * s * (1 - s)


class Tanh(Function):
    """t = tanh(x).  d/dx = g * (1 - t^2)."""

    def forward(self, x):
        self.t = kernels.activation_forward("tanh", x) if is_gpu_array(x) else array_module(x).tanh(x)
        return self.t

    def backward(self, g):
        if is_gpu_array(self.t):
            return kernels.activation_backward("tanh", g, self.t)
        return g * (1 - self.t * self.t)


class ReLU(Function):
    """relu(x) = max(x, 0).  d/dx = g where x > 0, else 0."""

    def forward(self, x):
        if is_gpu_array(x):
            self.y = kernels.activation_forward("relu", x)  # backward reads y > 0
            return self.y
        self.y = None
        self.mask = x > 0
        return x * self.mask

    def backward(self, g):
        if self.y is not None:
            return kernels.activation_backward("relu", g, self.y)
        return g * self.mask


class LeakyReLU(Function):
    """leaky_relu(x) = x if x > 0 else slope * x.  d/dx = g or slope * g."""

    def forward(self, x, slope=0.01):
        xp = array_module(x)
        self.scale = xp.where(x > 0, x.dtype.type(1), x.dtype.type(slope))
        return x * self.scale

    def backward(self, g):
        return g * self.scale


def softmax_array(x, axis=-1):
    """Softmax of a plain NumPy or CuPy array, without autograd: e^(x - max) / sum e^(x - max) along ``axis``."""
    xp = array_module(x)
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


class Softmax(Function):
    """p_i = e^(x_i - max x) / sum_j e^(x_j - max x) along ``axis``.

    d/dx = p * (g - sum(g * p)) along the same axis.
    """

    def forward(self, x, axis=-1):
        self.p, self.axis = softmax_array(x, axis), axis
        return self.p

    def backward(self, g):
        p = self.p
        return p * (g - (g * p).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """log p_i = x_i - max x - log sum_j e^(x_j - max x)  (stable).

    d/dx = g - softmax(x) * sum(g) along ``axis``.
    """

    def forward(self, x, axis=-1):
        xp = array_module(x)
        shifted = x - x.max(axis=axis, keepdims=True)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        self.out, self.axis = out, axis
        return out

    def backward(self, g):
        xp = array_module(g)
        return g - xp.exp(self.out) * g.sum(axis=self.axis, keepdims=True)


def sigmoid(x):
    return Sigmoid.apply(x)


def tanh(x):
    return Tanh.apply(x)


def relu(x):
    return ReLU.apply(x)


def leaky_relu(x, slope=0.01):
    return LeakyReLU.apply(x, slope=slope)


def softmax(x, axis=-1):
    return Softmax.apply(x, axis=axis)


def log_softmax(x, axis=-1):
    return LogSoftmax.apply(x, axis=axis)


def identity(x):
    return x
