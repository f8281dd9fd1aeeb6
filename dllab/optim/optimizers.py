"""The optimizers: the Optimizer base class and the four update rules, SGD, AdaGrad, RMSProp and Adam.

Every optimizer updates parameters in place from their ``.grad``:

    opt = SGD(model, lr=0.1, momentum=0.9)     # a Module or a list of Parameters
    loss.backward(); opt.step(); opt.zero_grad()

A Module is read lazily (at the first ``step``), so an optimizer can be made before the model
has seen data and built its layers. The base class does what every rule shares (the parameters,
the learning rate and its schedule, weight decay, the per-parameter state, argument checks);
each subclass writes only ``init_state`` and ``update``, its formula, in one screen.

Regularisation is added to the gradient of the weights (parameters with two or more dimensions;
biases and batch-norm scales are left alone): ``weight_decay`` (L2): g += wd * w;
``l1``: g += l1 * sign(w).

    >>> import numpy as np
    >>> from dllab import Parameter
    >>> w = Parameter(np.array([1.0, 2.0]))
    >>> w.grad = np.array([0.5, -1.0])
    >>> opt = SGD([w], lr=0.1)
    >>> opt.step()
    >>> w.data
    array([0.95, 2.1 ])
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers

import numpy as np

from .. import backend
from .._warnings import warn_at_caller
from ..autograd import no_grad
from .schedules import _check_schedule


def _follow_device(state, like):
    """Move a parameter's optimizer state (momentum, averages) to the device of the parameter, which
    may have moved since the state was made (model.to_device() after set_device)."""
    mod = backend.array_module(like)
    for key, value in state.items():
        if hasattr(value, "shape") and backend.array_module(value) is not mod:
            state[key] = backend.to_numpy(value) if mod is np else mod.asarray(value)


class Optimizer:
    """Base class: holds parameters, the learning rate (with an optional schedule) and state."""

    def __init__(self, params=None, lr=0.01, weight_decay=0.0, l1=0.0, schedule=None, **unknown):
        if unknown:
            raise _unknown_arguments(type(self), unknown)
        lr = self._learning_rate(lr)
        weight_decay, l1 = self._number("weight_decay", weight_decay), self._number("l1", l1)
        if weight_decay < 0 or l1 < 0:
            raise ValueError(f"{type(self).__name__}: weight_decay and l1 must be >= 0, got "
                             f"weight_decay={weight_decay}, l1={l1}")
        self.source = params
        self._params = None
        self._model = None  # a Trainer's model, to check the parameters against (bind)
        self.base_lr = lr
        self.weight_decay = weight_decay
        self.l1 = l1
        self.schedule = _check_schedule(type(self).__name__, schedule)
        self.epoch = 0
        self.steps = 0
        self.state = []

    def _number(self, name, value):
        """``value`` as a float, or a TypeError naming the argument, what it got and what it expects."""
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
        where = type(self).__name__
        got = f"the {type(value).__name__} {value!r}"
        try:
            fix = f"; write {name}={float(value)!r} (a number, without quotes)" if isinstance(value, str) else ""
        except ValueError:
            fix = ""
        raise TypeError(f"{where}: {name} must be a number, got {got}{fix}")

    # --- parameters ----------------------------------------------------------------
    @property
    def params(self):
        if self._params is None or self._model is not None:
            self._params = self._resolve()
        return self._params

    def _resolve(self):
        src = self.source
        if src is None:
            raise RuntimeError(
                f"{type(self).__name__} has no parameters: pass the model, e.g. "
                f"{type(self).__name__}(model, lr=...), or give it to a Trainer"
            )
        params = list(src.parameters() if hasattr(src, "parameters") else src)
        model, self._model = self._model, None
        if model is not None and src is not model:
            own = {id(p) for p in model.parameters()}
            if params and own and not any(id(p) in own for p in params):
                # the usual notebook slip: the model cell re-run, the optimizer cell not
                warn_at_caller(
                    f"{type(self).__name__} was made for other parameters than this Trainer's model's "
                    "(a model cell re-run without re-running the optimizer's?); it now updates this "
                    "model, with its state (momentum, averages) and schedule started afresh")
                self.source, self.epoch, self.steps = model, 0, 0
                params = list(model.parameters())
        if not params:
            raise RuntimeError(
                f"{type(self).__name__}: the model has no parameters yet. Layers create their weights on "
                "the first call: run the model once on a batch (model(x[:1])) before the first step"
            )
        old = self._params or []
        if [id(p) for p in params] != [id(p) for p in old]:
            self.state = [self.init_state(p) for p in params]
        return params

    def bind(self, model):
        """Attach a model; used by the Trainer. An optimizer made without parameters takes the
        model's; one made for parameters that are not the model's (an earlier model) is moved to
        this one, with a warning, at its next step; one made for part of the model (a head to
        fine-tune) keeps that part."""
        if self.source is None:
            self.source = model
        elif self.source is not model:
            self._model = model  # checked against the parameters at the next step
        return self

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def reset_state(self):
        """Forget the state (momentum, running averages, Adam's step count), as if freshly made.

        The Trainer calls this when it rolls the weights back after a NaN loss: momentum built up
        while diverging would carry the next run straight back into the divergence.
        """
        self.steps = 0
        if self._params is not None:
            self.state = [self.init_state(p) for p in self._params]

    # --- learning rate -----------------------------------------------------------------
    @property
    def lr(self) -> float:
        """The current learning rate: base_lr times the schedule's factor for this epoch.

        Setting it (``opt.lr = 0.01``) sets ``base_lr``; a schedule keeps scaling it.
        """
        return self.base_lr * (self.schedule(self.epoch) if self.schedule else 1.0)

    @lr.setter
    def lr(self, value):
        self.base_lr = self._learning_rate(value)

    def _learning_rate(self, value):
        """``value`` as a float > 0, or the error that names ``lr``."""
        value = self._number("lr", value)
        if not value > 0:
            raise ValueError(f"{type(self).__name__}: the learning rate must be positive, got lr={value}")
        return value

    def set_epoch(self, epoch: int):
        """Tell the schedule which epoch starts (the Trainer calls this)."""
        self.epoch = epoch

    # --- the update ---------------------------------------------------------------------
    def regularised_grad(self, p):
        g = p.grad
        if p.ndim >= 2 and (self.weight_decay or self.l1):
            xp = backend.array_module(g)
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.l1:
                g = g + self.l1 * xp.sign(p.data)
        return g

    @no_grad()
    def step(self):
        """Update every parameter that has a gradient."""
        params = self.params  # first: moving to a new model (bind) starts the step count afresh
        lr = self.lr
        self.steps += 1
        for p, state in zip(params, self.state):
            if p.grad is not None:
                if state:
                    _follow_device(state, p.data)
                self.update(p.data, self.regularised_grad(p), state, lr)

    def init_state(self, p):
        return {}

    def update(self, w, g, state, lr):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        extra = "".join(f", {k}={v}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}(lr={self.base_lr}{extra})"

    def hyperparameters(self):
        out = {}
        if self.weight_decay:
            out["weight_decay"] = self.weight_decay
        if self.l1:
            out["l1"] = self.l1
        return out


_SCRATCH: dict = {}


def scratch_like(w):
    """A reused array shaped like ``w`` for an update's temporary (one per shape, dtype and device).

    ``w -= lr * v`` makes a new weights-sized array at every step; for the weights of a dense layer
    (1.2 MB for 784 x 400) the allocator hands fresh pages each time and the page faults cost a
    fifth of an MLP step. Updates run one after another, so parameters of one shape share it.
    """
    key = (w.shape, w.dtype.str, type(w))
    buf = _SCRATCH.get(key)
    if buf is None:
        buf = _SCRATCH[key] = backend.array_module(w).empty_like(w)
    return buf


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

        v = momentum * v + g;   w -= lr * v                         (momentum)
        w -= lr * (g + momentum * v)                                 (Nesterov)
    """

    def __init__(self, params=None, lr=0.01, momentum=0.0, nesterov=False, **kw):
        super().__init__(params, lr, **kw)
        momentum = self._number("momentum", momentum)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        self.momentum, self.nesterov = momentum, nesterov

    def init_state(self, p):
        return {"v": backend.array_module(p.data).zeros_like(p.data)} if self.momentum else {}

    def update(self, w, g, state, lr):
        xp = backend.array_module(w)
        step = scratch_like(w)  # the step lr * (...) is written here, not into a new array
        if not self.momentum:
            xp.multiply(g, lr, out=step)
        else:
            v = state["v"]
            v *= self.momentum
            v += g
            if self.nesterov:
                xp.multiply(v, self.momentum, out=step)
                step += g
                step *= lr
            else:
                xp.multiply(v, lr, out=step)
        w -= step

    def hyperparameters(self):
        out = {"momentum": self.momentum} if self.momentum else {}
        if self.nesterov:
            out["nesterov"] = True
        return {**out, **super().hyperparameters()}


class AdaGrad(Optimizer):
    """Per-weight step sizes from the sum of squared gradients.

        s += g^2;   w -= lr * g / (sqrt(s) + eps)
    """

    def __init__(self, params=None, lr=0.01, eps=1e-8, **kw):
        super().__init__(params, lr, **kw)
        self.eps = self._number("eps", eps)

    def init_state(self, p):
        return {"s": backend.array_module(p.data).zeros_like(p.data)}

    def update(self, w, g, state, lr):
        xp = backend.array_module(w)
        s = state["s"]
        s += g * g
        w -= lr * g / (xp.sqrt(s) + self.eps)


class RMSProp(Optimizer):
    """A running average of squared gradients scales each step.

        s = rho * s + (1 - rho) * g^2;   w -= lr * g / (sqrt(s) + eps)
    """

    def __init__(self, params=None, lr=1e-3, rho=0.9, eps=1e-8, **kw):
        super().__init__(params, lr, **kw)
        self.rho, self.eps = self._number("rho", rho), self._number("eps", eps)

    def init_state(self, p):
        return {"s": backend.array_module(p.data).zeros_like(p.data)}

    def update(self, w, g, state, lr):
        xp = backend.array_module(w)
        s = state["s"]
        s *= self.rho
        s += (1 - self.rho) * (g * g)
        w -= lr * g / (xp.sqrt(s) + self.eps)


class Adam(Optimizer):
    """Momentum and RMSProp together, with bias correction.

        m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
        w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    """

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, **kw):
        super().__init__(params, lr, **kw)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2) such as (0.9, 0.999), got {betas!r}")
        self.b1, self.b2 = self._number("betas[0]", betas[0]), self._number("betas[1]", betas[1])
        if not (0 <= self.b1 < 1 and 0 <= self.b2 < 1):
            raise ValueError(f"Adam: betas must be in [0, 1), got {betas!r}")
        self.eps = self._number("eps", eps)

    def init_state(self, p):
        xp = backend.array_module(p.data)
        return {"m": xp.zeros_like(p.data), "v": xp.zeros_like(p.data)}

    def update(self, w, g, state, lr):
        xp = backend.array_module(w)
        m, v, t = state["m"], state["v"], self.steps
        m *= self.b1
        m += (1 - self.b1) * g
        v *= self.b2
        v += (1 - self.b2) * (g * g)
        # fold both bias corrections into the step size: one fewer full-size temporary
        step = lr * math.sqrt(1 - self.b2**t) / (1 - self.b1**t)
        w -= step * m / (xp.sqrt(v) + self.eps * math.sqrt(1 - self.b2**t))


