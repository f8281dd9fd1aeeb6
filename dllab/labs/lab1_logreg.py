"""Lab 1 (logistic regression): the checks of its visible tests and the answers they compare with.

``check_pieces`` checks the attendee's earlier functions (sigmoid, softmax, one_hot, cross_entropy...)
before an answer built on them is judged; ``reference_sgd_epoch`` and ``sgd_epoch_mistakes`` serve the
expected values of an epoch of minibatch SGD (see :mod:`dllab.labs.answers`).
"""

from __future__ import annotations

import numpy as np

from ..functional.activations import softmax_array
from .answers import served
from .checking import LabCheckError, arguments, as_array, fair_conditions, show

# what the package re-exports: labs.<name> in the notebook
__all__ = ["check_pieces", "reference_sgd_epoch", "sgd_epoch_mistakes"]

reference_sgd_epoch = served("reference_sgd_epoch")
sgd_epoch_mistakes = served("sgd_epoch_mistakes")


def _piece_inputs():
    """Small inputs and the right answers for the pieces other answers build on (see check_pieces)."""
    Z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, -1.0]])
    P = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    y = np.array([0, 2])
    z = np.array([-3.0, 0.0, 2.0])
    p, t = np.array([0.9, 0.2]), np.array([1.0, 0.0])
    return {
        "sigmoid": ((z,), 1 / (1 + np.exp(-z))),
        "binary_cross_entropy": ((p, t), -(np.log(0.9) + np.log(0.8)) / 2),
        "softmax": ((Z,), softmax_array(Z)),
        "one_hot": ((np.array([2, 0]), 4), np.eye(4)[[2, 0]]),
        "cross_entropy": ((P, y), -np.log(P[[0, 1], y]).mean()),
    }


def check_pieces(user, **pieces):
    """Check the attendee's earlier functions that ``user`` builds on, before ``user`` is judged.

    When logreg_gradients calls a softmax that is wrong, its gradient is wrong too, and a test of
    the gradient alone would blame a correct gradient formula. Each piece (by name: sigmoid,
    binary_cross_entropy, softmax, one_hot, cross_entropy) is run on a small input and compared with
    the right answer; a wrong piece fails here with a message that names it and says to fix it first.
    """
    __tracebackhide__ = True
    known = _piece_inputs()
    for name, fn in pieces.items():
        args, expected = known[name]
        args = tuple(np.copy(a) for a in args)
        try:
            with fair_conditions(fn):
                got = fn(*args)
            ok = got is not None and np.shape(got) == np.shape(expected) and np.allclose(
                np.asarray(as_array(got), dtype=float), expected, rtol=1e-5, atol=1e-7)
        except Exception as error:  # noqa: BLE001 - any failure of the piece is reported the same way
            raise LabCheckError(f"{user} builds on your {name}, and {name} raises {type(error).__name__}: "
                                f"{error}. Fix {name} first (its test cell above says what is wrong), then "
                                f"run this cell again.") from error
        if not ok:
            got_text = show(as_array(got)) if got is not None and np.size(got) <= 24 else repr(type(got).__name__)
            raise LabCheckError(
                f"{user} builds on your {name}, which is not right yet: {name}({arguments(fn, args, {})}) "
                f"returned {got_text}, expected {show(expected) or expected}. Fix {name} first (its test cell "
                f"above says what is wrong): this test would otherwise blame {user} for {name}'s mistake.")
