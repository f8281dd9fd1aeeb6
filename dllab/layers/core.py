"""Module, the base of every layer and model, and the fully connected layers.

A Module holds Parameters (and other Modules), switches between training and
evaluation, and saves/loads its weights. Layers infer their input size on the
first call, so a model is written without repeating sizes:

    >>> import numpy as np
    >>> from dllab import relu
    >>> model = Dense(400, activation=relu) >> Dense(400, activation=relu) >> Dense(10)
    >>> model(np.zeros((32, 784), np.float32)).shape
    (32, 10)
    >>> model[0].W.shape, model.num_parameters()
    ((784, 400), 478410)
"""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .. import backend
from .. import functional as F
from ..autograd import Parameter, Tensor, as_tensor

INFO = "__info__."  # the keys of a saved .npz that are not weights but what the file records about itself


class ShapeError(ValueError):
    """A layer got an input of the wrong shape."""


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
        with ``INFO``; the Trainer's checkpoint records its monitored value there. ``load`` skips them.
        """
        path = Path(path)
        state = self.state_dict()
        if not state:
            raise ValueError(f"{self!r} has no weights yet: layers create them on their first call; run "
                             "the model on a batch (model(x[:1])) or train it before saving")
        state.update({INFO + key: np.asarray(value) for key, value in (info or {}).items()})
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **state)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def load(self, path):
        """Load weights saved with :meth:`save`."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no weights file at {path}; save one first with model.save(path)")
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder; give the .npz file that model.save wrote in it")
        with open(path, "rb") as fh:
            head = fh.read(6)
        not_ours = f"{path} is not a dllab weights file (the .npz that model.save writes): "
        if head.startswith(b"\x93NUMPY"):
            raise ValueError(not_ours + "it holds one array saved with np.save (an .npy file), not the named "
                             "weights of a model; save models with model.save(path)")
        if not head.startswith(b"PK"):
            kind = "it is empty" if not head else f"it is not a zip archive (it starts with {head!r})"
            raise ValueError(not_ours + kind)
        try:
            with np.load(path) as data:
                state = {k: data[k] for k in data.files if not k.startswith(INFO)}  # the weights alone
        except Exception as exc:
            reason = ("it holds pickled Python objects, not the plain arrays model.save writes"
                      if "allow_pickle" in str(exc) else f"a zip archive numpy cannot read as .npz ({exc})")
            raise ValueError(not_ours + reason) from exc
        return self.load_state_dict(state)

    # --- display ---------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def summary(self) -> Summary:
        """One line per layer with its parameter count."""
        lines = []
        for prefix, m in self._named_modules():
            if m is self and isinstance(m, Sequential):
                continue
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


_INITS = ("glorot", "he", "normal", "zeros")


def init_weight(shape, fan_in, fan_out, method):
    """Draw initial weights.  glorot: U(+-sqrt(6/(fan_in+fan_out))); he: N(0, 2/fan_in)."""
    rng = backend.rng()
    if method == "glorot":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, size=shape)
    elif method == "he":
        w = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
    elif method == "normal":
        w = rng.standard_normal(shape) * 0.01
    elif method == "zeros":
        w = np.zeros(shape)
    else:
        raise ValueError(f"unknown init {method!r}: use one of {', '.join(_INITS)}")
    return Parameter(backend.to_device(w.astype(backend.default_dtype())))


def zeros_parameter(shape, value=0.0):
    return Parameter(backend.to_device(np.full(shape, value, dtype=backend.default_dtype())))


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


_ACTIVATION_NAMES = ("relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "exp")


class Dense(Module):
    """Fully connected layer: y = activation(x @ W + b).

    x: (N, in_features) -> (N, units).  W: (in_features, units), b: (units,).
    ``in_features`` is taken from the first input unless given. ``init`` is
    "glorot" (default) or "he" (default when the activation is relu/leaky_relu).
    """

    def __init__(self, units, activation=None, in_features=None, bias=True, init=None, name=None):
        super().__init__()
        if not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activation = resolve_activation(activation, "Dense")
        act = _activation_name(activation) if activation else ""
        self.init = init or ("he" if act in ("relu", "leaky_relu") else "glorot")
        if self.init not in _INITS:
            raise ValueError(f"Dense: unknown init {self.init!r}: use one of {', '.join(_INITS)}")
        self.in_features = in_features
        self.use_bias = bias
        self.name = name
        self._lazy_params = ("W", "b") if bias else ("W",)
        self.W = None
        self.b = None
        if in_features is not None:
            self._build(in_features)

    def _build(self, in_features):
        self.in_features = int(in_features)
        self.W = init_weight((self.in_features, self.units), self.in_features, self.units, self.init)
        if self.use_bias:
            self.b = zeros_parameter((self.units,))

    def _after_load(self):
        if self.W is not None:
            if self.W.ndim != 2 or self.W.shape[1] != self.units:
                raise ShapeError(f"{self!r}: loaded W of shape {tuple(self.W.shape)} has {self.W.shape[-1]} "
                                 f"units, but this layer has {self.units}; the weights come from a layer of "
                                 f"another width: build the model with Dense({self.W.shape[-1]}) or load "
                                 "weights saved from this model")
            self.in_features = self.W.shape[0]

    def forward(self, x):
        x = as_tensor(x)
        if x.ndim != 2:
            hint = (
                "Add Flatten() before it (images are (N, C, H, W))."
                if x.ndim > 2
                else "Inputs are batches: reshape a single example with x.reshape(1, -1)."
            )
            raise ShapeError(f"{self!r} expects inputs of shape (batch, features), got {_describe(x)}. {hint}")
        if self.W is None:
            check_dtype(self, x)
            self._build(x.shape[1])
        elif x.shape[1] != self.in_features:
            raise ShapeError(
                f"{self!r} expects {self.in_features} input features (last axis), got {_describe(x)}; "
                "the layer was built for a different input size"
            )
        if x.dtype != self.W.dtype:
            check_dtype(self, x, self.W.dtype)
        y = F.linear(x, self.W, self.b)
        return self.activation(y) if self.activation is not None else y

    def extra_repr(self):
        parts = [str(self.units)]
        if self.activation is not None:
            parts.append(f"activation={_activation_name(self.activation)}")
        if self.in_features is not None:
            parts.append(f"in_features={self.in_features}")
        if self.name:
            parts.append(f"name={self.name!r}")
        return ", ".join(parts)


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


class Dropout(Module):
    """Zeroes each activation with probability ``p`` while training; identity in eval mode."""

    def __init__(self, p=0.5, name=None):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p is the drop probability and must be in [0, 1), got {p}")
        self.p = p
        self.name = name

    def forward(self, x):
        return F.dropout(as_tensor(x), self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1*d2*...)."""

    def forward(self, x):
        x = as_tensor(x)
        return x if x.ndim == 2 else F.flatten(x)


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


__all__ = [
    "Module",
    "ShapeError",
    "Dense",
    "Activation",
    "Dropout",
    "Flatten",
    "Sequential",
    "Tensor",
    "check_input",
    "check_dtype",
    "init_weight",
    "zeros_parameter",
]