OPTIMIZERS = {"sgd": SGD, "adagrad": AdaGrad, "rmsprop": RMSProp, "adam": Adam}


def arguments(cls):
    """The keyword arguments an optimizer class takes (its own, then the base class's)."""
    names = []
    for klass in (cls, Optimizer):
        for name, p in inspect.signature(klass.__init__).parameters.items():
            if name not in ("self", "params", *names) and p.kind is p.POSITIONAL_OR_KEYWORD:
                names.append(name)
    return names


def _unknown_arguments(cls, unknown):
    """A TypeError for arguments ``cls`` does not take: each named, the close match, the valid ones."""
    valid = arguments(cls)
    parts = []
    for name, value in unknown.items():
        part = f"{name}={value!r}"
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
        owners = [other.__name__ for other in OPTIMIZERS.values() if other is not cls and name in arguments(other)]
        if close:
            part += f" (did you mean {close[0]}?)"
        elif owners:
            part += f" (an argument of {' and '.join(owners)}, not of {cls.__name__})"
        parts.append(part)
    return TypeError(f"{cls.__name__} got unknown argument{'s' if len(parts) > 1 else ''} {', '.join(parts)}; "
                     f"{cls.__name__} takes: {', '.join(valid)}")


def get(name_or_optimizer, **kwargs) -> Optimizer:
    """An optimizer from a name ("sgd", "adam", ...) or the optimizer itself."""
    if isinstance(name_or_optimizer, Optimizer):
        return name_or_optimizer
    try:
        return OPTIMIZERS[str(name_or_optimizer).lower()](**kwargs)
    except KeyError:
        raise ValueError(
            f"unknown optimizer {name_or_optimizer!r}: use one of {', '.join(OPTIMIZERS)} "
            "or pass an optimizer object"
        ) from None


__all__ = ["Optimizer", "SGD", "AdaGrad", "RMSProp", "Adam", "OPTIMIZERS", "get", "arguments"]
