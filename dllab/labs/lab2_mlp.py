"""Lab 2 (a fully connected network): the checks of its visible tests and the answers they compare with.

``net_fixture`` builds the tiny 2-hidden-layer net the tests run on, ``check_backprop`` checks a
hand-written backward pass layer by layer against central differences, ``layer_plan`` reads a network
as the function it computes; ``reference_forward``, ``optimizer_steps`` and ``optimizer_mistakes`` serve
the expected values (see :mod:`dllab.labs.answers`).
"""

from __future__ import annotations

import numpy as np

from ..gradcheck import numerical_gradient
from .answers import served
from .checking import LabCheckError, call, check_gradient

# what the package re-exports: labs.<name> in the notebook
__all__ = ["check_backprop", "layer_plan", "net_fixture", "optimizer_mistakes", "optimizer_steps", "reference_forward"]

reference_forward = served("reference_forward")
optimizer_steps = served("optimizer_steps")
optimizer_mistakes = served("optimizer_mistakes")

NET_PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3")


def activation(name):
    """The activation ``"relu"`` or ``"sigmoid"`` of lab 2's net, as a function of a NumPy array."""
    if name == "relu":
        return lambda z: np.maximum(z, 0)
    if name == "sigmoid":
        return lambda z: 0.5 * (1 + np.tanh(0.5 * z))
    raise ValueError(f"act must be 'relu' or 'sigmoid', got {name!r}")


def net_fixture(sizes=(5, 7, 6, 3), batch=4, seed=0):
    """A tiny 2-hidden-layer net in float64: ``(X, y, params)`` for gradient checks.

    The default sizes make every weight matrix non-square and every layer a different width, so a
    forgotten transpose fails with a shape error that names the right matrix.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, sizes[0]))
    y = rng.integers(0, sizes[-1], batch)
    y[: min(batch, sizes[-1])] = np.arange(min(batch, sizes[-1]))  # every class shows up
    params = {}
    for k in range(3):
        params[f"W{k + 1}"] = rng.standard_normal((sizes[k], sizes[k + 1])) / np.sqrt(sizes[k])
        params[f"b{k + 1}"] = rng.standard_normal(sizes[k + 1]) * 0.1
    return X, y, params


def _mean_cross_entropy(P, y):
    return float(-np.log(P[np.arange(len(y)), y]).mean())


_DELTA_HINTS = {
    "3": "at the output layer, δ3 = (P − Y) / N, dW3 = A2.T @ δ3, db3 = δ3 summed over the batch (axis 0)",
    "2": "δ2 = (δ3 @ W3.T) * f'(Z2): check that the derivative is taken at Z2 (not A2) and multiplied "
         "elementwise",
    "1": "δ1 = (δ2 @ W2.T) * f'(Z1), dW1 = X.T @ δ1: check the derivative at Z1 and that X (the input) "
         "is used",
}


def check_backprop(backward, act="relu", sizes=(5, 7, 6, 3), batch=4, seed=0):
    """Check ``backward(X, y, params, cache, act) -> grads`` against central differences.

    The cache comes from a correct forward pass, so only ``backward`` is tested. Layers
    are checked from the output back, because a mistake in δ3 spoils every δ below it.
    Returns ``{parameter: max abs difference}``.
    """
    __tracebackhide__ = True
    X, y, params = net_fixture(sizes, batch, seed)
    P, cache = reference_forward(X, params, act)
    grads = call(backward, X, y, {k: v.copy() for k, v in params.items()}, dict(cache, P=P), act,
                 hint="grads must have the shapes of params: dW = (input of the layer).T @ δ, db = δ.sum(axis=0); "
                      "δ3 is (N, classes), δ2 and δ1 have one column per unit of their layer.")
    if grads is None:
        raise LabCheckError("backward returned None: it must return a dict {'W1': dW1, 'b1': db1, ...}")
    missing = [k for k in NET_PARAMS if k not in grads]
    if missing:
        raise LabCheckError(f"backward must return a dict with the keys {list(NET_PARAMS)}; "
                            f"missing: {missing}")
    report = {}
    for name in ("W3", "b3", "W2", "b2", "W1", "b1"):
        p = params[name]
        numeric = numerical_gradient(lambda: _mean_cross_entropy(_probabilities(X, params, act), y), p)
        layer = name[1]
        right_above = [k for k in ("W3", "b3", "W2", "b2") if k[1] > layer]  # checked already, and right
        hint = _DELTA_HINTS[layer]
        if right_above:
            hint = f"{', '.join(right_above)} are right, so look at this layer: " + hint
        report[name] = check_gradient(grads[name], numeric, name, batch_size=batch, hint=hint)
    return report


def _probabilities(X, params, act):
    """The class probabilities of the 2-hidden-layer net, for central differences (many perturbed calls)."""
    from ..functional.activations import softmax_array

    f, A = activation(act), X
    for k in "12":
        A = f(A @ params["W" + k] + params["b" + k])
    return softmax_array(A @ params["W3"] + params["b3"])


def layer_plan(model):
    """The layers of a model as (kind, units, activation) steps, with ``Dense(n) >> f`` read as
    ``Dense(n, activation=f)`` (the same function): tests judge what a network computes, not how the
    attendee spelled it. Other layers are (their class name, None, None); Dropout is ("Dropout", p, None)."""
    from ..layers import Activation, Dense, Dropout

    plan = []
    for layer in getattr(model, "layers", [model]):
        if isinstance(layer, Activation) and plan and plan[-1][0] == "Dense" and plan[-1][2] is None:
            plan[-1] = ("Dense", plan[-1][1], layer.fn)
        elif isinstance(layer, Dense):
            plan.append(("Dense", layer.units, layer.activation))
        elif isinstance(layer, Dropout):
            plan.append(("Dropout", layer.p, None))
        else:
            plan.append((type(layer).__name__, None, None))
    return plan
