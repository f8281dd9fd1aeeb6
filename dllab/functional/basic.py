"""Elementwise arithmetic, matrix products, reductions and shape ops.

Every op is a :class:`~dllab.autograd.Function` with the formula in its
docstring. Broadcasting follows NumPy; ``unbroadcast`` sums gradients back to
each input's shape.
"""

from __future__ import annotations

from ..autograd import Function, Tensor, unbroadcast
from ..backend import array_module


def _shape(a):
    return getattr(a, "shape", ())


class Add(Function):
    """out = a + b  (broadcasting).  d/da = g, d/db = g (summed to each shape)."""

    def forward(self, a, b):
        self.sa, self.sb = _shape(a), _shape(b)
        return a + b

    def backward(self, g):
        return unbroadcast(g, self.sa), unbroadcast(g, self.sb)


class Sub(Function):
    """out = a - b.  d/da = g, d/db = -g."""

    def forward(self, a, b):
        self.sa, self.sb = _shape(a), _shape(b)
        return a - b

    def backward(self, g):
        return unbroadcast(g, self.sa), unbroadcast(-g, self.sb)


class Mul(Function):
    """out = a * b.  d/da = g * b, d/db = g * a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        return unbroadcast(g * self.b, _shape(self.a)), unbroadcast(g * self.a, _shape(self.b))


class Div(Function):
    """out = a / b.  d/da = g / b, d/db = -g * a / b^2."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        ga = g / self.b
        return unbroadcast(ga, _shape(self.a)), unbroadcast(-ga * self.a / self.b, _shape(self.b))


class Neg(Function):
    """out = -a."""

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Pow(Function):
    """out = a ** p for a constant exponent p.  d/da = g * p * a^(p-1)."""

    def forward(self, a, p):
        if isinstance(p, Tensor) or hasattr(p, "shape") and p.shape != ():
            raise TypeError("pow: the exponent must be a number (a constant), not an array")
        self.a, self.p = a, p
        return a**p

    def backward(self, g):
        return g * self.p * self.a ** (self.p - 1), None


class MatMul(Function):
    """out = a @ b.   a: (..., n, k), b: (..., k, m) -> (..., n, m).

    d/da = g @ b^T,  d/db = a^T @ g  (summed over broadcast batch dimensions).
    A 1-D operand is treated as a row (for a) or column (for b) vector, as in NumPy.
    """

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul: operands must have at least one dimension; use * for scalars")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} do not line up: the last axis of the "
                f"first ({a.shape[-1]}) must equal the first matrix axis of the second "
                f"({b.shape[-2 if b.ndim > 1 else 0]})"
            )
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = g2[..., None, :]
        if b.ndim == 1:
            g2 = g2[..., None]
        ga = g2 @ b2.swapaxes(-1, -2)
        gb = a2.swapaxes(-1, -2) @ g2
        ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


class Linear(Function):
    """out = x @ W + b, the dense layer in one op.   x: (N, in), W: (in, out), b: (out,).

    d/dx = g @ W^T,  d/dW = x^T @ g,  d/db = sum_N g.
    """

    def forward(self, x, W, b=None):
        self.x, self.W, self.has_b = x, W, b is not None
        out = x @ W
        if b is not None:
            out += b
        return out

    def backward(self, g):
        gx = g @ self.W.T if self.needs[0] else None  # not needed for the input images
        gW = self.x.T @ g
        gb = g.sum(axis=0) if self.has_b else None
        return gx, gW, gb


class Sum(Function):
    """out = sum of a over ``axis``.  d/da = g broadcast back to a's shape."""

    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        return a.sum(axis=axis, keepdims=keepdims)

    def backward(self, g):
        xp = array_module(g)
        if self.axis is not None and not self.keepdims:
            g = xp.expand_dims(g, _axes(self.axis, len(self.shape)))
        return xp.broadcast_to(g, self.shape).copy()


class Mean(Function):
    """out = mean of a over ``axis``.  d/da = g / count, broadcast back."""

    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        out = a.mean(axis=axis, keepdims=keepdims)
        self.count = a.size // out.size if out.size else 1
        return out

    def backward(self, g):
        xp = array_module(g)
        if self.axis is not None and not self.keepdims:
            g = xp.expand_dims(g, _axes(self.axis, len(self.shape)))
        return xp.broadcast_to(g / self.count, self.shape).copy()


