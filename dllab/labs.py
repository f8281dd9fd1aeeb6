"""Helpers for the lab notebooks: run settings, checks that teach, live learning curves, figures.

    from dllab import labs
    run = labs.setup(full=False, epochs=None, subset=None, device="auto", seed=0,
                     full_epochs=30, small_epochs=5, small_subset=6000)
    labs.check(rows_ok, "each row of softmax must sum to 1; ...")
    P = labs.call(softmax, Z, hint="...")                 # an error inside softmax becomes a lesson
    live = labs.LiveCurves("logistic regression")        # a Trainer callback, or fed by hand
    trainer.fit(train, epochs=run.epochs, callbacks=[live])

Lab-specific checks: ``check_backprop`` (lab 2), ``check_conv2d`` and ``check_max_pool``
(lab 3), ``ProbeLayer`` (lab 5: how a function calls a model). Figures for the labs come
from ``dllab.viz``; the few kept here have no drop-in counterpart there.

Nothing here is needed by the library itself; the notebooks in ``labs/`` import it.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import linecache
import os
import sys
import time
import traceback
import warnings
from dataclasses import dataclass

import numpy as np

from . import backend
from .autograd import _raw, is_grad_enabled
from .gradcheck import numerical_gradient
from .layers.core import Module
from .train import Callback

__all__ = [
    "LabCheckError",
    "LiveCurves",
    "ProbeLayer",
    "Run",
    "call",
    "check",
    "check_backprop",
    "check_close",
    "check_conv2d",
    "check_gradient",
    "check_max_pool",
    "check_pieces",
    "check_shape",
    "check_target",
    "conv2d_reference",
    "grading",
    "lesson",
    "max_pool_reference",
    "numerical_gradient",
    "optimizer_mistakes",
    "optimizer_steps",
    "reference_sgd_epoch",
    "sgd_epoch_mistakes",
    "progress",
    "seeds_table",
    "setup",
    "show_confusion",
    "show_digits",
    "show_templates",
    "summary_table",
]


# --- run settings -------------------------------------------------------------------------


def grading() -> str | None:
    """``"autograde"`` or ``"validate"`` while nbgrader runs the notebook, else None."""
    return os.environ.get("NBGRADER_EXECUTION") or None


@dataclass
class Run:
    """What a notebook trains on: resolved from the parameters cell by :func:`setup`."""

    full: bool
    epochs: int  # epochs of the main training run
    subset: int | None  # training images of the main run (None: all of them)
    quick_epochs: int  # epochs of the short comparison runs
    quick_subset: int | None  # training images of the comparison runs (None: all of them)
    device: str
    seed: int
    graded: bool = False
    unit: str = "images"  # what subset counts: training images, days, ...

    def __str__(self):
        size = f"all training {self.unit}" if self.subset is None else f"{self.subset} training {self.unit}"
        quick = f"all {self.unit}" if self.quick_subset is None else f"{self.quick_subset} {self.unit}"
        text = (f"{'full' if self.full else 'small'} run on {self.device}: {size}, {self.epochs} epochs; "
                f"comparisons: {quick}, {self.quick_epochs} epochs; seed {self.seed}")
        if self.graded:
            text += "\n(graded by nbgrader: training is shortened, only the small functions are graded)"
        elif not self.full:
            text += "\n(set full = True in the parameters cell and run all cells for the full-size result)"
        return text

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def setup(full=False, epochs=None, subset=None, device="auto", seed=0, *, full_epochs=20,
          small_epochs=5, small_subset=6000, grading_subset=1000, unit="images") -> Run:
    """Resolve the parameters cell, pick the device and seed every generator.

    full: True trains the main model on all training images for ``full_epochs``.
    epochs, subset: override the sizes (CI passes small ones); comparisons never get
        bigger than ``small_epochs`` / ``small_subset`` (``small_subset=None``: small runs
        and comparisons use all the data too, for labs whose data set is small).
    unit: what ``subset`` counts, for the printed summary ("images", "days").
    While nbgrader grades the notebook (see :func:`grading`) the training is cut to
    ``grading_subset`` images and one epoch, whatever the cell says: grades come from
    the small functions, and a batch of notebooks must grade in minutes.
    """
    graded = grading() is not None
    if graded:
        full, epochs = False, 1
        subset = min(subset or grading_subset, grading_subset)
    main_epochs = int(epochs) if epochs else (full_epochs if full else small_epochs)
    main_subset = (None if full else small_subset) if subset is None else int(subset)
    if small_subset is None or main_subset is None:
        quick_subset = small_subset if main_subset is None else main_subset
    else:
        quick_subset = min(main_subset, small_subset)
    run = Run(full=bool(full), epochs=main_epochs, subset=main_subset,
              quick_epochs=min(main_epochs, small_epochs), quick_subset=quick_subset,
              device=backend.set_device(device), seed=int(seed), graded=graded, unit=unit)
    np.random.seed(run.seed)
    backend.seed(run.seed)
    _show_figures_inline()
    _warnings_on_stdout()
    return run


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"note: {category.__name__}: {message} ({os.path.basename(filename)}, line {lineno})")


def _warnings_on_stdout():
    """Show warnings on stdout for the rest of the notebook.

    nbgrader scores a test cell 0 when anything reaches stderr, even a harmless RuntimeWarning
    from a correct answer or a progress bar: only a failed check should cost points.
    """
    warnings.showwarning = _show_warning


def _show_figures_inline():
    """Let Jupyter draw Figures built without pyplot (``dllab.viz``, the helpers below) at once.

    matplotlib's inline backend registers its figure formatter only when pyplot first loads
    it (the first ``plt.subplots``); before that such a Figure shows as ``<Figure size ...>``.
    Importing the backend registers it now; under another backend the import does nothing.
    """
    if _in_kernel():
        try:
            import matplotlib_inline.backend_inline  # noqa: F401
        except ImportError:
            pass


# --- checks that teach --------------------------------------------------------------------


class LabCheckError(AssertionError):
    """A lab check failed; the message says what is wrong and hints why."""


def check(condition, message):
    """Raise :class:`LabCheckError` with ``message`` unless ``condition`` holds."""
    __tracebackhide__ = True
    if not bool(condition):
        raise LabCheckError(_with_context(message))


def _with_context(message, value=None, hint=""):
    """``message``, then the hint of the attendee's last call (see :func:`call`) unless one is given.

    When ``value`` is that call's result, the call itself is named too ("softmax(Z=array (2, 3))
    returned ..."), so that a wrong value reads like a wrong exception does.
    """
    message = message.rstrip()
    last = _LAST_CALL
    if last and value is not None and value is last.get("result"):
        message = f"{last['call']} returned a wrong result: {message}"
    hint = hint or last.get("hint", "")
    if hint and hint not in message:
        if "\n" in message:
            message += f"\nHint: {hint}"
        else:
            message += ("" if message.endswith((".", "?", ":")) else ".") + f" Hint: {hint}"
    return message


def _show(a, limit=24):
    """A small array written out in full (for messages), or '' when it is too big to help."""
    a = np.asarray(a)
    if a.size == 0 or a.size > limit:
        return ""
    return np.array2string(a, precision=4, separator=", ", suppress_small=True, max_line_width=100)


def _arr(a):
    return np.asarray(backend.to_numpy(_raw(a)))


# --- running the attendee's function -------------------------------------------------------

_LIBRARY_DIRS = tuple(d + os.sep for d in {os.path.dirname(os.path.abspath(__file__)),
                                             *map(os.path.abspath, (sys.prefix, sys.base_prefix, sys.exec_prefix))}
                      if d != os.path.abspath(os.sep))


def _describe(value):
    """A short description of an argument: the shape of an array, the size of a list, a small value."""
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and not isinstance(value, type):
        dtype = getattr(value, "dtype", None)
        kind = "array" if isinstance(value, np.ndarray) else type(value).__name__
        return f"{kind} {shape}" + (f" {dtype}" if dtype is not None and dtype != np.float64 else "")
    if isinstance(value, (bool, int, float, str, np.generic)) or value is None:
        text = repr(value.item() if isinstance(value, np.generic) else value)
        return text if len(text) <= 30 else text[:27] + "..."
    if isinstance(value, dict):
        keys = ", ".join(map(repr, list(value)[:6])) + (", ..." if len(value) > 6 else "")
        return f"dict with keys {keys}" if value else "empty dict"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_describe(v) for v in value[:3]) + (", ..." if len(value) > 3 else "")
        return f"{type(value).__name__} of {len(value)}: [{inner}]"
    try:
        size = f" of {len(value)}"
    except TypeError:
        size = ""
    return f"{type(value).__name__}{size}"


def _arguments(fn, args, kwargs):
    """'name=description, ...' for a call of fn, with the parameter names when they can be bound."""
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
        named = []
        for name, value in bound.arguments.items():
            kind = bound.signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                named += [(None, v) for v in value]
            elif kind is inspect.Parameter.VAR_KEYWORD:
                named += list(value.items())
            else:
                named.append((name, value))
    except (TypeError, ValueError):
        named = [(None, v) for v in args] + list(kwargs.items())
    return ", ".join(_describe(v) if k is None else f"{k}={_describe(v)}" for k, v in named)


def _where_it_failed(error):
    """(function name, line number, source line) of the deepest frame in the attendee's code, or None.

    Frames of NumPy, the standard library, the installed packages and dllab are skipped, so the line
    is the attendee's, even when the error surfaced deep inside a library call.
    """
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        path = os.path.abspath(frame.filename) if not frame.filename.startswith("<") else frame.filename
        if not path.startswith(_LIBRARY_DIRS):
            line = (frame.line or linecache.getline(frame.filename, frame.lineno) or "").strip()
            return frame.name, frame.lineno, line
    return None


def _why(error):
    """What an exception usually means in these labs, in a sentence (or "")."""
    text = str(error)
    if isinstance(error, ValueError) and "could not be broadcast" in text:
        return ("two arrays whose shapes do not fit were combined elementwise (+, -, *, /): print the .shape of "
                "each operand on that line; a missing keepdims=True or a wrong size is the usual cause")
    if isinstance(error, ValueError) and "could not broadcast input array" in text:
        return ("an assignment out[...] = value got a value whose shape does not fit the place it is written to: "
                "print the shape of both sides on that line")
    if isinstance(error, ValueError) and ("must have the same shape" in text or "inhomogeneous" in text):
        return ("np.stack / np.array got pieces of different sizes: a slice near the end is shorter than the "
                "others, so check the range of your loop")
    if isinstance(error, ValueError) and "matmul" in text:
        return "the inner sizes of a matrix product @ do not agree: (a, b) @ (b, c); print both shapes"
    if isinstance(error, IndexError):
        return "an index runs past the end of an axis: check the range of your loop and which axis you index"
    if isinstance(error, NameError):
        return "a name is not defined: a typo, or a cell that defines it was not run"
    if isinstance(error, TypeError) and "NoneType" in text:
        return "a value is None: does every function you call `return` its result?"
    if isinstance(error, (KeyError, AttributeError, TypeError)):
        return "check what the arguments are (their types and shapes are listed above)"
    return ""


def call(fn, *args, hint="", **kwargs):
    """Run the attendee's ``fn(*args, **kwargs)`` and return its result; an exception becomes a lesson.

    A raw NumPy error from inside the attendee's function ("operands could not be broadcast
    together ...") says little about the exercise. Here it becomes a :class:`LabCheckError` that
    names the function and the shapes of its arguments, repeats the original error in one line,
    shows the attendee's line that raised, says what such an error usually means and adds ``hint``
    (what this test's inputs need). The original exception stays chained (``raise ... from``), so
    the full traceback is still there, and a test cell that calls this still fails.
    """
    __tracebackhide__ = True
    _LAST_CALL.clear()
    try:
        with _fair_conditions(fn) as notes:
            result = fn(*args, **kwargs)
    except LabCheckError:
        raise
    except Exception as error:
        raise LabCheckError(_failure_message(fn, args, kwargs, error, hint)) from error
    finally:
        for note in notes:
            print(note)
    _LAST_CALL.update(result=result, call=f"{_name(fn)}({_arguments(fn, args, kwargs)})", hint=hint)
    return result


# NumPy's own default error handling: an answer is judged the same whatever np.seterr the notebook set
_DEFAULT_ERRSTATE = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}

# the attendee's last call through call(): a failed check on its result shows the call and its hint
_LAST_CALL: dict = {}


def _name(fn):
    return getattr(fn, "__name__", None) or type(fn).__name__


@contextlib.contextmanager
def _fair_conditions(fn):
    """Run an answer as every answer is run: NumPy's default error state, warnings and stderr on stdout.

    A warning (an overflow in np.exp, a library's advice) or a progress bar written to stderr
    would make nbgrader score the test cell 0 although every check passed; here each warning
    becomes one line on stdout, printed after the call. Yields the list those lines go into.
    """
    notes = []
    with np.errstate(**_DEFAULT_ERRSTATE), warnings.catch_warnings(record=True) as caught, \
            contextlib.redirect_stderr(sys.stdout):
        warnings.simplefilter("always")
        try:
            yield notes
        finally:
            for w in caught:
                notes.append(f"note: {_name(fn)} warned: {w.category.__name__}: {w.message} "
                             "(a warning costs no points; only a failed check does)")


def _failure_message(fn, args, kwargs, error, hint=""):
    name = getattr(fn, "__name__", None) or type(fn).__name__
    first = (str(error).strip().splitlines() or [""])[0].strip()
    if len(first) > 200:
        first = first[:197] + "..."
    lines = [f"{name}({_arguments(fn, args, kwargs)}) raised {type(error).__name__}" + (f": {first}" if first else "")]
    where = _where_it_failed(error)
    if where:
        lines.append(f"  in {where[0]}, line {where[1]}" + (f": {where[2]}" if where[2] else ""))
    if isinstance(error, NotImplementedError):
        lines.append(f"{name} is not written yet: replace `raise NotImplementedError()` in its cell with your "
                     "code, run that cell, then this one.")
        return "\n".join(lines)
    why = _why(error)
    if why:
        lines.append(f"This usually means {why}.")
    if hint:
        lines.append(f"Hint: {hint}")
    return "\n".join(lines)


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
        "softmax": ((Z,), _softmax(Z)),
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
            with _fair_conditions(fn):
                got = fn(*args)
            ok = got is not None and np.shape(got) == np.shape(expected) and np.allclose(
                np.asarray(_arr(got), dtype=float), expected, rtol=1e-5, atol=1e-7)
        except Exception as error:  # noqa: BLE001 - any failure of the piece is reported the same way
            raise LabCheckError(f"{user} builds on your {name}, and {name} raises {type(error).__name__}: "
                                f"{error}. Fix {name} first (its test cell above says what is wrong), then "
                                f"run this cell again.") from error
        if not ok:
            got_text = _show(_arr(got)) if got is not None and np.size(got) <= 24 else repr(type(got).__name__)
            raise LabCheckError(
                f"{user} builds on your {name}, which is not right yet: {name}({_arguments(fn, args, {})}) "
                f"returned {got_text}, expected {_show(expected) or expected}. Fix {name} first (its test cell "
                f"above says what is wrong): this test would otherwise blame {user} for {name}'s mistake.")


def _logreg_step_gradients(X, y, W, b):
    """Loss and gradients of softmax regression, by the library's automatic differentiation."""
    from .autograd import Tensor
    from .functional import cross_entropy

    W, b = Tensor(np.array(W, dtype=np.float64), requires_grad=True), Tensor(np.array(b, dtype=np.float64),
                                                                               requires_grad=True)
    loss = cross_entropy(Tensor(np.asarray(X, dtype=np.float64)) @ W + b, np.asarray(y))
    loss.backward()
    return float(loss.item()), np.array(_raw(W.grad)), np.array(_raw(b.grad))


def reference_sgd_epoch(X, y, W, b, lr, batch_size, rng, *, gradients=_logreg_step_gradients,
                        full_batch=False, step_b=True, sign=-1.0):
    """Lab 1's epoch of minibatch SGD for softmax regression, as the lab describes it: (W, b, losses).

    The keyword arguments make the usual mistakes on purpose (see :func:`sgd_epoch_mistakes`).
    """
    losses = []
    order = rng.permutation(len(X))
    for i in range(0, len(X), batch_size):
        idx = order[i:i + batch_size]
        Xb, yb = (X, y) if full_batch else (X[idx], y[idx])
        loss, dW, db = gradients(Xb, yb, W, b)
        W = W + sign * lr * dW
        if step_b:
            b = b + sign * lr * db
        losses.append(loss)
    return W, b, losses


def sgd_epoch_mistakes(X, y, W, b, lr, batch_size, rng):
    """What an epoch gives with each usual mistake, by the mistake's description (for sgd_epoch's test)."""
    state = rng.bit_generator.state
    out = {}
    for why, options in [
        ("it steps up the gradient (W + lr * dW): the loss then grows. Step against it, W = W - lr * dW",
         {"sign": 1.0}),
        ("each step uses the gradient of all the images, not of its batch: call logreg_gradients on X[idx], "
         "y[idx]", {"full_batch": True}),
        ("b never moves: each step also needs b = b - lr * db", {"step_b": False}),
    ]:
        rng.bit_generator.state = state
        out[why] = reference_sgd_epoch(X, y, W, b, lr, batch_size, rng, **options)
    rng.bit_generator.state = state
    return out


def optimizer_steps(optimizer, w0, grads, **options):
    """The weights after each step of a dllab optimizer (class ``optimizer``, with ``options``) that
    starts from ``w0`` and is given ``grads`` one after the other: a list of arrays (float64)."""
    from .autograd import Tensor

    w = Tensor(np.array(w0, dtype=np.float64), requires_grad=True)
    opt = optimizer([w], **options)
    out = []
    for g in grads:
        w.grad = np.array(g, dtype=np.float64)
        opt.step()
        out.append(np.array(_raw(w), dtype=np.float64))
    return out


def _rule_steps(rule, w, grads, lr, momentum=0.0, weight_decay=0.0, l1=0.0, rho=0.9, betas=(0.9, 0.999),
                eps=1e-8, *, keep_state=True, l2_sign=1.0, l1_of=np.sign, no_sqrt=False, no_correction=False):
    """Lab 2's update rules with one mistake switched on at a time (see optimizer_mistakes)."""
    b1, b2 = betas
    state, out = {}, []
    for g in grads:
        if not keep_state:
            state = {}
        if rule == "sgd_step":
            g = g + l2_sign * weight_decay * w + l1 * l1_of(w)
            state["v"] = momentum * state.get("v", 0.0) + g
            w = w - lr * state["v"]
        elif rule == "rmsprop_step":
            state["s"] = rho * state.get("s", 0.0) + (1 - rho) * g ** 2
            w = w - lr * g / ((state["s"] if no_sqrt else np.sqrt(state["s"])) + eps)
        else:
            t = state["t"] = state.get("t", 0) + 1
            state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
            state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g ** 2
            m, v = state["m"], state["v"]
            if not no_correction:
                m, v = m / (1 - b1 ** t), v / (1 - b2 ** t)
            w = w - lr * m / (np.sqrt(v) + eps)
        out.append(w)
    return out


_RULE_MISTAKES = {
    "sgd_step": [("the velocity is not kept between steps: store it, state['v'] = v, and start from "
                  "state.get('v', 0.0)", {"keep_state": False}),
                 ("L2 must pull the weights towards 0: add + weight_decay * w to the gradient",
                  {"l2_sign": -1.0}),
                 ("L1 adds l1 * np.sign(w) to the gradient (the slope of |w|), not l1 * w",
                  {"l1_of": lambda w: w})],
    "rmsprop_step": [("s is not kept between steps: store it in state['s']", {"keep_state": False}),
                     ("divide by the square root of s: g / (np.sqrt(s) + eps)", {"no_sqrt": True})],
    "adam_step": [("m, v and t are not kept between steps: store them in state", {"keep_state": False}),
                  ("the running means need their bias correction, m / (1 - beta1**t) and v / (1 - beta2**t), "
                   "with t counting the steps from 1", {"no_correction": True})],
}


def optimizer_mistakes(rule, w0, grads, **options):
    """What lab 2's update rule ``rule`` ("sgd_step", "rmsprop_step" or "adam_step") gives after
    ``grads`` with each usual mistake, by the mistake's description; a mistake that changes nothing
    for these options (no momentum, no L1, ...) is left out."""
    right = _rule_steps(rule, np.array(w0, dtype=np.float64), grads, **options)[-1]
    out = {}
    for why, mistake in _RULE_MISTAKES[rule]:
        wrong = _rule_steps(rule, np.array(w0, dtype=np.float64), grads, **options, **mistake)
        if not np.allclose(wrong[-1], right, rtol=1e-4, atol=1e-8):
            out[why] = wrong
    return out


def check_shape(value, shape, name, hint=""):
    """``value`` must be an array of ``shape``."""
    __tracebackhide__ = True
    if value is None:
        raise LabCheckError(_with_context(f"{name} is None: did you forget a `return`?", hint=hint))
    a = _arr(value)
    shape = tuple(shape)
    if a.shape != shape:
        extra = ""
        if a.shape == shape[::-1] and len(shape) == 2:
            extra = " (it is transposed)"
        elif a.size == int(np.prod(shape)):
            extra = " (same number of entries, wrong arrangement)"
        raise LabCheckError(_with_context(f"{name} should have shape {shape}, got {a.shape}{extra}.", value, hint))


def _where(diff):
    i = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return tuple(int(k) for k in i)


def check_close(value, expected, name, hint="", rtol=1e-5, atol=1e-7):
    """``value`` must equal ``expected`` up to rounding; the message names the worst entry.

    When both are small, the message shows them in full: what the function returned next to what
    was expected.
    """
    __tracebackhide__ = True
    if value is None:
        raise LabCheckError(_with_context(f"{name} is None: did you forget a `return`?", hint=hint))
    a, e = _arr(value).astype(np.float64), np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        check_shape(value, e.shape, name, hint)
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        first = tuple(int(k) for k in bad)
        raise LabCheckError(_with_context(f"{name} contains nan or inf (first at index {first}).", value, hint))
    diff = np.abs(a - e)
    if np.any(diff > atol + rtol * np.abs(e)):
        if a.ndim == 0:
            raise LabCheckError(_with_context(f"{name} is {float(a):.6g}, expected {float(e):.6g}.", value, hint))
        i = _where(diff)
        message = (f"{name} is wrong: at index {i} it is {a[i]:.6g}, expected {e[i]:.6g} "
                   f"(largest difference {diff.max():.2g}).")
        got, want = _show(a), _show(e)
        if got and want:
            message += f"\n  got:      {got.replace(chr(10), chr(10) + ' ' * 12)}" \
                       f"\n  expected: {want.replace(chr(10), chr(10) + ' ' * 12)}"
        raise LabCheckError(_with_context(message, value, hint))


def check_gradient(analytic, numeric, name, batch_size=None, hint="", rtol=1e-4, atol=1e-6):
    """Compare a hand-written gradient with the numerical one and say what kind of mistake it looks like.

    Recognises: a missing return, wrong shape or transposition, nan, the wrong sign,
    a factor of the batch size (a sum instead of a mean, or dividing twice), zeros.
    """
    __tracebackhide__ = True
    if analytic is None:
        raise LabCheckError(f"the gradient {name} is None: did you forget to return it?")
    a, n = _arr(analytic).astype(np.float64), np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        if a.ndim == 2 and a.shape == n.shape[::-1]:
            raise LabCheckError(
                f"the gradient {name} has shape {a.shape} but the parameter has shape {n.shape}: it is "
                f"transposed. A gradient always has its parameter's shape; for a weight matrix it is "
                f"(inputs of the layer).T @ δ. {hint}".rstrip())
        raise LabCheckError(f"the gradient {name} has shape {a.shape} but the parameter has shape {n.shape}: "
                            f"a gradient always has its parameter's shape. {hint}".rstrip())
    if not np.all(np.isfinite(a)):
        raise LabCheckError(f"the gradient {name} contains nan or inf. {hint}".rstrip())
    diff = np.abs(a - n)
    if not np.any(diff > atol + rtol * np.abs(n)):
        return float(diff.max()) if diff.size else 0.0
    worst = float(diff.max())
    scale = float(np.dot(n.ravel(), n.ravel()))
    ratio = float(np.dot(a.ravel(), n.ravel()) / scale) if scale > 0 else float("nan")
    close = np.allclose
    if not np.any(a) and np.any(n):
        why = "it is all zeros: is it computed and returned?"
    elif close(a, -n, rtol=1e-3, atol=atol * 10):
        why = "it has the wrong sign (at the output, δ = P − Y: prediction minus target, not Y − P)"
    elif batch_size and batch_size > 1 and close(a, n * batch_size, rtol=1e-3, atol=atol * 10):
        why = (f"it is {batch_size}× too large, exactly the batch size: the loss is a mean over the batch, "
               "so divide by N once")
    elif batch_size and batch_size > 1 and close(a * batch_size, n, rtol=1e-3, atol=atol * 10):
        why = f"it is {batch_size}× too small, exactly the batch size: did you divide by N twice?"
    elif np.isfinite(ratio) and abs(ratio - 1) > 0.05 and close(a, ratio * n, rtol=1e-3, atol=atol * 10):
        why = f"it is the right direction but {ratio:.3g}× the right size: look for a missing or extra factor"
    else:
        i = _where(diff)
        why = f"at index {i} it is {a[i]:.6g}, the numerical one is {n[i]:.6g}"
    raise LabCheckError(_with_context(f"the gradient {name} differs from the numerical one by {worst:.1e}: {why}.",
                                      hint=hint))


# --- backprop check for lab 2 -----------------------------------------------------------------

_NET_PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3")


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _act(name):
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


def reference_forward(X, params, act="relu"):
    """The 2-hidden-layer forward pass with the cache layout the lab uses."""
    f = _act(act)
    cache, A = {"X": X}, X
    for k in ("1", "2", "3"):
        cache["Z" + k] = A @ params["W" + k] + params["b" + k]
        if k != "3":  # no activation on the class scores: softmax follows
            cache["A" + k] = A = f(cache["Z" + k])
    return _softmax(cache["Z3"]), cache


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
    missing = [k for k in _NET_PARAMS if k not in grads]
    if missing:
        raise LabCheckError(f"backward must return a dict with the keys {list(_NET_PARAMS)}; "
                            f"missing: {missing}")
    report = {}
    for name in ("W3", "b3", "W2", "b2", "W1", "b1"):
        p = params[name]
        numeric = numerical_gradient(lambda: _mean_cross_entropy(reference_forward(X, params, act)[0], y), p)
        layer = name[1]
        right_above = [k for k in ("W3", "b3", "W2", "b2") if k[1] > layer]  # checked already, and right
        hint = _DELTA_HINTS[layer]
        if right_above:
            hint = f"{', '.join(right_above)} are right, so look at this layer: " + hint
        report[name] = check_gradient(grads[name], numeric, name, batch_size=batch, hint=hint)
    return report


# --- convolution and pooling checks for lab 3 -------------------------------------------------


def conv2d_reference(x, k):
    """Valid cross-correlation of one image x (H, W) with one kernel k (kh, kw): (H-kh+1, W-kw+1)."""
    from numpy.lib.stride_tricks import sliding_window_view

    x, k = np.asarray(x, dtype=np.float64), np.asarray(k, dtype=np.float64)
    return np.einsum("ijkl,kl->ij", sliding_window_view(x, k.shape), k)


def max_pool_reference(x, size):
    """Non-overlapping size x size max pooling of x (H, W), H and W multiples of size."""
    x = np.asarray(x, dtype=np.float64)
    H, W = x.shape
    return x.reshape(H // size, size, W // size, size).max(axis=(1, 3))


def check_conv2d(out, x, k, name="conv2d_single(x, k)"):
    """Compare a hand-written convolution with the reference and say what kind of mistake it looks like.

    Recognises: a missing return, padding ('same' or 'full' output size), an off-by-one
    output size, a flipped kernel (convolution in the signal-processing sense), a transposed
    result.
    """
    __tracebackhide__ = True
    x, k = np.asarray(x, dtype=np.float64), np.asarray(k, dtype=np.float64)
    (H, W), (kh, kw) = x.shape, k.shape
    want = conv2d_reference(x, k)
    if out is None:
        raise LabCheckError(f"{name} is None: did you forget a `return`?")
    a = _arr(out).astype(np.float64)
    if a.shape != want.shape:
        if a.shape == (H, W):
            why = ("that is the input's size, as with padding. Without padding a kernel only fits where it "
                   "lies wholly inside the input")
        elif a.shape == (H + kh - 1, W + kw - 1):
            why = "that is the 'full' size, with the kernel hanging over the edges; here it stays inside"
        elif a.shape in ((H - kh, W - kw), (H - kh + 2, W - kw + 2)):
            why = "off by one: a kernel of width kw fits at W - kw + 1 positions (columns 0 .. W - kw)"
        else:
            why = "the output has one value per position where the kernel fits inside the input"
        raise LabCheckError(f"{name} should have shape {want.shape} for a {H}x{W} input and a {kh}x{kw} kernel, "
                            f"got {a.shape}: {why}.")
    if np.allclose(a, want):
        return
    if np.allclose(a, conv2d_reference(x, k[::-1, ::-1])):
        raise LabCheckError(f"{name} flips the kernel (that is convolution as in signal processing). Deep-learning "
                            "layers multiply each window by the kernel as it is: out[i, j] = "
                            "sum(x[i:i+kh, j:j+kw] * k).")
    if want.shape[0] == want.shape[1] and np.allclose(a, want.T):
        raise LabCheckError(f"{name} is transposed: out[i, j] belongs to the window that starts at row i and "
                            "column j, x[i:i+kh, j:j+kw].")
    i = _where(np.abs(a - want))
    raise LabCheckError(f"{name} is wrong: at index {i} it is {a[i]:.6g}, expected {want[i]:.6g}, which is "
                        f"sum(x[{i[0]}:{i[0] + kh}, {i[1]}:{i[1] + kw}] * k).")


def check_max_pool(out, x, size, name="max_pool_single(x)"):
    """Compare hand-written max pooling with the reference and say what kind of mistake it looks like.

    Recognises: a missing return, overlapping windows (stride 1), averaging, a transposed result.
    """
    __tracebackhide__ = True
    x = np.asarray(x, dtype=np.float64)
    H, W = x.shape
    want = max_pool_reference(x, size)
    if out is None:
        raise LabCheckError(f"{name} is None: did you forget a `return`?")
    a = _arr(out).astype(np.float64)
    if a.shape != want.shape:
        why = (f"the windows do not overlap: with size {size} the stride is {size} too, so each side "
               f"shrinks by a factor {size}")
        if a.shape == (H - size + 1, W - size + 1):
            why = f"you slid the window one pixel at a time (stride 1); pooling moves it by {size}"
        raise LabCheckError(f"{name} should have shape {want.shape} for a {H}x{W} input, got {a.shape}: {why}.")
    if np.allclose(a, want):
        return
    mean = x.reshape(H // size, size, W // size, size).mean(axis=(1, 3))
    if np.allclose(a, mean):
        raise LabCheckError(f"{name} averages each window; max pooling keeps the largest value of each window "
                            "(.max(), not .mean()).")
    if want.shape[0] == want.shape[1] and np.allclose(a, want.T):
        raise LabCheckError(f"{name} is transposed: out[i, j] is the maximum of rows {size}*i .. {size}*i+{size - 1} "
                            f"and columns {size}*j .. {size}*j+{size - 1}.")
    i = _where(np.abs(a - want))
    r, c = i[0] * size, i[1] * size
    raise LabCheckError(f"{name} is wrong: at index {i} it is {a[i]:.6g}, expected {want[i]:.6g}, the maximum of "
                        f"x[{r}:{r + size}, {c}:{c + size}].")


# --- a layer that watches how it is called (lab 5) --------------------------------------------


class ProbeLayer(Module):
    """A layer that passes its input through unchanged and records how it was called.

    ``calls`` holds one ``(batch size, gradients enabled, training mode)`` per call. Put it
    in a Sequential to check how a function runs a model (in batches? under no_grad? in
    evaluation mode?).
    """

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, x):
        self.calls.append((int(x.shape[0]), is_grad_enabled(), self.training))
        return x

    @property
    def batch_sizes(self):
        return [n for n, _, _ in self.calls]


# --- targets ---------------------------------------------------------------------------------


def check_target(name, value, target, run, what="on the test set"):
    """Print whether a run reached its target; a missed target fails a full run.

    ``value`` and ``target`` are fractions (printed as percentages); higher is better.
    ``what`` says what the value is measured on. Returns nothing, so that a cell may end
    with it.
    """
    __tracebackhide__ = True
    line = f"{name}: {value:.2%} {what} (target {target:.0%})"
    if value >= target:
        print(line + " - target reached")
    elif run.full:
        raise LabCheckError(line + ": target missed in a full run. Train longer (raise epochs) or check the "
                                   "learning rate.")
    else:
        print(line + " - a small run; set full = True and run all cells to reach the target")


LESSON_SHOWN = "lesson shown"
LESSON_MISSED = "lesson NOT shown by this run"


def lesson(claim, holds, evidence, run=None):
    """State a lab's lesson and whether this run's figures show it.

    ``claim`` is the lesson in words ("transfer beats training from scratch with 10 labels per
    digit"), ``holds`` whether the measured figures agree, ``evidence`` the figures themselves
    ("from scratch 61.2 %, new head 83.5 %"). Each lab ends a comparison with one of these; at the
    default and the full size the lesson must hold (tests/test_labs.py runs every lab at its default
    size and fails on a line that starts with LESSON_MISSED). While nbgrader grades a notebook the
    training is shortened, so a lesson that does not show is only reported. Returns ``holds``.
    """
    if holds:
        print(f"{LESSON_SHOWN}: {claim} ({evidence})")
    else:
        note = ("training is shortened while grading" if run is not None and run.graded else
                "with other sizes or seeds the figures move; the default and the full run show it")
        print(f"{LESSON_MISSED}: {claim} ({evidence}); {note}")
    return bool(holds)


# --- progress and live curves ---------------------------------------------------------------


def _quiet():
    return bool(os.environ.get("CI"))


def progress(iterable=None, total=None, desc=None):
    """A tqdm progress bar (a widget in Jupyter, text in a terminal, off when CI is set)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, disable=_quiet(), leave=False, mininterval=0.2)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class _RunCallback(Callback):
    """The Trainer callback for one named run of a :class:`LiveCurves` figure.

    With ``steps`` (the number of training steps expected) it also shows a progress bar, for
    runs trained with ``verbose=False``.
    """

    def __init__(self, live, name, steps=None):
        self.live, self.name, self.steps = live, name, steps
        self.bar = None

    def on_train_begin(self, trainer):
        self.live.start(self.name)
        if self.steps:
            self.bar = progress(total=self.steps, desc=self.name)

    def on_step_end(self, trainer, epoch, step, logs):
        self.live.step(logs["loss"], epoch, step)
        if self.bar is not None:
            self.bar.update(1)

    def on_epoch_end(self, trainer, epoch, logs):
        self.live.epoch(epoch, **logs)
        if self.bar is not None and "val_accuracy" in logs:
            self.bar.set_postfix_str(f"val_accuracy {logs['val_accuracy']:.4f}", refresh=False)

    def on_train_end(self, trainer, history):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.live.draw()


class LiveCurves(_RunCallback):
    """A learning-curve figure that redraws in place while a model trains.

    Left: the training loss of every step (faint), its running mean, and the validation loss
    per epoch (dots). Right: accuracy per epoch, training dashed and validation solid. Several
    runs share one figure::

        live = LiveCurves("sigmoid vs relu")
        trainer_a.fit(..., callbacks=[live.run("sigmoid")])
        trainer_b.fit(..., callbacks=[live.run("relu")])

    Used directly it is a Trainer callback for a run called "train". A hand-written loop feeds
    it with ``start(name)``, ``step(loss, epoch, step)`` and ``epoch(epoch, **values)``.
    Outside Jupyter it records the values and draws nothing; ``figure()`` still gives the figure.
    """

    def __init__(self, title=None, metric="accuracy", every=1.0, smooth=25):
        super().__init__(self, "train")  # used as a callback itself: one run called "train"
        self.title, self.metric, self.every, self.smooth = title, metric, every, smooth
        self.runs = {}
        self.current = None
        self._handle = None
        self._last_draw = 0.0

    def run(self, name, steps=None) -> Callback:
        """A Trainer callback that draws into this figure under ``name`` (and shows a progress
        bar when given the number of ``steps``)."""
        return _RunCallback(self, name, steps)

    # --- feeding it ----------------------------------------------------------------------
    def start(self, name="train"):
        self.current = self.runs.setdefault(name, {"steps": [], "epochs": []})
        return self

    def step(self, loss, epoch=0, step=None):
        if self.current is None:
            self.start()
        steps = self.current["steps"]
        steps.append((int(epoch), len(steps) if step is None else int(step), float(loss)))
        if not _quiet() and time.perf_counter() - self._last_draw > self.every:
            self.draw()

    def epoch(self, epoch, **values):
        if self.current is None:
            self.start()
        self.current["epochs"].append((int(epoch), {k: float(v) for k, v in values.items()
                                                    if isinstance(v, (int, float, np.floating))}))
        if self._handle is None or time.perf_counter() - self._last_draw > self.every:
            self.draw()

    # --- drawing --------------------------------------------------------------------------
    def figure(self):
        """The current curves as a matplotlib Figure."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 3.6), layout="constrained")
        ax_loss, ax_acc = fig.subplots(1, 2)
        colors = [f"C{i}" for i in range(10)]
        for (name, data), color in zip(self.runs.items(), colors * 10):
            x, losses = self._step_axis(data)
            if len(losses):
                ax_loss.plot(x, losses, color=color, alpha=0.2, lw=0.8)
                k = min(self.smooth, len(losses))
                mean = np.convolve(losses, np.ones(k) / k, mode="valid")
                ax_loss.plot(x[k - 1:], mean, color=color, lw=1.8, label=name)
            epochs = [e + 1 for e, _ in data["epochs"]]
            val_loss = [(e, v["val_loss"]) for e, (_, v) in zip(epochs, data["epochs"]) if "val_loss" in v]
            if val_loss:
                ax_loss.plot(*zip(*val_loss), "o--", ms=3, color=color, lw=1, label=f"{name} (validation)")
            for key, style in ((self.metric, "--"), (f"val_{self.metric}", "-")):
                ys = [v.get(key) for _, v in data["epochs"]]
                pts = [(e, v) for e, v in zip(epochs, ys) if v is not None]
                if pts:
                    ax_acc.plot(*zip(*pts), style, marker="o", ms=3, color=color,
                                label=f"{name} ({'validation' if key.startswith('val_') else 'training'})")
        ax_loss.set(xlabel="epoch", ylabel="loss", title="training loss per step (line: running mean)")
        ax_acc.set(xlabel="epoch", ylabel=self.metric, title=f"{self.metric} per epoch")
        for ax in (ax_loss, ax_acc):
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        if self.title:
            fig.suptitle(self.title)
        return fig

    @staticmethod
    def _step_axis(data):
        steps = data["steps"]
        if not steps:
            return np.zeros(0), np.zeros(0)
        per_epoch = {}
        for e, s, _ in steps:
            per_epoch[e] = max(per_epoch.get(e, 0), s + 1)
        known = max(per_epoch.values())
        x = np.array([e + (s + 1) / max(per_epoch[e], known) for e, s, _ in steps])
        return x, np.array([loss for _, _, loss in steps])

    def draw(self):
        """Redraw in place (in Jupyter); a no-op elsewhere."""
        self._last_draw = time.perf_counter()
        if not _in_kernel():
            return
        from IPython.display import Image, display

        buf = io.BytesIO()
        self.figure().savefig(buf, format="png", dpi=80)
        image = Image(data=buf.getvalue(), format="png")
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)

    def close(self):
        """Final redraw after a hand-written loop."""
        self.draw()


def summary_table(histories):
    """One line per run: final training and validation accuracy, best validation accuracy, final
    validation loss and the number of epochs."""
    w = max([3] + [len(str(name)) for name in histories]) + 2
    lines = [f"{'run':<{w}}{'train acc':>10}{'val acc':>10}{'best val':>10}{'val loss':>10}{'epochs':>8}"]
    for name, h in histories.items():
        val = h.get("val_accuracy", [float("nan")])
        val_loss = h.get("val_loss", [float("nan")])[-1]
        lines.append(f"{name:<{w}}{h['accuracy'][-1]:>10.2%}{val[-1]:>10.2%}{max(val):>10.2%}"
                     f"{val_loss:>10.4f}{h.epochs:>8}")
    return "\n".join(lines)


def seeds_table(runs):
    """One line per setting trained with several seeds: mean (lowest-highest) of the final training
    accuracy, validation accuracy, training - validation gap and validation loss.

    ``runs`` maps a setting's name to the list of its Histories, one per seed.
    """
    def cell(values, fmt):
        values = np.asarray(values, dtype=float)
        return f"{format(values.mean(), fmt)} ({format(values.min(), fmt)}-{format(values.max(), fmt)})"

    w = max([3] + [len(str(name)) for name in runs]) + 2
    seeds = {len(hs) for hs in runs.values()}
    lines = [f"{'run':<{w}}{'train acc':>24}{'val acc':>24}{'gap':>24}{'val loss':>24}"
             f"   ({'/'.join(map(str, sorted(seeds)))} seeds: mean (lowest-highest))"]
    for name, hs in runs.items():
        train = [h["accuracy"][-1] for h in hs]
        val = [h["val_accuracy"][-1] for h in hs]
        lines.append(f"{name:<{w}}{cell(train, '.1%'):>24}{cell(val, '.1%'):>24}"
                     f"{cell(np.subtract(train, val), '.1%'):>24}{cell([h['val_loss'][-1] for h in hs], '.3f'):>24}")
    return "\n".join(lines)


# --- figures ------------------------------------------------------------------------------------


def show_digits(images, labels=None, predictions=None, ncols=10, size=1.1):
    """A grid of 28x28 images; titles show the label (and the prediction, red when wrong)."""
    from matplotlib.figure import Figure

    images = _arr(images).reshape(-1, 28, 28)
    n = len(images)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(ncols * size, nrows * size * 1.15), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=1)
        title, color = "", "black"
        if labels is not None:
            title = str(int(labels[i]))
        if predictions is not None:
            title += f" → {int(predictions[i])}" if title else str(int(predictions[i]))
            if labels is not None and int(predictions[i]) != int(labels[i]):
                color = "red"
        ax.set_title(title, fontsize=9, color=color)
    return fig


def show_templates(W, title="the weights of each class, as images"):
    """The columns of a (784, 10) weight matrix as ten 28x28 images (red positive, blue negative)."""
    from matplotlib.figure import Figure

    W = _arr(W).reshape(28, 28, -1)
    k = W.shape[-1]
    fig = Figure(figsize=(1.3 * k, 1.7), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, k))
    for c, ax in enumerate(axes):
        lim = float(np.abs(W[:, :, c]).max()) or 1.0
        ax.imshow(W[:, :, c], cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(str(c), fontsize=9)
        ax.set_axis_off()
    fig.suptitle(title, fontsize=10)
    return fig


def show_confusion(cm, title="confusion matrix (rows: true digit, columns: predicted)"):
    """A confusion matrix with counts in the cells; the diagonal is hidden so the mistakes stand out."""
    from matplotlib.figure import Figure

    cm = np.asarray(cm)
    off = cm.astype(float).copy()
    np.fill_diagonal(off, np.nan)
    fig = Figure(figsize=(5.2, 4.6), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(off, cmap="Reds")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if i != j and cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7)
    ax.set(xticks=range(cm.shape[1]), yticks=range(cm.shape[0]), xlabel="predicted", ylabel="true",
           title=title)
    ax.title.set_fontsize(9)
    fig.colorbar(im, ax=ax, shrink=0.8, label="mistakes")
    return fig
