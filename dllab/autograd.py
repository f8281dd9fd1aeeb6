"""Tensor and Function: reverse-mode automatic differentiation over coarse ops.

A :class:`Tensor` wraps an array (NumPy or CuPy) and remembers the
:class:`Function` that produced it. Each Function has a readable ``forward``
(arrays in, array out, saving what the gradient needs on ``self``) and a
``backward`` that turns the gradient of the output into gradients of the inputs.
``Tensor.backward()`` walks the graph in reverse topological order.

    >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    array([2., 4., 6.], dtype=float32)
"""

from __future__ import annotations

import contextlib

import numpy as np

from . import backend

_grad_enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


class no_grad(contextlib.ContextDecorator):
    """Context manager / decorator: ops inside build no graph (evaluation, optimizer steps)."""

    def __enter__(self):
        global _grad_enabled
        self._prev, _grad_enabled = _grad_enabled, False
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._prev
        return False


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the backward of NumPy broadcasting."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


class Function:
    """One differentiable op.

    Subclasses write ``forward(self, *arrays, **options) -> array`` and
    ``backward(self, grad) -> grad or tuple of grads`` (one per positional input,
    ``None`` for inputs that get no gradient). Call them through ``Op.apply(...)``,
    which unwraps Tensors, runs ``forward`` and links the result into the graph.
    """

    __slots__ = ("inputs", "needs", "__dict__")

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs) -> Tensor:
        fn = cls()
        raw = [a.data if isinstance(a, Tensor) else a for a in args]
        # which inputs want a gradient: backward may skip the work for the others
        fn.needs = needs = tuple(_grad_enabled and isinstance(a, Tensor) and a.requires_grad for a in args)
        out = Tensor.__new__(Tensor)
        out.data = fn.forward(*raw, **kwargs)
        out.grad = None
        out.name = None
        if True in needs:
            fn.inputs = args
            out._fn = fn
            out.requires_grad = True
        else:
            out._fn = None
            out.requires_grad = False
        return out

    def __repr__(self):
        return f"<{type(self).__name__}>"


class Tensor:
    """An n-dimensional array that can track gradients.

    ``Tensor(data, requires_grad=False, dtype=None)``: ``data`` is an array, a
    list or a number; Python floats and lists become float32 (the default
    dtype), existing arrays keep their dtype (float64 is used for gradient checks).
    """

    __slots__ = ("data", "grad", "requires_grad", "_fn", "name", "__weakref__")
    __array_priority__ = 100  # so that ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        if isinstance(data, Tensor):
            data = data.data
        mod = backend.array_module(data)
        if dtype is None and not hasattr(data, "dtype"):
            arr = np.asarray(data)
            dtype = backend.default_dtype() if arr.dtype.kind in "fiub" else None
            data = arr
        self.data = mod.asarray(data, dtype=dtype)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._fn = None
        self.name = name

    # --- array-like facts -------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (copied from the GPU if needed)."""
        return backend.to_numpy(self.data)

    def item(self) -> float:
        return float(self.data.reshape(-1)[0]) if self.data.size == 1 else self._item_error()

    def _item_error(self):
        raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")

    def __float__(self):
        return self.item()

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def detach(self) -> Tensor:
        """The same values, cut from the graph."""
        return Tensor(self.data)

    def astype(self, dtype) -> Tensor:
        return Tensor(self.data.astype(dtype), requires_grad=self.requires_grad)

    def zero_grad(self):
        self.grad = None

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.numpy(), precision=4, threshold=20, prefix="Tensor(")
        return f"Tensor({body}, dtype={self.dtype}{grad})"

    # --- backward ----------------------------------------------------------
    def backward(self, grad=None):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` defaults to 1 for a scalar; for a non-scalar tensor pass the
        upstream gradient (same shape as the tensor).

        A graph is used once, as in PyTorch: backward frees what the forward pass saved, and a
        second backward through the same graph raises (instead of silently doubling the
        gradients). Leaves accumulate, so two forward passes then two backwards add up.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no parameter or input "
                "with requires_grad=True was used to compute it (or it was computed under no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without an argument needs a scalar (e.g. a loss); this tensor has "
                    f"shape {self.shape}. Reduce it with .sum() or .mean(), or pass the upstream gradient."
                )
            grad = backend.array_module(self.data).ones_like(self.data)
        elif isinstance(grad, Tensor):
            grad = grad.data
        grad = backend.array_module(self.data).asarray(grad)  # on this tensor's device

        order = _topological_order(self)
        grads = {id(self): grad}
        for t in reversed(order):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            fn = t._fn
            if fn is None:  # a leaf: parameters and inputs keep their gradient
                t.grad = g if t.grad is None else t.grad + g
                continue
            in_grads = fn.backward(g)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            for inp, ig in zip(fn.inputs, in_grads):
                if ig is None or not isinstance(inp, Tensor) or not inp.requires_grad:
                    continue
                key = id(inp)
                prev = grads.get(key)
                grads[key] = ig if prev is None else prev + ig
        for t in order:  # free the saved arrays; a second backward through them raises
            if t._fn is not None:
                t._fn.__dict__.clear()
                t._fn.inputs = _USED

    # Arithmetic (+ - * / ** @, indexing) and the array methods (.sum(), .reshape(), .relu(), ...)
    # are dllab.functional's ops, bound to this class where they are defined: see the end of
    # dllab/functional/__init__.py. So ``a + b`` is ``Add.apply(a, b)``, one call.

    # comparisons give plain boolean arrays: they are not differentiable
    def __lt__(self, o):
        return self.data < _raw(o)

    def __le__(self, o):
        return self.data <= _raw(o)

    def __gt__(self, o):
        return self.data > _raw(o)

    def __ge__(self, o):
        return self.data >= _raw(o)

    __hash__ = object.__hash__


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


_USED = (None,)  # a sentinel: the inputs of a Function whose backward has run


def _topological_order(root):
    """Tensors reachable from ``root`` through the graph, inputs before outputs."""
    order, seen = [], {id(root)}
    stack = [(root, False)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        stack.append((t, True))
        if t._fn is not None:
            if t._fn.inputs is _USED:
                raise RuntimeError(
                    "backward() ran twice through the same graph: the first backward freed the values "
                    "the forward pass saved (as in PyTorch). Run the forward pass again (recompute the "
                    "loss) before calling backward() again; to combine two losses, add them and call "
                    "backward() once: (loss1 + loss2).backward()")
            for inp in t._fn.inputs:
                if isinstance(inp, Tensor) and inp.requires_grad and id(inp) not in seen:
                    seen.add(id(inp))
                    stack.append((inp, False))
    return order


def as_tensor(x, dtype=None) -> Tensor:
    """``x`` as a Tensor (no copy if it already is one)."""
    return x if isinstance(x, Tensor) else Tensor(x, dtype=dtype)


class Parameter(Tensor):
    """A Tensor that a Module trains: ``requires_grad`` is always on."""

    __slots__ = ()

    def __init__(self, data, name=None):
        super().__init__(data, requires_grad=True, name=name)

    def __repr__(self):
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"


# The ops live in dllab.functional, which builds on this module; importing it last binds them to
# Tensor (the names above exist by then, so the circle closes cleanly).
from . import functional  # noqa: E402, F401