class Max(Function):
    """out = max of a over ``axis``.  The gradient goes to the maximum (split evenly between ties)."""

    def forward(self, a, axis=None, keepdims=False):
        self.a, self.axis, self.keepdims = a, axis, keepdims
        self.out = a.max(axis=axis, keepdims=True)
        return self.out if keepdims else self.out.reshape(a.max(axis=axis).shape)

    def backward(self, g):
        if self.axis is not None and not self.keepdims:
            g = array_module(g).expand_dims(g, _axes(self.axis, self.a.ndim))
        mask = self.a == self.out
        count = mask.sum(axis=self.axis, keepdims=True)
        return mask * (g / count).astype(self.a.dtype)


def _axes(axis, ndim):
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(ax % ndim for ax in axes)


class Reshape(Function):
    """out = a viewed with a new shape.  d/da = g reshaped back."""

    def forward(self, a, shape):
        self.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot view an array of shape {a.shape} ({a.size} values) as {shape}"
            ) from None

    def backward(self, g):
        return g.reshape(self.shape)


class Transpose(Function):
    """out = a with its axes permuted (reversed when ``axes`` is None)."""

    def forward(self, a, axes=None):
        self.axes = axes
        return a.transpose(axes) if axes else a.T

    def backward(self, g):
        if not self.axes:
            return g.T
        inverse = [0] * len(self.axes)
        for i, ax in enumerate(self.axes):
            inverse[ax] = i
        return g.transpose(inverse)


class GetItem(Function):
    """out = a[index] (basic or integer-array indexing).  d/da scatters g back into zeros."""

    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return a[index]

    def backward(self, g):
        xp = array_module(g)
        out = xp.zeros(self.shape, dtype=self.dtype)
        xp.add.at(out, self.index, g)  # add.at: repeated indices accumulate
        return out


class Concat(Function):
    """out = the inputs joined along ``axis``.  d/d(input i) = the matching slice of g."""

    def forward(self, *arrays, axis=0):
        xp = array_module(arrays[0])
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return xp.concatenate(arrays, axis=axis)

    def backward(self, g):
        xp = array_module(g)
        cuts = list(_cumsum(self.sizes))[:-1]
        return tuple(xp.split(g, cuts, axis=self.axis))


def _cumsum(sizes):
    total = 0
    for s in sizes:
        total += s
        yield total


class Exp(Function):
    """out = e^a.  d/da = g * e^a."""

    def forward(self, a):
        self.out = array_module(a).exp(a)
        return self.out

    def backward(self, g):
        return g * self.out


class Log(Function):
    """out = ln(a).  d/da = g / a."""

    def forward(self, a):
        self.a = a
        return array_module(a).log(a)

    def backward(self, g):
        return g / self.a


# --- the functional interface ------------------------------------------------


def add(a, b):
    return Add.apply(a, b)


def sub(a, b):
    return Sub.apply(a, b)


def mul(a, b):
    return Mul.apply(a, b)


def div(a, b):
    return Div.apply(a, b)


def neg(a):
    return Neg.apply(a)


def pow(a, p):  # noqa: A001 - mirrors the operator's name
    return Pow.apply(a, p)


def matmul(a, b):
    return MatMul.apply(a, b)


def linear(x, W, b=None):
    """x @ W + b.   x: (N, in), W: (in, out), b: (out,) -> (N, out).

        >>> from dllab import Tensor
        >>> x, W, b = Tensor([[1.0, 2.0]]), Tensor([[1.0], [1.0]], requires_grad=True), Tensor([0.5])
        >>> y = linear(x, W, b)
        >>> y.data
        array([[3.5]], dtype=float32)
        >>> y.sum().backward()
        >>> W.grad                                    # dW = x^T g
        array([[1.],
               [2.]], dtype=float32)
    """
    return Linear.apply(x, W, b)


def sum(a, axis=None, keepdims=False):  # noqa: A001
    return Sum.apply(a, axis=axis, keepdims=keepdims)


def mean(a, axis=None, keepdims=False):
    return Mean.apply(a, axis=axis, keepdims=keepdims)


def max(a, axis=None, keepdims=False):  # noqa: A001
    return Max.apply(a, axis=axis, keepdims=keepdims)


def reshape(a, shape):
    return Reshape.apply(a, tuple(shape))


def transpose(a, axes=None):
    return Transpose.apply(a, tuple(axes) if axes else None)


def flatten(a):
    """(N, d1, d2, ...) -> (N, d1*d2*...): keep the batch axis, flatten the rest."""
    return Reshape.apply(a, (a.shape[0], -1))


def getitem(a, index):
    if isinstance(index, Tensor):
        index = index.data
    return GetItem.apply(a, index)


def concat(tensors, axis=0):
    return Concat.apply(*tensors, axis=axis)


def exp(a):
    return Exp.apply(a)


def log(a):
    return Log.apply(a)
