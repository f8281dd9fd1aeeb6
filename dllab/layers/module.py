"""Module, the base of every layer and model, and the two Modules every model is put together with.

A Module holds Parameters (and other Modules), switches between training and evaluation, moves
to the device and gives its weights as a ``state_dict``. ``a >> b`` makes a :class:`Sequential`,
which wraps a plain function such as ``relu`` in an :class:`Activation`; the three live here
together because each needs the others. The layers themselves are in ``dense``, ``conv`` and
``recurrent``; saving to a file is ``checkpoint``, initial weights ``init``.

    >>> from dllab.layers import Dense
    >>> model = Dense(4, in_features=3, activation="relu") >> Dense(2, in_features=4)
    >>> model
    Sequential(
      (0) Dense(4, activation=relu, in_features=3)
      (1) Dense(2, in_features=4)
    )
    >>> [(name, value.shape) for name, value in model.state_dict().items()]
    [('0.W', (3, 4)), ('0.b', (4,)), ('1.W', (4, 2)), ('1.b', (2,))]
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .. import backend
from .. import functional as F
from ..autograd import Parameter, as_tensor
from ..errors import ShapeError
from . import checkpoint


def _describe(x):
    return f"shape {tuple(x.shape)} {x.dtype}"


def check_input(layer, x, ndim, expected_dtype=None, hint=""):
    """Raise a ShapeError/TypeError naming the layer when ``x`` has the wrong rank or dtype."""
    if x.ndim != ndim:
        raise ShapeError(f"{layer!r} expects a {ndim}-D input, got {_describe(x)}. {hint}".rstrip())
    check_dtype(layer, x, expected_dtype)


def check_dtype(layer, x, expected_dtype=None):
    kind = x.dtype.kind
    if kind != "f":
        raise TypeError(
            f"{layer!r} expects floating-point inputs, got {_describe(x)}; convert with "
            "x.astype(np.float32) (images as floats in [0, 1])"
        )
    if expected_dtype is not None and x.dtype != expected_dtype:
        raise TypeError(
            f"{layer!r} has {expected_dtype} weights but got an input of {_describe(x)}; convert with "
            f"x.astype(np.{expected_dtype})"
        )


class Module:
    """Base class: parameters, sub-modules, train/eval mode, state_dict, save/load.

    Subclasses set Parameters and Modules as attributes (``None`` for a
    parameter that is created on the first call) and write ``forward``.
    """

    def __init__(self):
        self.training = True
        self.name = None

    def forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    # --- composition ---------------------------------------------------------
    def __rshift__(self, other):
        """``a >> b``: a Sequential that applies a, then b (b may be a plain function like relu)."""
        return Sequential(self, other)

    def __rrshift__(self, other):
        return Sequential(other, self)

    # --- parameters and sub-modules -----------------------------------------
    def children(self):
        """Direct sub-modules as (name, module), in the order they were set."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}" if name != "layers" else str(i), item

    def named_parameters(self, prefix=""):
        """All parameters as (dotted name, Parameter), depth first, in a fixed order."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def num_parameters(self) -> int:
        return int(sum(p.size for p in self.parameters()))

    @property
    def built(self) -> bool:
        """False while a layer still waits for its first input to create its weights."""
        return all(m._is_built() for m in self.modules())

    def _is_built(self):
        return not any(value is None for name, value in vars(self).items() if name in self._lazy_params)

    _lazy_params: tuple = ()

    def modules(self):
        """This module and every sub-module, depth first."""
        yield self
        for _, child in self.children():
            yield from child.modules()

    def train(self, mode=True):
        """Training mode (dropout on, batch statistics); returns self."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        """Evaluation mode (dropout off, running statistics); returns self."""
        return self.train(False)

    def to_device(self):
        """Move all parameters to the current backend device (see dllab.set_device)."""
        for p in self.parameters():
            p.data = backend.to_device(p.data)
            p.grad = None
        for m in self.modules():
            for name, value in vars(m).items():
                if name in getattr(m, "_buffers", ()) and value is not None:
                    setattr(m, name, backend.to_device(value))
        return self

    # --- state ----------------------------------------------------------------
    def state_dict(self) -> OrderedDict:
        """Parameter name -> NumPy copy of its values (plus buffers such as running means)."""
        state = OrderedDict((n, backend.to_numpy(p.data).copy()) for n, p in self.named_parameters())
        for prefix, m in self._named_modules():
            for name in getattr(m, "_buffers", ()):
                value = getattr(m, name)
                if value is not None:
                    state[prefix + name] = backend.to_numpy(value).copy()
        return state

    def _named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self.children():
            yield from child._named_modules(prefix + name + ".")

    def load_state_dict(self, state, strict=True):
        """Copy values from ``state`` (name -> array). Unbuilt layers are built from the arrays.

        Raises a KeyError/ShapeError naming the parameter when names or shapes disagree.
        """
        owners = {}
        for prefix, m in self._named_modules():
            for name in list(vars(m)):
                value = getattr(m, name)
                if isinstance(value, Parameter) or name in m._lazy_params or name in getattr(m, "_buffers", ()):
                    owners[prefix + name] = (m, name)
        missing = [k for k in owners if k not in state]
        unexpected = [k for k in state if k not in owners]
        if strict and (missing or unexpected):
            raise KeyError(
                f"load_state_dict: the saved weights do not match this model: missing {missing}, "
                f"unexpected {unexpected}. Was the file saved from a model with the same layers?"
            )
        built = []  # parameters created by this load: taken back if a layer refuses them
        for key, (m, name) in owners.items():
            if key not in state:
                continue
            value = np.asarray(state[key])
            current = getattr(m, name)
            if current is not None and tuple(current.shape) != value.shape:
                raise ShapeError(
                    f"load_state_dict: {key} has shape {tuple(current.shape)} in the model but "
                    f"{value.shape} in the saved weights"
                )
            if name in getattr(m, "_buffers", ()):
                setattr(m, name, backend.to_device(value.copy()))
            elif current is None:
                setattr(m, name, Parameter(backend.to_device(value.copy())))
                built.append((m, name))
            else:
                # onto the device the parameter lives on (not necessarily the current one)
                current.data[...] = backend.array_module(current.data).asarray(value)
        try:
            for m in self.modules():
                m._after_load()
        except ShapeError:
            for m, name in built:
                setattr(m, name, None)
            raise
        return self

    def _after_load(self):
        """Hook for layers that derive settings from loaded weights (e.g. input size)."""

    def save(self, path, info=None):
        """Write the weights to an ``.npz`` file atomically (a crash never leaves half a file).

        info: a few plain values (strings, numbers) stored beside the weights under keys starting
        with ``checkpoint.INFO``; the Trainer's checkpoint records its monitored value there.
        ``load`` skips them. See :func:`dllab.layers.checkpoint.save`.
        """
        return checkpoint.save(self, path, info)

    def load(self, path):
        """Load weights saved with :meth:`save` (see :func:`dllab.layers.checkpoint.load`)."""
        return checkpoint.load(self, path)

    # --- display ---------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def summary(self) -> Summary:
        """One line per layer with its parameter count."""
        lines = []
        for prefix, m in self._named_modules():
            if isinstance(m, Sequential):
                continue
            own = sum(p.size for n, p in vars(m).items() if isinstance(p, Parameter))
            lines.append(f"{prefix.rstrip('.') or '-':<8} {m!r:<48} {own:>10,}")
        lines.append(f"{'total':<57} {self.num_parameters():>10,}")
        return Summary("\n".join(lines))


class Summary(str):
    """A model summary: a string that shows as a table (not one escaped line) in a notebook."""

    def __repr__(self):
        return str(self)


# --- activations: a plain function as a layer -----------------------------------------------

_ACTIVATION_NAMES = ("relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "exp")


def _activation_name(fn):
    return getattr(fn, "__name__", type(fn).__name__)


def resolve_activation(fn, where):
    """An activation function from itself or its name ("relu", "tanh", ...); None stays None."""
    if fn is None or callable(fn):
        return fn
    if isinstance(fn, str):
        found = getattr(F, fn, None)
        if callable(found) and fn in _ACTIVATION_NAMES:
            return found
        raise ValueError(f"{where}: unknown activation {fn!r}: use one of {', '.join(_ACTIVATION_NAMES)} "
                         "or pass a function")
    raise TypeError(f"{where}: activation must be a function or its name, got {type(fn).__name__}")


class Activation(Module):
    """Applies a function elementwise, e.g. ``Activation(relu)`` (no parameters)."""

    def __init__(self, fn, name=None):
        super().__init__()
        self.fn = resolve_activation(fn, "Activation")
        if fn is None:
            raise ValueError("Activation: give a function, e.g. Activation(relu) or Activation('relu')")
        self.name = name

    def forward(self, x):
        return self.fn(as_tensor(x))

    def extra_repr(self):
        return _activation_name(self.fn)


class Sequential(Module):
    """Layers applied one after another. ``Sequential(a, b, c)`` == ``Sequential([a, b, c])``
    == ``a >> b >> c`` (the list form is Keras's and CNTK's).

    Plain functions (e.g. ``relu``) are wrapped in :class:`Activation`.
    """

    def __init__(self, *layers, name=None):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        flat = []
        for layer in layers:
            if isinstance(layer, Sequential) and layer.name is None:
                flat.extend(layer.layers)
            elif isinstance(layer, Module):
                flat.append(layer)
            elif callable(layer):
                flat.append(Activation(layer))
            else:
                raise TypeError(f"Sequential: {layer!r} is not a layer or a function; give the layers as "
                                "Sequential(a, b, c) or as one list, Sequential([a, b, c])")
        self.layers = flat
        self.name = name

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self):
        inner = "\n".join(f"  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"


__all__ = ["Module", "ShapeError", "Activation", "Sequential", "Summary", "check_input", "check_dtype",
           "resolve_activation"]
